"""A Python step: `function(batch, **params)` once per batch.

The first parameter's annotation picks what the function is given: a `pyarrow.RecordBatch` (also
without an annotation), a `pyarrow.Table`, a `polars.DataFrame` or a `duckdb.DuckDBPyRelation`. It
may return any of these; the result is turned into Arrow record batches. The output's columns are
fixed before the first batch, by calling the function once on an empty batch of the incoming
columns, and every batch must come back with exactly those columns and types.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import os
import sys
import traceback
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from ingest_assets.errors import (
    PythonTransformFailed,
    TransformColumnsChanged,
    TransformFunctionMissing,
    TransformInputUnsupported,
    TransformResultUnsupported,
    TransformSignatureMismatch,
)
from ingest_assets.transforms.spec import PythonStep

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

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
        self._connection: DuckDBPyConnection | None = None
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
        function: object = getattr(module, step.function, None)
        if not callable(function):
            raise TransformFunctionMissing(step=step.describe(), function=step.function,
                                           module=str(step.module or step.path))
        self._user_file = inspect.getsourcefile(function) or getattr(module, "__file__", None)
        self._check_params(function)
        return function

    def _check_params(self, function: Callable[..., object]) -> None:
        names = [name for name, _ in self.step.params]
        try:
            inspect.signature(function).bind(None, **self._params)
        except TypeError as error:
            raise TransformSignatureMismatch(step=self.step.describe(), function=self.step.function, params=names,
                                             reason=str(error)) from None

    def _input_conversion(self, function: Callable[..., object]) -> Callable[[pa.RecordBatch], object]:
        parameters = list(inspect.signature(function).parameters.values())
        annotation = parameters[0].annotation if parameters else inspect.Parameter.empty
        if isinstance(annotation, str):
            # An unresolvable name is reported below with the annotation's text.
            with contextlib.suppress(Exception):
                annotation = typing.get_type_hints(function).get(parameters[0].name, annotation)
        if annotation in (inspect.Parameter.empty, pa.RecordBatch):
            return lambda batch: batch
        if annotation is pa.Table:
            return lambda batch: pa.Table.from_batches([batch])
        # The user's module imported polars or duckdb if it annotates with them: no import of ours.
        polars, duckdb = sys.modules.get("polars"), sys.modules.get("duckdb")
        if polars is not None and annotation is polars.DataFrame:
            return lambda batch: polars.from_arrow(batch)
        if duckdb is not None and annotation is duckdb.DuckDBPyRelation:
            connection = self._connection = duckdb.connect()
            return lambda batch: connection.from_arrow(batch)
        shown = annotation if isinstance(annotation, str) else getattr(annotation, "__qualname__", annotation)
        raise TransformInputUnsupported(step=self.step.describe(), annotation=shown, accepted=INPUT_TYPES)

    # ---- running -------------------------------------------------------------------------------

    def _batches(self, source: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
        assert self.schema is not None
        for number, batch in enumerate(source, start=1):
            for out in _batches_of(self._call(batch, f"batch {number}")):
                yield self._conform(out, number)

    def _call(self, batch: pa.RecordBatch, what: str) -> pa.RecordBatch | pa.Table:
        assert self._function is not None
        try:
            result = self._function(self._to_input(batch), **self._params)
            return _as_arrow(result)
        except _WrongResult as wrong:
            raise TransformResultUnsupported(step=self.step.describe(), kind=wrong.kind, what=what,
                                             accepted=OUTPUT_TYPES) from None
        except Exception as error:
            raise self._failure(error, what) from error

    def _conform(self, batch: pa.RecordBatch, number: int) -> pa.RecordBatch:
        assert self.schema is not None
        if batch.schema.equals(self.schema):
            return batch
        if [(f.name, f.type) for f in batch.schema] == [(f.name, f.type) for f in self.schema]:
            # Same columns and types; only nullability or metadata differ.
            return pa.RecordBatch.from_arrays(batch.columns, schema=self.schema)
        raise TransformColumnsChanged(step=self.step.describe(), batch_number=number,
                                      difference=_difference(self.schema, batch.schema))

    def _failure(self, error: BaseException, what: str, filename: str | None = None) -> PythonTransformFailed:
        """The user's own line: the deepest frame in their file, else the deepest frame at all."""
        frames = traceback.extract_tb(error.__traceback__)
        user_file = os.path.realpath(self._user_file or self.step.path or filename or "")
        mine = [f for f in frames if os.path.realpath(f.filename) == user_file] or [
            f for f in frames if not f.filename.startswith("<") and not os.path.realpath(f.filename).startswith(_OURS)]
        file: str | None = None
        line: int | None = None
        if isinstance(error, SyntaxError) and error.filename:
            file, line = _shown(error.filename, self.step), error.lineno
        elif mine:
            file, line = _shown(mine[-1].filename, self.step), mine[-1].lineno
        message = f"{type(error).__name__}: {error}".rstrip(": ")
        return PythonTransformFailed(step=self.step.describe(), what=what, error=message, file=file, line=line)


class _WrongResult(Exception):
    def __init__(self, kind: str):
        self.kind = kind


def _as_arrow(result: object) -> pa.RecordBatch | pa.Table:
    if isinstance(result, (pa.RecordBatch, pa.Table)):
        return result
    polars, duckdb = sys.modules.get("polars"), sys.modules.get("duckdb")
    # The modules are found at run time, so their results are typed here.
    if polars is not None and isinstance(result, polars.DataFrame):
        table: pa.Table = result.to_arrow()
        return table
    if duckdb is not None and isinstance(result, duckdb.DuckDBPyRelation):
        relation_table: pa.Table = result.to_arrow_table()
        return relation_table
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
