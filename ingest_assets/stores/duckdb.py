"""DuckDB store: tables in a DuckDB database file, opened through dagster-duckdb.

Extraction streams into staged Parquet files next to the database, without holding DuckDB's
single-writer lock; the commit then applies them in one transaction (replace, append, window or key
replacement), so readers see the old table or the new one. A failed run leaves the table as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa

from ingest_assets.errors import TerminalError
from ingest_assets.plan.model import WriteSpec
from ingest_assets.resources import DuckDBFileResource
from ingest_assets.sql_text import parquet_files, quote_identifier, quote_qualified
from ingest_assets.stores.base import CommitResult, QualityRequest, WriteMode
from ingest_assets.stores.locking import file_lock
from ingest_assets.stores.measure import count_rows, measure_quality, window_sql
from ingest_assets.stores.staging import ParquetStage, StagedWriter, parquet_rows


class DuckDBStore:
    def __init__(self, resource: DuckDBFileResource):
        self._resource = resource

    def describe(self, target: WriteSpec) -> str:
        return f"{self._resource.database()}:{target.table}"

    def exists(self, target: WriteSpec) -> bool:
        if not self._resource.database().exists():
            return False
        with self._resource.connect(read_only=True) as connection:
            return _table_exists(connection, target.table or "")

    @contextmanager
    def writer(
        self, target: WriteSpec, mode: WriteMode, schema: pa.Schema, run_token: str, quality: QualityRequest
    ) -> Iterator["DuckDBTableWriter"]:
        assert target.table is not None
        database = self._resource.database()
        staging = database.with_name(database.name + ".staging") / run_token
        writer = DuckDBTableWriter(self._resource, target.table, mode, schema, run_token, quality, staging)
        try:
            yield writer
        finally:
            writer.discard_staging()


class DuckDBTableWriter(StagedWriter):
    def __init__(self, resource: DuckDBFileResource, table: str, mode: WriteMode, schema: pa.Schema,
                 token: str, quality: QualityRequest, staging: Path):
        super().__init__(ParquetStage(staging, schema, token, f"duckdb store {table}"))
        self._resource = resource
        self._table = table
        self._mode = mode
        self._quality = quality

    def commit(self) -> CommitResult:
        files = self._stage.finish()
        staged = parquet_files(files)
        table = quote_qualified(self._table)
        database = self._resource.database()
        with file_lock(database.with_name(database.name + ".lock")), self._resource.connect() as connection:
            connection.execute("BEGIN TRANSACTION")
            try:
                result = self._apply(connection, table, staged, parquet_rows(files))
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        return result

    def _apply(self, connection, table: str, staged: str, rows_written: int) -> CommitResult:
        import duckdb

        schema_name, _, _ = self._table.rpartition(".")
        if schema_name:
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(schema_name)}")
        exists = _table_exists(connection, self._table)
        rows_before = count_rows(connection, table) if exists else 0
        rows_removed = 0
        if self._mode.kind == "replace" or not exists:
            connection.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {staged}")
            rows_removed = rows_before
        else:
            if self._mode.window is not None:
                condition, params = window_sql(self._mode.window)
                rows_removed = connection.execute(f"DELETE FROM {table} WHERE {condition}", params).fetchall()[0][0]
            elif self._mode.replace_keys:
                keys = ", ".join(quote_identifier(k) for k in self._mode.replace_keys)
                rows_removed = connection.execute(
                    f"DELETE FROM {table} WHERE ({keys}) IN (SELECT {keys} FROM {staged})"
                ).fetchall()[0][0]
            try:
                connection.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {staged}")
            except (duckdb.BinderException, duckdb.ConversionException) as error:
                raise TerminalError(
                    f"duckdb store {self._table}: the new rows do not fit the existing table ({error}) -> "
                    "nothing was written; reload the table once with run config {run_type: full_drop}"
                ) from error
        rows_after = count_rows(connection, table)
        window_rows = count_rows(connection, table, self._mode.window) if self._mode.window else None
        nulls, duplicates = measure_quality(connection, table, self._quality)
        return CommitResult(
            rows_written=rows_written,
            rows_removed=rows_removed,
            rows_before=rows_before,
            rows_after=rows_after,
            window_rows=window_rows,
            location=f"{self._resource.database()}:{self._table}",
            null_counts=nulls,
            duplicate_counts=duplicates,
        )


def _table_exists(connection, table: str) -> bool:
    schema_name, _, name = table.rpartition(".")
    rows = connection.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = $name AND table_schema = $schema",
        {"name": name, "schema": schema_name or "main"},
    ).fetchall()
    return rows[0][0] > 0
