"""The package's shape: no import cycle, no import deferred to hide one, every import path that a
string names resolves, and a package root that holds only the public surface.

Pure Python and fast: the graph is read from the source (see `import_graph.py`); only the registry
tests import modules, and nothing runs Dagster. `python -m ingest_assets_tests.import_graph` prints
the same findings.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
import textwrap
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from ingest_assets_tests.import_graph import (
    HEAVY_PACKAGES,
    PACKAGE_DIR,
    REPOSITORY,
    ImportGraph,
    Kind,
)

CONNECTOR_GROUP = "ingest_assets.connectors"
CONSOLE_SCRIPT = "ingest"
PUBLIC_SURFACE = {"__init__.py", "definitions.py", "errors.py", "plugins.py"}
IMPORT_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


def _fail(message: str) -> None:
    """Fail with the message alone: the findings are the report, a traceback adds nothing."""
    pytest.fail(message, pytrace=False)


@pytest.fixture(scope="module")
def graph() -> ImportGraph:
    return ImportGraph()


# -- the import graph -------------------------------------------------------------------------------


def test_no_import_cycle(graph):
    # Every kind of import is an edge: top level, TYPE_CHECKING and function-local alike.
    if graph.cycles():
        _fail(f"{len(graph.cycles())} import cycle(s):\n{graph.describe_cycles()}")


def test_no_function_local_import_dodges_a_cycle(graph):
    # Deferring an import is for heavy modules (they load pyarrow, a driver, ... at their top level),
    # so that loading definitions stays light; TYPE_CHECKING is for annotations, never over a cycle.
    problems = graph.disallowed_deferred_imports()
    if problems:
        _fail(f"{len(problems)} deferred import(s) of light modules or over a cycle (import them at the top, "
              "after breaking the cycle):\n" + "\n".join(problems))


def test_the_code_location_loads_no_heavy_package(graph):
    # What makes a module "heavy" above: loading definitions must not reach these packages (checked at
    # run time, in a fresh interpreter, by test_definitions.py).
    found = graph.heavy_imports("ingest_assets.definitions")
    if found:
        _fail("importing ingest_assets.definitions loads heavy packages:\n" + "\n".join(
            f"{' -> '.join(chain)}: {where}" for chain, where in found))


def test_every_package_import_names_an_existing_module(graph):
    # Function-local imports fail only when their function runs; a moved module is found here first.
    if graph.unresolved:
        _fail("imports of modules that do not exist:\n" + "\n".join(map(str, graph.unresolved)))


# -- import paths named by strings ------------------------------------------------------------------


def _resolve(path: str) -> tuple[object | None, str | None]:
    """The object a "module:attribute" path names, or why it does not resolve."""
    if not IMPORT_PATH.match(path):
        return None, f"{path!r} is not a 'module:attribute' import path"
    module_name, _, attribute = path.partition(":")
    try:
        found: object = importlib.import_module(module_name)
    except Exception as error:  # the module's own import error is the finding
        return None, f"{path}: module {module_name} fails to import: {type(error).__name__}: {error}"
    for part in attribute.split("."):
        if not hasattr(found, part):
            return None, f"{path}: {module_name} has no attribute {attribute}"
        found = getattr(found, part)
    return found, None


def _callable_problem(where: str, path: str) -> str | None:
    found, problem = _resolve(path)
    if problem:
        return f"{where}: {problem}"
    return None if callable(found) else f"{where}: {path} is a {type(found).__name__}, not callable"


def _connector_types() -> dict[str, object]:
    registry = importlib.import_module("ingest_assets.connectors.registry")
    return dict(registry.connector_types())


def _connector_problems(where: str, connector: object) -> list[str]:
    """Every import path a ConnectorType names (home, store, and any other "module:attribute" field)."""
    values = ({f.name: getattr(connector, f.name) for f in dataclasses.fields(connector)}
              if dataclasses.is_dataclass(connector) else dict(vars(connector)))
    problems = [f"{where}: a ConnectorType without `{field}`" for field in ("home", "store") if field not in values]
    for field, value in values.items():
        if value is None or not isinstance(value, str) or (field not in ("home", "store") and ":" not in value):
            continue
        problems.append(_callable_problem(f"{where}.{field}", value))
    return [problem for problem in problems if problem]


def test_every_connector_types_home_and_store_resolve():
    connectors = _connector_types()
    assert connectors, "the registry knows no connection type"
    problems = [problem for name, connector in sorted(connectors.items())
                for problem in _connector_problems(f"connector {name}", connector)]
    if problems:
        _fail("import paths of connection types that do not resolve:\n" + "\n".join(problems))


def _declared_entry_points() -> dict[str, dict[str, str]]:
    project = tomllib.loads((REPOSITORY / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {"console_scripts": dict(project.get("scripts", {})),
            **{group: dict(points) for group, points in project.get("entry-points", {}).items()}}


def _entry_point_problems(group: str, name: str, value: str) -> list[str]:
    where = f"entry point {group} {name}"
    if group != CONNECTOR_GROUP:
        return [problem for problem in [_callable_problem(where, value)] if problem]
    connector, problem = _resolve(value)
    if problem:
        return [f"{where}: {problem}"]
    if getattr(connector, "name", None) != name:
        return [f"{where}: {value} is a {type(connector).__name__}, not a ConnectorType named {name!r}"]
    return _connector_problems(where, connector)


def test_every_entry_point_resolves():
    # What pyproject.toml declares, and what the installed metadata holds: the same, unless the venv
    # needs reinstalling; plus any plugin installed next to the package.
    declared = _declared_entry_points()
    assert CONSOLE_SCRIPT in declared["console_scripts"], f"pyproject.toml declares no `{CONSOLE_SCRIPT}` script"
    problems = []
    for group in ("console_scripts", CONNECTOR_GROUP):
        wanted = declared.get(group, {})
        installed = {point.name: point.value for point in entry_points(group=group)
                     if group == CONNECTOR_GROUP or point.name in wanted}
        problems.extend(
            f"{group} {name} = {value!r} in pyproject.toml is installed as {installed.get(name)!r} "
            "-> reinstall: .venv/bin/pip install -e ."
            for name, value in sorted(wanted.items()) if installed.get(name) != value)
        for name, value in sorted({**installed, **wanted}.items()):
            problems.extend(_entry_point_problems(group, name, value))
    if problems:
        _fail("entry points that do not resolve:\n" + "\n".join(problems))


# -- the package's folders --------------------------------------------------------------------------


def test_the_package_root_holds_only_the_public_surface():
    modules = {path.name for path in PACKAGE_DIR.glob("*.py")}
    assert modules == PUBLIC_SURFACE, (
        f"ingest_assets/ should hold exactly {sorted(PUBLIC_SURFACE)}; "
        f"move into a subpackage: {sorted(modules - PUBLIC_SURFACE)}; missing: {sorted(PUBLIC_SURFACE - modules)}")
    loose = sorted(folder.relative_to(REPOSITORY).as_posix() for folder in PACKAGE_DIR.rglob("*")
                   if folder.is_dir() and "__pycache__" not in folder.parts
                   and any(folder.glob("*.py")) and not (folder / "__init__.py").exists())
    assert not loose, f"folders with modules but no __init__.py: {loose}"


# -- the graph helper itself, on a small package ----------------------------------------------------


def _package(root: Path, files: dict[str, str]) -> ImportGraph:
    for relative, text in {"pkg/__init__.py": "", **files}.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return ImportGraph(root / "pkg")


def test_the_graph_resolves_names_modules_and_relative_imports(tmp_path):
    graph = _package(tmp_path, {
        "pkg/sub/__init__.py": "from pkg.sub.a import A\n",
        "pkg/sub/a.py": "from pkg.sub import b\nfrom . import c\nfrom .. import other\nA = 1\n",
        "pkg/sub/b.py": "import json\n",
        "pkg/sub/c.py": "from .b import json\n",
        "pkg/other.py": "",
        "pkg/top.py": "import pkg.sub.b as b\nfrom pkg.gone import x\n",
    })
    targets = {(found.importer, found.target, found.implicit) for found in graph.imports}
    assert targets == {
        ("pkg.sub", "pkg.sub.a", False),
        ("pkg.sub.a", "pkg.sub.b", False), ("pkg.sub.a", "pkg.sub.c", False), ("pkg.sub.a", "pkg.other", False),
        ("pkg.sub.c", "pkg.sub.b", False),
        ("pkg.top", "pkg.sub.b", False), ("pkg.top", "pkg.sub", True),  # importing pkg.sub.b runs pkg/sub/__init__
    }
    assert [str(found) for found in graph.unresolved] == ["pkg/top.py:2 imports pkg.gone top level"]
    # a submodule importing a sibling through its package is no cycle...
    assert graph.cycles() == []


def test_the_graph_finds_cycles_through_a_package_init(tmp_path):
    graph = _package(tmp_path, {
        "pkg/sub/__init__.py": "from pkg.sub.a import A\nNAME = 1\n",
        "pkg/sub/a.py": "A = 1\ndef f():\n    from pkg.sub import NAME\n",  # ...a name of its __init__ is
        "pkg/x.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.y import Y\nX = 1\n",
        "pkg/y.py": "from pkg.x import X\nY = 1\n",
    })
    assert graph.cycles() == [["pkg.sub", "pkg.sub.a"], ["pkg.x", "pkg.y"]]
    assert graph.describe_cycles() == textwrap.dedent("""\
        cycle 1: pkg.sub -> pkg.sub.a -> pkg.sub
          made by:
            pkg/sub/__init__.py:1 imports pkg.sub.a top level
            pkg/sub/a.py:3 imports pkg.sub inside a function
        cycle 2: pkg.x -> pkg.y -> pkg.x
          made by:
            pkg/x.py:3 imports pkg.y under TYPE_CHECKING
            pkg/y.py:1 imports pkg.x top level""")
    assert graph.disallowed_deferred_imports() == [
        ("pkg/sub/a.py:3 imports pkg.sub inside a function: pkg.sub is light (it loads no heavy package); "
         "it dodges the cycle pkg.sub.a -> pkg.sub -> pkg.sub.a"),
        "pkg/x.py:3 imports pkg.y under TYPE_CHECKING; it dodges the cycle pkg.x -> pkg.y -> pkg.x",
    ]


def test_deferred_imports_are_allowed_of_heavy_modules_only(tmp_path):
    heavy = min(HEAVY_PACKAGES)
    graph = _package(tmp_path, {
        "pkg/engine.py": f"try:\n    import {heavy}.sub\nexcept ImportError:\n    pass\n",
        "pkg/home.py": "from pkg.engine import thing\n",  # heavy through what it imports
        "pkg/light.py": "import json\n",
        "pkg/user.py": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from pkg.light import L\n"  # annotations, no cycle: fine
            "def run():\n    from pkg.home import H\n    from pkg.light import L\n"
        ),
    })
    assert [graph.is_heavy(m) for m in ("pkg.engine", "pkg.home", "pkg.light", "pkg.user")] == [
        True, True, False, False]
    assert graph.disallowed_deferred_imports() == [
        "pkg/user.py:6 imports pkg.light inside a function: pkg.light is light (it loads no heavy package)"]
    assert {(found.line, found.kind) for found in graph.imports if found.importer == "pkg.user"} == {
        (3, Kind.TYPE_CHECKING), (5, Kind.LOCAL), (6, Kind.LOCAL)}
    assert [(chain, str(found)) for chain, found in graph.heavy_imports("pkg.home")] == [
        (["pkg.home", "pkg.engine"], f"pkg/engine.py:2 imports {heavy}.sub top level")]
