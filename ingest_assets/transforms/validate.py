"""Load-time checks of `transform:` and its translation into plan steps.

Nothing is imported or run here: a .sql file is read, a Python file is only parsed (`ast`) to find its
function, and a `module:function` target is checked for its syntax (importing it would run user code
when definitions load).
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import re
from pathlib import Path

from ingest_assets.config.named_files import Problem, read_named_file, shown
from ingest_assets.config.yaml_source import LocatedDict, LocatedList, Location
from ingest_assets.transforms.settings import TransformSettings, TransformStepSettings
from ingest_assets.transforms.spec import Params, PythonStep, SqlStep, TransformStep

_MODULE_TARGET = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")
_FILE_TARGET = re.compile(r"^(?P<file>.+\.py):(?P<function>[A-Za-z_]\w*)$")


def transform_steps(settings: TransformSettings, node: object, fallback: Location, root: Path,
                    problem: Problem) -> tuple[TransformStep, ...] | None:
    """The plan's steps, or None after reporting what is wrong (`node` is the raw `transform:` mapping)."""
    raw = node if isinstance(node, LocatedDict) else LocatedDict()
    raw_steps = raw.get("steps")
    steps: list[TransformStep] = []
    ok = True
    for index, step in enumerate(settings.all_steps()):
        step_node = raw
        if settings.steps is not None:
            item = raw_steps[index] if isinstance(raw_steps, LocatedList) and index < len(raw_steps) else None
            step_node = item if isinstance(item, LocatedDict) else LocatedDict()
        built = _step(step, _Where(step_node, fallback), root, problem)
        ok = ok and built is not None
        if built is not None:
            steps.append(built)
    return tuple(steps) if ok else None


class _Where:
    """The line of a setting of one step (the step's own line when the YAML has no such key)."""

    def __init__(self, node: LocatedDict, fallback: Location):
        self.node, self.fallback = node, getattr(node, "location", None) or fallback

    def __call__(self, key: str) -> Location:
        return self.node.location_of(key) if key in self.node else self.fallback


def _step(step: TransformStepSettings, where: _Where, root: Path, problem: Problem) -> TransformStep | None:
    params = tuple(step.params.items())
    if step.sql is not None:
        location = where("sql")
        return SqlStep(step.sql.rstrip(), f"at {location.file}:{location.line}", params)
    if step.sql_file is not None:
        location = where("sql_file")
        path = _beside(root, location, step.sql_file)
        text = read_named_file(root, path, "sql_file", step.sql_file, location, problem)
        if text is None:
            return None
        if not text.strip():
            problem(location, f"sql_file {step.sql_file!r} is empty -> write a SELECT over records in it")
            return None
        # Leading lines are kept, so DuckDB's `LINE n` is line n of the file.
        return SqlStep(text.rstrip(), shown(root, path), params)
    assert step.python is not None
    return _python_step(step.python, params, where("python"), root, problem)


def _python_step(target: str, params: Params, location: Location, root: Path, problem: Problem) -> PythonStep | None:
    file_target = _FILE_TARGET.match(target)
    if file_target is None:
        if not _MODULE_TARGET.match(target):
            problem(location, f"python {target!r} is not a function to call -> write module:function "
                    "(my_package.transforms:add_tax) or a file next to this YAML, path/to/file.py:function")
            return None
        module, function = target.split(":")
        return PythonStep(target, function, module=module, params=params)
    name, function = file_target.group("file"), file_target.group("function")
    path = _beside(root, location, name)
    text = read_named_file(root, path, "python file", name, location, problem)
    if text is None:
        return None
    displayed = shown(root, path)
    try:
        tree = ast.parse(text, filename=displayed)
    except SyntaxError as error:
        problem(location, f"python file {displayed}:{error.lineno} is not valid Python ({error.msg}) -> fix the file")
        return None
    defined = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if function not in defined:
        close = difflib.get_close_matches(function, defined, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        problem(location, f"python file {displayed} defines no function {function!r} -> {hint}functions defined "
                f"there: {', '.join(defined) or 'none'}")
        return None
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return PythonStep(f"{displayed}:{function}", function, path=str(path), digest=digest, params=params)


def _beside(root: Path, location: Location, name: str) -> Path:
    """A file named relative to the YAML file that names it (as `query_file` is)."""
    return (root / Path(location.file).parent / name).resolve()
