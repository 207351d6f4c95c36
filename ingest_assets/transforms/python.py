"""A Python step: `function(batch, **params)` once per batch.

The first parameter's annotation picks what the function is given: a `pyarrow.RecordBatch` (also
without an annotation), a `pyarrow.Table`, a `polars.DataFrame` or a `duckdb.DuckDBPyRelation`. It
may return any of these; the result is turned into Arrow record batches. The output's columns are
fixed before the first batch, by calling the function once on an empty batch of the incoming
columns, and every batch must come back with exactly those columns and types.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
import traceback
import typing
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa

from ingest_assets.errors import TerminalError
from ingest_assets.transforms.spec import PythonStep

_OURS = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))  # frames of ingest_assets are not the user's
INPUT_TYPES = "pyarrow.RecordBatch (the default), pyarrow.Table, polars.DataFrame or duckdb.DuckDBPyRelation"
OUTPUT_TYPES = "a pyarrow RecordBatch or Table, a polars DataFrame or a DuckDB relation"


class PythonTransform:
    def __init__(self, step: PythonStep):
        self.step = step
        self._params = dict(step.params)  # the keyword arguments of every call
        self._function: Callable[..., object] | None = None
        self._user_file: str | None = None
        self._to_input: Callable[[pa.RecordBatch], object] = lambda batch: batch
        self._connection = None
        self.schema: pa.Schema | None = None

    def open(self, source: pa.RecordBatchReader, batch_size: int) -> pa.RecordBatchReader:
        self._function = self._load()
        self._to_input = self._input_conversion(self._function)
        empty = pa.RecordBatch.from_pylist([], schema=source.schema)
        self.schema = self._call(empty, "an empty batch (to learn the output's columns)").schema
        return pa.RecordBatchReader.from_batches(self.schema, self._batches(source))

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    # ---- loading -------------------------------------------------------------------------------

    def _load(self) -> Callable[..., object]:
        step = self.step
        try:
            if step.path is not None:
                # A file next to the YAML: loaded under a name of its own, so two files may share a stem.
                name = f"ingest_transform_{step.digest}_{Path(step.path).stem}"
                spec = importlib.util.spec_from_file_location(name, step.path)
                assert spec is not None and spec.loader is not None
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module
                spec.loader.exec_module(module)
            else:
                assert step.module is not None
                module = importlib.import_module(step.module)
        except Exception as error:
            raise self._failure(error, "loading it", getattr(error, "filename", None)) from error
        function = getattr(module, step.function, None)
        if not callable(function):
            raise TerminalError(f"{step.describe()}: {step.function!r} is not a function of "
                                f"{step.module or step.path} -> name a function defined there")
        self._user_file = inspect.getsourcefile(function) or getattr(module, "__file__", None)
        self._check_params(function)
        return function

    def _check_params(self, function: Callable[..., object]) -> None:
        names = [name for name, _ in self.step.params]
        try:
            inspect.signature(function).bind(None, **self._params)
        except TypeError as error:
            given = f"params {', '.join(names)}" if names else "no params"
            raise TerminalError(f"{self.step.describe()} cannot be called with one batch and {given} ({error}) -> "
                                f"define it as def {self.step.function}(batch"
                                f"{''.join(', ' + n for n in names)}) (params arrive as keyword arguments)") from None

    def _input_conversion(self, function: Callable[..., object]) -> Callable[[pa.RecordBatch], object]:
        parameters = list(inspect.signature(function).parameters.values())
        annotation = parameters[0].annotation if parameters else inspect.Parameter.empty
        if isinstance(annotation, str):
            try:
                annotation = typing.get_type_hints(function).get(parameters[0].name, annotation)
            except Exception:  # an unresolvable name: reported below with the annotation's text
                pass
        if annotation in (inspect.Parameter.empty, pa.RecordBatch):
            return lambda batch: batch
        if annotation is pa.Table:
            return lambda batch: pa.Table.from_batches([batch])
        # The user's module imported polars or duckdb if it annotates with them: no import of ours.
        polars, duckdb = sys.modules.get("polars"), sys.modules.get("duckdb")
        if polars is not None and annotation is polars.DataFrame:
            return lambda batch: polars.from_arrow(batch)
        if duckdb is not None and annotation is duckdb.DuckDBPyRelation:
            self._connection = duckdb.connect()
            return lambda batch: self._connection.from_arrow(batch)
        shown = annotation if isinstance(annotation, str) else getattr(annotation, "__qualname__", annotation)
        raise TerminalError(f"{self.step.describe()}: its first parameter is annotated {shown!s} -> annotate it "
                            f"as {INPUT_TYPES}")

    # ---- running -------------------------------------------------------------------------------

    def _batches(self, source: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
        assert self.schema is not None
        for number, batch in enumerate(source, start=1):
            for out in _batches_of(self._call(batch, f"batch {number}")):
                yield self._conform(out, number)

    def _call(self, batch: pa.RecordBatch, what: str) -> object:
        assert self._function is not None
        try:
            result = self._function(self._to_input(batch), **self._params)
            return _as_arrow(result)
        except _WrongResult as wrong:
            raise TerminalError(f"{self.step.describe()} returned {wrong.kind} for {what} -> return "
                                f"{OUTPUT_TYPES}; nothing was committed") from None
        except Exception as error:
            raise self._failure(error, what) from error

    def _conform(self, batch: pa.RecordBatch, number: int) -> pa.RecordBatch:
        assert self.schema is not None
        if batch.schema.equals(self.schema):
            return batch
        if [(f.name, f.type) for f in batch.schema] == [(f.name, f.type) for f in self.schema]:
            # Same columns and types; only nullability or metadata differ.
            return pa.RecordBatch.from_arrays(batch.columns, schema=self.schema)
        raise TerminalError(
            f"{self.step.describe()} returned other columns for batch {number} than for an empty batch: "
            f"{_difference(self.schema, batch.schema)} -> return the same columns and types for every batch "
            "(give computed columns an explicit type); nothing was committed"
        )

    def _failure(self, error: BaseException, what: str, filename: str | None = None) -> TerminalError:
        """The user's own line: the deepest frame in their file, else the deepest frame at all."""
        frames = traceback.extract_tb(error.__traceback__)
        user_file = os.path.realpath(self._user_file or self.step.path or filename or "")
        mine = [f for f in frames if os.path.realpath(f.filename) == user_file] or [
            f for f in frames if not f.filename.startswith("<") and not os.path.realpath(f.filename).startswith(_OURS)]
        at = ""
        if isinstance(error, SyntaxError) and error.filename:
            at = f" at {_shown(error.filename, self.step)}:{error.lineno}"
        elif mine:
            at = f" at {_shown(mine[-1].filename, self.step)}:{mine[-1].lineno}"
        message = f"{type(error).__name__}: {error}".rstrip(": ")
        return TerminalError(f"{self.step.describe()} failed on {what}{at}: {message} -> fix the function; "
                             "nothing was committed")


