"""Any SQLAlchemy database as a home: SQL Server (pyodbc), MySQL / MariaDB, SQLite, any URL.

This is the universal, row-based path (PostgreSQL has an Arrow-native one in `homes.postgres`). The
statement comes from `homes.read_query`, quoted by the engine's dialect, with every value a bound
parameter typed for its column (`sql.bound`). Rows stream through an unbuffered cursor (`yield_per`)
and become Arrow batches typed from the reflected column types, on a background thread, so memory
holds a few batches, not the table. `parallel:` reads key ranges over several connections at once.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from ingest_assets.connectors.database import DatabaseResource, refused_login_fix
from ingest_assets.errors import (
    BatchValueDoesNotFit,
    FetchedValueDoesNotFit,
    HomeDatabaseRefused,
    HomeDatabaseUnavailable,
    MaxValueUnreadable,
    SourceTableMissing,
    first_line,
)
from ingest_assets.homes import sqlite_times, statistics
from ingest_assets.homes.base import ReadRequest
from ingest_assets.homes.explain import RowEstimate, SourceQuery
from ingest_assets.homes.read_query import (
    build_read_query,
    range_groups,
    require_column,
    require_columns,
    split_range,
    with_query_filter,
)
from ingest_assets.homes.sql_types import arrow_type, describe_query_types
from ingest_assets.homes.streams import StreamOpener, as_reader, merged_batches
from ingest_assets.plan.model import ReadSpec
from ingest_assets.plan.window import KeyIsNull, RowFilter
from ingest_assets.sql.bound import bind_type, text_clause
from ingest_assets.sql.statement import Sql, Value
from ingest_assets.sql.text import Quote, dialect_quote
from ingest_assets.sql.window import Condition

# Column name -> its declared SQL type (reflected or described), and -> its Arrow type (None: the data decides).
ColumnTypes = dict[str, sa.types.TypeEngine[Any]]
ArrowTypes = dict[str, pa.DataType | None]
# Rows as a result fetches them: values of whatever Python types the driver returns.
Rows = Sequence[sa.Row[*tuple[Any, ...]]]


def _as_read(column_type: sa.types.TypeEngine[Any]) -> sa.types.TypeEngine[Any]:
    """Floating-point columns are read as floats: MySQL's dialect reflects DOUBLE and FLOAT `asdecimal`,
    whose Decimals (of 10 places) their float64 column would refuse."""
    if isinstance(column_type, sa.Float) and column_type.asdecimal:
        as_float = copy.copy(column_type)
        as_float.asdecimal = False
        return as_float
    return column_type


def _datetime_columns(types: ColumnTypes) -> set[str]:
    return {name for name, column_type in types.items() if isinstance(column_type, sa.DateTime)}


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
            fix = refused_login_fix(error.orig, self._resource)
            if fix is not None:  # a wrong password or database stays wrong: no retry
                raise HomeDatabaseRefused(reason=first_line(error.orig), fix=fix) from error
            # The dialect could not reach the database (or lost it); a retry may succeed.
            raise HomeDatabaseUnavailable(reason=first_line(error.orig)) from error
        except (sa.exc.ProgrammingError, sa.exc.DBAPIError) as error:
            raise HomeDatabaseRefused(reason=first_line(error.orig)) from error

    # ---- what the source looks like ------------------------------------------------------------

    def _column_types(self, connection: sa.Connection, spec: ReadSpec) -> ColumnTypes:
        """Declared column types: reflected for a table; for a query, what the dialect can describe."""
        if spec.table is not None:
            schema, _, name = spec.table.rpartition(".")
            try:
                table = sa.Table(name, sa.MetaData(), schema=schema or None, autoload_with=connection)
            except sa.exc.NoSuchTableError as error:
                tables = sa.inspect(connection).get_table_names(schema=schema or None)
                raise SourceTableMissing(table=spec.table, tables=tables) from error
            types = {column.name: _as_read(column.type) for column in table.columns}
            require_columns(spec, types, spec.columns)
            return types
        assert spec.query is not None
        return describe_query_types(connection, with_query_filter(spec.query, Sql()).literal_text())

    def _bound(self, value: Value, types: ColumnTypes) -> object:
        """The value as SQLAlchemy hands it to the driver for its column's type (e.g. SQLite's datetime as
        its ISO text), for paths that send values themselves (ADBC, connectorx)."""
        column_type = bind_type(types.get(value.column) if value.column else None, value.value)
        if column_type is None:
            return value.value
        dialect = self.engine.dialect
        processor = column_type.dialect_impl(dialect).bind_processor(dialect)
        return value.value if processor is None else processor(value.value)

    def _compared(self, types: ColumnTypes) -> Quote:
        """A column as written where rows are compared with a bound value (windows, max, key ranges): as
        itself, unless the database stores values that compare otherwise (SQLite's text datetimes)."""
        quote = dialect_quote(self.engine.dialect)
        if self.engine.dialect.name != "sqlite":
            return quote
        times = _datetime_columns(types)
        return lambda name: sqlite_times.compared_as_bound(quote(name)) if name in times else quote(name)

    def _require_comparable(self, connection: sa.Connection, spec: ReadSpec, types: ColumnTypes, column: str) -> None:
        """Refuse a watermark whose values the windows could not compare (SQLite text it cannot read as a
        time would fall out of every window while the maximum moved past it)."""
        if self.engine.dialect.name != "sqlite" or column not in _datetime_columns(types):
            return
        quote = dialect_quote(self.engine.dialect)
        found = sa.text(f"SELECT {quote(column)} FROM ({self._text(spec, [], types).text}) AS ingest_times "
                        f"WHERE {sqlite_times.first_unreadable(quote(column))} LIMIT 1")
        unreadable = connection.execute(found.columns(sa.column(column, sa.Text()))).scalar()
        if unreadable is not None:
            raise MaxValueUnreadable(engine="SQLite", column=column, source=spec.describe(),
                                     reason=sqlite_times.unreadable_fix(unreadable))

    def _text(self, spec: ReadSpec, conditions: Sequence[Condition], types: ColumnTypes, select: str | None = None,
              explain: str | None = None) -> sa.TextClause:
        """The read's statement as text, untyped; with `explain` ("EXPLAIN ..."), that statement of it."""
        dialect = self.engine.dialect
        query = build_read_query(spec, conditions, dialect_quote(dialect), select, self._compared(types))
        return text_clause(query if explain is None else Sql.of(f"{explain} ", query), dialect, types.get)

    def _query(self, spec: ReadSpec, conditions: Sequence[Condition], types: ColumnTypes, select: str | None = None,
               limit: int | None = None) -> sa.TextClause | sa.TextualSelect | sa.Select[*tuple[Any, ...]]:
        """The read's statement: a table's result columns typed, and a sample's rows limited."""
        text = self._text(spec, conditions, types, select)
        clause: sa.TextClause | sa.TextualSelect = text
        if select is None and spec.table is not None:
            # Typed result columns, in the order selected: the dialect converts values as it would
            # for a Core select of the table (e.g. SQLite's NUMERIC to Decimal).
            names = spec.columns or tuple(types)
            clause = text.columns(*(sa.column(name, types[name]) for name in names))
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
                self._require_comparable(connection, spec, types, column)
                text = self._text(spec, [], types, f"max({self._compared(types)(column)})")
                # Typed like the column (SQLite returns timestamps as text otherwise).
                query = text.columns(sa.column("max_value", types[column])) if column in types else text
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
        notes: tuple[str, ...] = ()
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
                    lambda prefix: self._text(request.spec, request.conditions, types, explain=prefix))
        finally:
            if self._engine is not None:
                self._engine.dispose()

    # ---- parallel ranges -----------------------------------------------------------------------

    def _ranges(self, connection: sa.Connection, request: ReadRequest, types: ColumnTypes
                ) -> list[RowFilter | KeyIsNull]:
        parallel = request.spec.parallel
        if parallel is None or request.limit is not None:  # a sample is one read that stops early
            return []
        quoted = self._compared(types)(parallel.column)
        text = self._text(request.spec, request.conditions, types, f"min({quoted}), max({quoted})")
        query: sa.TextClause | sa.TextualSelect = text
        if parallel.column in types:
            column_type = types[parallel.column]
            query = text.columns(sa.column("low", column_type), sa.column("high", column_type))
        low, high = connection.execute(query).one()
        if low is None:
            return []
        return split_range(low, high, parallel.partitions, parallel.column)

    def _opener(self, request: ReadRequest, ranges: Sequence[Condition | None], types: ColumnTypes,
                declared: ArrowTypes) -> StreamOpener:
        @contextmanager
        def open_stream() -> Iterator[Iterator[pa.RecordBatch]]:
            with self._connect() as connection:
                yield self._stream(connection, request, ranges, types, declared)

        return open_stream

    def _stream(self, connection: sa.Connection, request: ReadRequest, ranges: Sequence[Condition | None],
                types: ColumnTypes, declared: ArrowTypes) -> Iterator[pa.RecordBatch]:
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


