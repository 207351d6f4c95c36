"""A SQL step: DuckDB reads the incoming stream as `records` and streams the query's result out.

Row-by-row queries (filters, computed columns, joins to small tables) stream batch by batch. A query
over the whole stream (an aggregation, ORDER BY, DISTINCT, a window function) is still correct, but
DuckDB holds what it needs of the stream until it can answer (spilling to a temporary folder).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest_assets.errors import TerminalError
from ingest_assets.transforms.spec import SqlStep

if TYPE_CHECKING:
    import pyarrow as pa


class SqlTransform:
    def __init__(self, step: SqlStep):
        self.step = step
        self._connection = None

    def open(self, source: "pa.RecordBatchReader", batch_size: int) -> "pa.RecordBatchReader":
        import duckdb

        self._connection = duckdb.connect()
        self._connection.register("records", source)
        try:
            # Values travel as parameters: DuckDB binds them, nothing is formatted into the text.
            relation = self._connection.sql(self.step.sql, params=dict(self.step.params) or None)
        except duckdb.Error as error:
            raise self.failure(error) from error
        if relation is None:
            raise TerminalError(f"{self.step.describe()} returns no rows (its last statement is not a query) -> "
                                "end it with a SELECT over records")
        try:
            return relation.to_arrow_reader(batch_size)
        except duckdb.Error as error:
            raise self.failure(error) from error

    def failure(self, error: BaseException) -> TerminalError:
        """DuckDB's message keeps its `LINE n` and caret: line n of the query (of the file, for sql_file)."""
        return TerminalError(f"{self.step.describe()} failed: {str(error).strip()} -> fix the query; nothing was "
                             "committed")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
