"""DuckDB database home: a table or a query, streamed as Arrow record batches."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa

from ingest_assets.errors import TerminalError
from ingest_assets.homes.base import ReadRequest, RowFilter
from ingest_assets.plan.model import ReadSpec
from ingest_assets.resources import DuckDBFileResource
from ingest_assets.sql_text import quote_identifier, quote_qualified


def _source_sql(spec: ReadSpec) -> str:
    if spec.query is not None:
        return f"({spec.query}) AS src"  # a user query is wrapped as a subquery, never patched
    assert spec.table is not None
    return quote_qualified(spec.table)


def _where(row_filter: RowFilter | None) -> tuple[str, dict[str, object]]:
    if row_filter is None:
        return "", {}
    column = quote_identifier(row_filter.column)
    clauses, params = [], {}
    if row_filter.lower is not None:
        clauses.append(f"{column} {'>=' if row_filter.lower_inclusive else '>'} $lower")
        params["lower"] = row_filter.lower
    if row_filter.upper is not None:
        clauses.append(f"{column} {'<=' if row_filter.upper_inclusive else '<'} $upper")
        params["upper"] = row_filter.upper
    if not clauses:
        return "", params
    condition = " AND ".join(clauses)
    if row_filter.include_nulls:
        condition = f"({condition}) OR {column} IS NULL"
    return f" WHERE {condition}", params


class DuckDBHome:
    def __init__(self, resource: DuckDBFileResource):
        self._resource = resource

    def _check_database(self) -> None:
        if not self._resource.database().exists():
            raise TerminalError(
                f"DuckDB home database {self._resource.database()} does not exist -> check the connection's path"
            )

    @contextmanager
    def read(self, request: ReadRequest) -> Iterator[pa.RecordBatchReader]:
        import duckdb

        spec = request.spec
        self._check_database()
        columns = ", ".join(quote_identifier(c) for c in spec.columns) or "*"
        where, params = _where(request.row_filter)
        sql = f"SELECT {columns} FROM {_source_sql(spec)}{where}"
        with self._resource.connect(read_only=True) as connection:
            try:
                relation = connection.sql(sql, params=params or None)
            except (duckdb.CatalogException, duckdb.BinderException, duckdb.ParserException) as error:
                raise TerminalError(
                    f"DuckDB home cannot read {spec.describe()}: {error} -> check home.table or home.query"
                ) from error
            yield relation.to_arrow_reader(spec.batch_size)

    def max_value(self, spec: ReadSpec, column: str) -> object | None:
        import duckdb

        self._check_database()
        sql = f"SELECT max({quote_identifier(column)}) FROM {_source_sql(spec)}"
        with self._resource.connect(read_only=True) as connection:
            try:
                return connection.sql(sql).fetchall()[0][0]
            except (duckdb.CatalogException, duckdb.BinderException) as error:
                raise TerminalError(f"DuckDB home cannot read max({column}) of {spec.describe()}: {error}") from error