def _limited(clause: sa.TextClause | sa.TextualSelect, limit: int) -> sa.Select[*tuple[Any, ...]]:
    """The read with a row limit the dialect compiles (LIMIT, TOP, FETCH FIRST): the read becomes a
    subquery, so the limit applies to whatever statement the read is."""
    textual = clause if isinstance(clause, sa.TextualSelect) else clause.columns()
    sample = textual.subquery("ingest_sample")
    return sa.select(*(list(sample.c) or [sa.literal_column("*")])).select_from(sample).limit(limit)


def _schema(names: list[str], declared: ArrowTypes, first_rows: Rows) -> pa.Schema:
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


def _to_batch(rows: Rows, schema: pa.Schema) -> pa.RecordBatch:
    columns: list[Sequence[object]] = list(zip(*rows, strict=True)) if rows else [[] for _ in schema]
    try:
        arrays = [pa.array(values, type=field.type) for values, field in zip(columns, schema, strict=True)]
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise BatchValueDoesNotFit(schema=schema, reason=str(error)) from error
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _fetch(result: sa.CursorResult[*tuple[Any, ...]], spec: ReadSpec, rows_before: int) -> Rows:
    try:
        return result.fetchmany(spec.batch_size)
    except (TypeError, ValueError, ArithmeticError) as error:
        # The dialect could not convert a stored value to its column's type (e.g. text in NUMERIC).
        raise FetchedValueDoesNotFit(source=spec.describe(), rows_before=rows_before, reason=str(error)) from error
