"""Run an entity's transform steps on the home's stream, one batch at a time.

Each step's input is wrapped in a guard that counts its rows and keeps the error its producer raised:
DuckDB reports a failure of the stream it reads as its own error, so the guards say where a failure
began. A failure of the source is re-raised as the source's own error (a transient one stays
transient); a failure in a step is a TerminalError that names the step.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pyarrow as pa

from ingest_assets.errors import IngestError, TransformError, TransformStepFailed
from ingest_assets.transforms.python import PythonTransform
from ingest_assets.transforms.spec import SqlStep, TransformStep
from ingest_assets.transforms.sql import SqlTransform

Runner = SqlTransform | PythonTransform  # runs one step


class _Guard:
    """Passes a stream on, counting its rows and keeping the error it raised."""

    def __init__(self, reader: pa.RecordBatchReader):
        self.rows = 0
        self.error: BaseException | None = None
        self.reader = pa.RecordBatchReader.from_batches(reader.schema, self._batches(reader))

    def _batches(self, reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
        try:
            for batch in reader:
                self.rows += batch.num_rows
                yield batch
        except BaseException as error:
            self.error = error
            raise


class TransformedStream:
    """The batches the store receives; `rows_read` counts the source's, `rows_out` the transform's."""

    def __init__(self, source: pa.RecordBatchReader, guards: list[_Guard], steps: list[Runner],
                 output: pa.RecordBatchReader):
        self._source = source
        self._guards = guards
        self._steps = steps
        self._output = output
        self.rows_out = 0

    @property
    def schema(self) -> pa.Schema:
        return self._output.schema

    @property
    def source_schema(self) -> pa.Schema:
        return self._source.schema

    @property
    def rows_read(self) -> int:
        return self._guards[0].rows if self._guards else self.rows_out

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        batches = iter(self._output)
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                return
            except Exception as error:
                raise _cause(self._guards, self._steps, error) from None
            self.rows_out += batch.num_rows
            yield batch

def _cause(guards: list[_Guard], steps: list[Runner], error: Exception) -> BaseException:
    """Where a failure began: the most upstream guard that saw an error, else the last step run.

    Guard i feeds step i, so an error it saw was raised by the source (i = 0) or by step i - 1.
    """
    for index, guard in enumerate(guards):
        if guard.error is not None:
            origin, cause = index - 1, guard.error
            break
    else:
        origin, cause = len(steps) - 1, error
    if origin < 0 or isinstance(cause, IngestError):
        return cause  # the source's own error, or a step's TerminalError that already names it
    step = steps[origin]
    failure: TransformError
    if isinstance(step, SqlTransform):
        failure = step.failure(cause)
    else:
        failure = TransformStepFailed(step=step.step.describe(), reason=str(cause))
    failure.__cause__ = cause
    return failure


@contextmanager
def transformed(steps: tuple[TransformStep, ...], source: pa.RecordBatchReader, batch_size: int,
                memory_limit: str) -> Iterator[TransformedStream]:
    """The stream after `steps` (the source itself when there are none); open for the `with` block.
    `memory_limit`: of each SQL step's DuckDB session (options.query_memory_limit)."""
    with ExitStack() as stack:
        guards: list[_Guard] = []
        runners: list[Runner] = []
        reader = source
        for step in steps:
            guard = _Guard(reader)
            runner = SqlTransform(step, memory_limit) if isinstance(step, SqlStep) else PythonTransform(step)
            stack.callback(runner.close)
            guards.append(guard)
            runners.append(runner)
            try:
                # DuckDB may read the first batches already while it prepares the query.
                reader = runner.open(guard.reader, batch_size)
            except Exception as error:
                raise _cause(guards, runners, error) from None
        yield TransformedStream(source, guards, runners, reader)
