"""Any SQLAlchemy database as a home: the universal (row-based) path.

Statements are built with SQLAlchemy Core: identifiers are quoted by the dialect and filter values are
bound parameters. Rows stream through a server-side cursor (`yield_per`) and become Arrow batches
typed from the reflected column types, so memory holds one batch, not the table.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa
import sqlalchemy as sa

from ingest_assets.errors import TerminalError, TransientError
from ingest_assets.homes.base import ReadRequest, RowFilter
from ingest_assets.plan.model import ReadSpec
from ingest_assets.resources import SqlAlchemyResource, SqliteFileResource


def arrow_type(column_type: sa.types.TypeEngine) -> pa.DataType | None:
    """The exact Arrow type of a SQL column type; None when only the data can tell."""
    if isinstance(column_type, sa.Boolean):
        return pa.bool_()
    if isinstance(column_type, sa.SmallInteger):
        return pa.int16()
    if isinstance(column_type, (sa.BigInteger, sa.Integer)):
        return pa.int64()
    if isinstance(column_type, sa.Float):
        return pa.float64()
    if isinstance(column_type, sa.Numeric):
        if column_type.precision is not None:
            return pa.decimal128(column_type.precision, column_type.scale or 0)
        return None
    if isinstance(column_type, sa.DateTime):
        return pa.timestamp("us", tz="UTC" if column_type.timezone else None)
    if isinstance(column_type, sa.Date):
        return pa.date32()
    if isinstance(column_type, sa.Time):
        return pa.time64("us")
    if isinstance(column_type, (sa.String, sa.Enum)):
        return pa.string()
    if isinstance(column_type, sa.LargeBinary):
        return pa.binary()
    return None


class SqlAlchemyHome:
    def __init__(self, resource: SqlAlchemyResource | SqliteFileResource):
        self._resource = resource

    def _reflect(self, connection: sa.Connection, table_name: str) -> sa.Table:
        schema, _, name = table_name.rpartition(".")
        try:
            return sa.Table(name, sa.MetaData(), schema=schema or None, autoload_with=connection)
        except sa.exc.NoSuchTableError as error:
            tables = sa.inspect(connection).get_table_names(schema=schema or None)
            raise TerminalError(
                f"table {table_name!r} does not exist in the home database -> tables there: {', '.join(tables)}"
            ) from error

    def _selectable(self, connection: sa.Connection, spec: ReadSpec) -> sa.FromClause:
        if spec.query is not None:
            # A user query is wrapped as a subquery, never string-patched.
            return sa.text(spec.query).columns().subquery("src")
        assert spec.table is not None
        return self._reflect(connection, spec.table)

    def _statement(self, source: sa.FromClause, spec: ReadSpec, row_filter: RowFilter | None) -> sa.Select:
        if spec.columns:
            statement = sa.select(*(_column(source, c, spec) for c in spec.columns))
        else:
            statement = sa.select(*source.c) if isinstance(source, sa.Table) else sa.select(sa.literal_column("*"))
        statement = statement.select_from(source)
        if row_filter is not None:
            column = _column(source, row_filter.column, spec)
            conditions = []
            if row_filter.lower is not None:
                conditions.append(column >= row_filter.lower if row_filter.lower_inclusive else column > row_filter.lower)
            if row_filter.upper is not None:
                conditions.append(column <= row_filter.upper if row_filter.upper_inclusive else column < row_filter.upper)
            if conditions:
                condition = sa.and_(*conditions)
                statement = statement.where(sa.or_(condition, column.is_(None)) if row_filter.include_nulls else condition)
        return statement

    @contextmanager
    def _connect(self) -> Iterator[sa.Connection]:
        engine = self._resource.engine()
        try:
            with engine.connect() as connection:
                yield connection
        except sa.exc.OperationalError as error:
            # The dialect could not reach the database (or lost it); a retry may succeed.
            raise TransientError(f"home database error: {error.orig}") from error
        finally:
            engine.dispose()

    @contextmanager
    def read(self, request: ReadRequest) -> Iterator[pa.RecordBatchReader]:
        spec = request.spec
        with self._connect() as connection:
            source = self._selectable(connection, spec)
            statement = self._statement(source, spec, request.row_filter)
            result = connection.execution_options(stream_results=True, yield_per=spec.batch_size).execute(statement)
            try:
                names = list(result.keys())
                declared = {c.name: arrow_type(c.type) for c in source.c} if isinstance(source, sa.Table) else {}
                first = _fetch(result, spec, 0)
                schema = _schema(names, declared, first)
                yield pa.RecordBatchReader.from_batches(schema, _batches(result, first, schema, spec))
            finally:
                # An unfinished cursor keeps SQLite's read lock (and a server cursor elsewhere): close it
                # even when the read stopped half-way.
                result.close()

    def max_value(self, spec: ReadSpec, column: str) -> object | None:
        with self._connect() as connection:
            source = self._selectable(connection, spec)
            target = _column(source, column, spec)
            return connection.execute(sa.select(sa.func.max(target)).select_from(source)).scalar()


def _column(source: sa.FromClause, name: str, spec: ReadSpec) -> sa.ColumnElement:
    """A reflected table's column (which must exist), or a named column of a wrapped query."""
    if not isinstance(source, sa.Table):
        return sa.column(name)
    if name not in source.c:
        raise TerminalError(f"column {name!r} is not in {spec.describe()} -> columns there: "
                            f"{', '.join(source.c.keys())}")
    return source.c[name]


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


def _batches(result: sa.CursorResult, first, schema: pa.Schema, spec: ReadSpec) -> Iterator[pa.RecordBatch]:
    rows, seen = first, 0
    while rows:
        yield _to_batch(rows, schema)
        seen += len(rows)
        rows = _fetch(result, spec, seen)