class _WrongResult(Exception):
    def __init__(self, kind: str):
        self.kind = kind


def _as_arrow(result: object) -> pa.RecordBatch | pa.Table:
    if isinstance(result, (pa.RecordBatch, pa.Table)):
        return result
    polars, duckdb = sys.modules.get("polars"), sys.modules.get("duckdb")
    if polars is not None and isinstance(result, polars.DataFrame):
        return result.to_arrow()
    if duckdb is not None and isinstance(result, duckdb.DuckDBPyRelation):
        return result.to_arrow_table()
    raise _WrongResult("None" if result is None else type(result).__qualname__)


def _batches_of(result: pa.RecordBatch | pa.Table) -> list[pa.RecordBatch]:
    return [result] if isinstance(result, pa.RecordBatch) else result.to_batches()


def _difference(expected: pa.Schema, got: pa.Schema) -> str:
    parts = []
    for field in expected:
        if field.name not in got.names:
            parts.append(f"{field.name} is missing")
        elif got.field(field.name).type != field.type:
            parts.append(f"{field.name} is {got.field(field.name).type}, was {field.type}")
    parts += [f"{name} is new" for name in got.names if name not in expected.names]
    if not parts:
        parts.append(f"the columns' order is {', '.join(got.names)}, was {', '.join(expected.names)}")
    return "; ".join(parts)


def _shown(filename: str, step: PythonStep) -> str:
    """A file as the YAML shows it (project-relative), else relative to the working folder if inside it."""
    if step.path is not None and os.path.realpath(filename) == os.path.realpath(step.path):
        return step.target.rsplit(":", 1)[0]
    try:
        return Path(filename).resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return filename
