"""Any SQLAlchemy database as a home: SQL Server (pyodbc), MySQL / MariaDB, SQLite, any URL.

This is the universal, row-based path (PostgreSQL has an Arrow-native one in `homes.postgres`). The
statement comes from `homes.read_query`, quoted by the engine's dialect, with every value a bound
parameter typed for its column (`sql.bound`). Rows stream through an unbuffered cursor (`yield_per`)
and become Arrow batches typed from the reflected column types, on a background thread, so memory
holds a few batches, not the table. `parallel:` reads key ranges over several connections at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pyarrow as pa
import sqlalchemy as sa

from ingest_assets.connectors.database import DatabaseResource
from ingest_assets.errors import TerminalError, TransientError, first_line
from ingest_assets.homes.base import ReadRequest
from ingest_assets.homes.explain import RowEstimate, SourceQuery
from ingest_assets.homes import statistics
from ingest_assets.homes.read_query import (
    build_read_query,
    range_groups,
    require_column,
    require_columns,
    split_range,
    with_query_filter,
)
from ingest_assets.homes.sql_types import arrow_type, describe_query_types
from ingest_assets.homes.streams import as_reader, merged_batches
from ingest_assets.plan.model import ReadSpec
from ingest_assets.sql.bound import text_clause
from ingest_assets.sql.statement import Sql
from ingest_assets.sql.window import Condition


class SqlAlchemyHome:
    def __init__(self, resource: DatabaseResource):
        self._resource = resource
        self._engine: sa.Engine | None = None

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = self._resource.engine()
        return self._engine

    @contextmanager
    def _connect(self) -> Iterator[sa.Connection]:
        try:
            with self.engine.connect() as connection:
                yield connection
        except sa.exc.OperationalError as error:
            # The dialect could not reach the database (or lost it); a retry may succeed.
            raise TransientError(f"home database error: {first_line(error.orig)}") from error
        except (sa.exc.ProgrammingError, sa.exc.DBAPIError) as error:
            raise TerminalError(f"the home database refused the read: {first_line(error.orig)}") from error

    # ---- what the source looks like ------------------------------------------------------------

    def _column_types(self, connection: sa.Connection, spec: ReadSpec) -> dict[str, sa.types.TypeEngine]:
        """Declared column types: reflected for a table; for a query, what the dialect can describe."""
        if spec.table is not None:
            schema, _, name = spec.table.rpartition(".")
            try:
                table = sa.Table(name, sa.MetaData(), schema=schema or None, autoload_with=connection)
            except sa.exc.NoSuchTableError as error:
                tables = sa.inspect(connection).get_table_names(schema=schema or None)
                raise TerminalError(f"table {spec.table!r} does not exist in the home database -> tables "
                                    f"there: {', '.join(tables) or 'none'}") from error
            types = {column.name: column.type for column in table.columns}
            require_columns(spec, types, spec.columns)
            return types
        assert spec.query is not None
        return describe_query_types(connection, with_query_filter(spec.query, Sql()).literal_text())

    def _query(self, spec: ReadSpec, conditions: Sequence[Condition], types, select: str | None = None,
               limit: int | None = None, explain: str | None = None):
        """The read's statement; with `explain` ("EXPLAIN ..."), that statement of it, untyped."""
        dialect = self.engine.dialect
        query = build_read_query(spec, conditions, dialect.identifier_preparer.quote, select)
        clause = text_clause(query if explain is None else Sql.of(f"{explain} ", query), dialect, types.get)
        if explain is not None:
            return clause
        if select is None and spec.table is not None:
            # Typed result columns, in the order selected: the dialect converts values as it would
            # for a Core select of the table (e.g. SQLite's NUMERIC to Decimal).
            names = spec.columns or tuple(types)
            clause = clause.columns(*(sa.column(name, types[name]) for name in names))
        return clause if limit is None else _limited(clause, limit)

    # ---- Home protocol -------------------------------------------------------------------------

    @contextmanager
    def read(self, request: ReadRequest) -> Iterator[pa.RecordBatchReader]:
        spec = request.spec
        try:
            with self._connect() as connection:
                types = self._column_types(connection, spec)
                ranges = self._ranges(connection, request, types)
            declared = {name: arrow_type(column_type) for name, column_type in types.items()}
            openers = [self._opener(request, group, types, declared)
                       for group in range_groups(ranges, self._resource.pool_size)]
            batches = merged_batches(openers)
            try:
                yield as_reader(batches)
            finally:
                batches.close()  # stops and joins the reading threads, closing their connections
        finally:
            if self._engine is not None:
                self._engine.dispose()

    def max_value(self, spec: ReadSpec, column: str) -> object | None:
        try:
            with self._connect() as connection:
                types = self._column_types(connection, spec)
                if spec.table is not None:  # a query's described types may be partial (SQL Server's)
                    require_column(spec, types, column)
                quoted = self.engine.dialect.identifier_preparer.quote(column)
                query = self._query(spec, [], types, f"max({quoted})")
                if column in types:  # typed like the column (SQLite returns timestamps as text otherwise)
                    query = query.columns(sa.column("max_value", types[column]))
                return connection.execute(query).scalar()
        finally:
            self.engine.dispose()

    # ---- ExplainsReads --------------------------------------------------------------------------

    def source_query(self, request: ReadRequest) -> SourceQuery:
        """The statement of a read as this dialect compiles it (of the whole read: a parallel read runs
        it once per key range, with the range added to its conditions)."""
        try:
            with self._connect() as connection:
                types = self._column_types(connection, request.spec)
            compiled = self._query(request.spec, request.conditions, types, limit=request.limit).compile(
                dialect=self.engine.dialect, compile_kwargs={"render_postcompile": True})
        finally:
            if self._engine is not None:
                self._engine.dispose()
        notes = ()
        if request.spec.parallel is not None and request.limit is None:
            notes = (f"run once per key range of {request.spec.parallel.column} "
                     f"({request.spec.parallel.partitions} ranges)",)
        return SourceQuery("sql", str(compiled), dict(compiled.params), notes)

    def estimate_rows(self, request: ReadRequest) -> RowEstimate:
        try:
            with self._connect() as connection:
                types = self._column_types(connection, request.spec)
                return statistics.estimate(
                    connection, request.spec, bool(request.conditions),
                    lambda prefix: self._query(request.spec, request.conditions, types, explain=prefix))
        finally:
            if self._engine is not None:
                self._engine.dispose()

    # ---- parallel ranges -----------------------------------------------------------------------

    def _ranges(self, connection: sa.Connection, request: ReadRequest, types) -> list:
        parallel = request.spec.parallel
        if parallel is None or request.limit is not None:  # a sample is one read that stops early
            return []
        quoted = self.engine.dialect.identifier_preparer.quote(parallel.column)
        query = self._query(request.spec, request.conditions, types, f"min({quoted}), max({quoted})")
        if parallel.column in types:
            column_type = types[parallel.column]
            query = query.columns(sa.column("low", column_type), sa.column("high", column_type))
        low, high = connection.execute(query).one()
        if low is None:
            return []
        return split_range(low, high, parallel.partitions, parallel.column)

    def _opener(self, request: ReadRequest, ranges: list, types, declared):
        @contextmanager
        def open_stream():
            with self._connect() as connection:
                yield self._stream(connection, request, ranges, types, declared)

        return open_stream

    def _stream(self, connection: sa.Connection, request: ReadRequest, ranges, types, declared):
        spec = request.spec
        for key_range in ranges:
            conditions = request.conditions + ([key_range] if key_range is not None else [])
            result = connection.execution_options(stream_results=True, yield_per=spec.batch_size).execute(
                self._query(spec, conditions, types, limit=request.limit)
            )
            try:
                names = list(result.keys())
                rows, seen = _fetch(result, spec, 0), 0
                schema = _schema(names, declared, rows)
                if not rows:
                    yield _to_batch(rows, schema)  # no rows, but the columns still tell the schema
                while rows:
                    yield _to_batch(rows, schema)
                    seen += len(rows)
                    rows = _fetch(result, spec, seen)
            finally:
                # An unfinished cursor keeps SQLite's read lock (and a server cursor elsewhere).
                result.close()


