"""A SQL step: DuckDB reads the incoming stream as `records` and streams the query's result out.

Row-by-row queries (filters, computed columns, joins to small tables) stream batch by batch. A query
over the whole stream (an aggregation, ORDER BY, DISTINCT, a window function) is still correct, but
DuckDB holds what it needs of the stream until it can answer, within the session's memory limit,
spilling to a temporary folder removed when the step closes (`sql/duckdb_session.py`).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ingest_assets.errors import SqlTransformFailed, TransformReturnsNoRows
from ingest_assets.sql.duckdb_session import session_config
from ingest_assets.transforms.spec import SqlStep

if TYPE_CHECKING:
    import pyarrow as pa
    from duckdb import DuckDBPyConnection


class SqlTransform:
    def __init__(self, step: SqlStep, memory_limit: str):
        self.step = step
        self._memory_limit = memory_limit
        self._connection: DuckDBPyConnection | None = None
        self._spill: Path | None = None  # where the session spills, removed on close

    def open(self, source: pa.RecordBatchReader, batch_size: int) -> pa.RecordBatchReader:
        import duckdb

        self._spill = Path(tempfile.mkdtemp(prefix="ingest-transform-"))
        connection = self._connection = duckdb.connect(config=session_config(self._spill, self._memory_limit))
        connection.register("records", source)
        try:
            # Values travel as parameters: DuckDB binds them, nothing is formatted into the text.
            relation = connection.sql(self.step.sql, params=dict(self.step.params) or None)
        except duckdb.Error as error:
            raise self.failure(error) from error
        if relation is None:
            raise TransformReturnsNoRows(step=self.step.describe())
        try:
            reader: pa.RecordBatchReader = relation.to_arrow_reader(batch_size)  # DuckDB types it Any
            return reader
        except duckdb.Error as error:
            raise self.failure(error) from error

    def failure(self, error: BaseException) -> SqlTransformFailed:
        """DuckDB's message keeps its `LINE n` and caret: line n of the query (of the file, for sql_file)."""
        return SqlTransformFailed(step=self.step.describe(), reason=str(error).strip())

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._spill is not None:
            shutil.rmtree(self._spill, ignore_errors=True)
            self._spill = None
