"""DuckDB database home: a table or a query, streamed as Arrow record batches."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa

from ingest_assets.connectors.duckdb import DuckDBFileResource
from ingest_assets.errors import MaxValueUnreadable, SourceDatabaseMissing, SourceQueryInvalid
from ingest_assets.homes.base import ReadRequest
from ingest_assets.homes.explain import RowEstimate, SourceQuery
from ingest_assets.plan.model import ReadSpec
from ingest_assets.sql.statement import Sql, duckdb_text
from ingest_assets.sql.text import quote_identifier, quote_qualified
from ingest_assets.sql.window import condition


def _source_sql(spec: ReadSpec) -> str:
    if spec.query is not None:
        return f"({spec.query}) AS src"  # a user query is wrapped as a subquery, never patched
    assert spec.table is not None
    return quote_qualified(spec.table)


def _read_sql(request: ReadRequest) -> tuple[str, dict[str, object]]:
    spec = request.spec
    columns = ", ".join(quote_identifier(c) for c in spec.columns) or "*"
    where = condition(request.row_filter) if request.row_filter else Sql()
    sql, params = duckdb_text(Sql.of(f"SELECT {columns} FROM {_source_sql(spec)} WHERE ", where or "true"))
    if request.limit is not None:
        sql += " LIMIT $sample_rows"
        params = {**params, "sample_rows": request.limit}
    return sql, params


class DuckDBHome:
    def __init__(self, resource: DuckDBFileResource):
        self._resource = resource

    def _check_database(self) -> None:
        if not self._resource.database().exists():
            raise SourceDatabaseMissing(engine="DuckDB", database=self._resource.database())

    @contextmanager
    def read(self, request: ReadRequest) -> Iterator[pa.RecordBatchReader]:
        import duckdb

        spec = request.spec
        self._check_database()
        sql, params = _read_sql(request)
        with self._resource.connect(read_only=True) as connection:
            try:
                relation = connection.sql(sql, params=params or None)
            except (duckdb.CatalogException, duckdb.BinderException, duckdb.ParserException) as error:
                raise SourceQueryInvalid(engine="DuckDB", source=spec.describe(), reason=str(error)) from error
            yield relation.to_arrow_reader(spec.batch_size)

    def source_query(self, request: ReadRequest) -> SourceQuery:
        sql, params = _read_sql(request)
        return SourceQuery("sql", sql, params)

    def estimate_rows(self, request: ReadRequest) -> RowEstimate:
        """A table's `estimated_size` (duckdb_tables()); otherwise the plan's estimated cardinality."""
        import duckdb

        self._check_database()
        spec = request.spec
        with self._resource.connect(read_only=True) as connection:
            try:
                if spec.table is not None and not request.conditions:
                    schema, _, name = spec.table.rpartition(".")
                    found = connection.execute(
                        "SELECT estimated_size FROM duckdb_tables() WHERE table_name = $name AND "
                        "schema_name = $schema", {"name": name, "schema": schema or "main"},
                    ).fetchall()
                    if found:
                        return RowEstimate(int(found[0][0]), "duckdb_tables().estimated_size")
                sql, params = _read_sql(ReadRequest(spec, request.row_filter, request.bucket))
                explained = connection.execute(f"EXPLAIN (FORMAT JSON) {sql}", params or None).fetchall()
            except (duckdb.CatalogException, duckdb.BinderException, duckdb.ParserException) as error:
                raise SourceQueryInvalid(engine="DuckDB", source=spec.describe(), reason=str(error)) from error
        top = json.loads(explained[0][1])[0]
        cardinality = top.get("extra_info", {}).get("Estimated Cardinality")
        if cardinality is None:
            return RowEstimate.unknown(f"DuckDB's plan ({top.get('name')}) gives no estimated cardinality")
        return RowEstimate(int(cardinality), "DuckDB EXPLAIN estimated cardinality")

    def max_value(self, spec: ReadSpec, column: str) -> object | None:
        import duckdb

        self._check_database()
        sql = f"SELECT max({quote_identifier(column)}) FROM {_source_sql(spec)}"
        with self._resource.connect(read_only=True) as connection:
            try:
                largest: object | None = connection.sql(sql).fetchall()[0][0]
                return largest
            except (duckdb.CatalogException, duckdb.BinderException) as error:
                raise MaxValueUnreadable(engine="DuckDB", column=column, source=spec.describe(),
                                         reason=str(error)) from error