def _limited(clause, limit: int) -> sa.Select:
    """The read with a row limit the dialect compiles (LIMIT, TOP, FETCH FIRST): the read becomes a
    subquery, so the limit applies to whatever statement the read is."""
    textual = clause if isinstance(clause, sa.TextualSelect) else clause.columns()
    sample = textual.subquery("ingest_sample")
    return sa.select(*(list(sample.c) or [sa.literal_column("*")])).select_from(sample).limit(limit)


def _schema(names: list[str], declared: dict[str, pa.DataType | None], first_rows) -> pa.Schema:
    fields = []
    for index, name in enumerate(names):
        arrow = declared.get(name)
        if arrow is None:
            # No declared type (a query, or a dynamic SQLite column): the first batch decides.
            arrow = pa.array([row[index] for row in first_rows]).type if first_rows else pa.string()
            if pa.types.is_null(arrow):
                arrow = pa.string()
        fields.append(pa.field(name, arrow))
    return pa.schema(fields)


def _to_batch(rows, schema: pa.Schema) -> pa.RecordBatch:
    columns = list(zip(*rows)) if rows else [[] for _ in schema]
    try:
        arrays = [pa.array(values, type=field.type) for values, field in zip(columns, schema)]
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise TerminalError(f"a source value does not fit the column types {schema}: {error}") from error
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _fetch(result: sa.CursorResult, spec: ReadSpec, rows_before: int) -> list:
    try:
        return result.fetchmany(spec.batch_size)
    except (TypeError, ValueError, ArithmeticError) as error:
        # The dialect could not convert a stored value to its column's type (e.g. text in NUMERIC).
        raise TerminalError(
            f"a source value does not fit the column types of {spec.describe()} (in the rows after "
            f"row {rows_before:,}): {error} -> fix the value at the source, or read it with a query that casts it"
        ) from error
