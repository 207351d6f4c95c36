"""SQLite through ADBC: typed tables read straight into Arrow, ~10x faster than SQLAlchemy's rows
(measured, benchmarks/sqlite_read.py).

Only the streaming of rows differs from `SqlAlchemyHome`: the columns' declared types, the statement,
key ranges, `max_value`, `source_query` and `estimate_rows` are its own (inherited), and the batches
have exactly its schema and values.

- Values are bound as numbered parameters (`?1`), each converted by SQLAlchemy's bind processor for its
  column's type, so the database compares exactly what the SQLAlchemy path sends.
- ADBC types a column from the values of the first batch and fails on a later value of another kind
  (an all-null first batch is int64, then text fails). A first row of placeholder values of each
  column's storage kind (`UNION ALL`), dropped from the first batch, fixes the kind from the declared type.
- Columns are then cast in Arrow to the declared type (REAL to decimal, ISO text to timestamp, 0/1 to
  bool). A batch holding text that Arrow cannot parse is converted by SQLAlchemy's result processors,
  as the SQLAlchemy path would, for that column of that batch only.
- A query (typed by its data on the SQLAlchemy path) and a table with a column of a type not listed in
  `_PLACEHOLDERS` (untyped, NUMERIC without precision, TIME, ...) are read by `SqlAlchemyHome` itself.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from ingest_assets.connectors.sqlite import SqliteFileResource
from ingest_assets.errors import (
    BatchValueDoesNotFit,
    FetchedValueDoesNotFit,
    HomeDatabaseRefused,
    HomeDatabaseUnavailable,
    SourceTextNotUtf8,
    first_line,
)
from ingest_assets.homes.base import ReadRequest
from ingest_assets.homes.read_query import build_read_query
from ingest_assets.homes.sql import ArrowTypes, ColumnTypes, SqlAlchemyHome
from ingest_assets.homes.streams import StreamOpener, empty_batch
from ingest_assets.sql.statement import Rendered, Sql, Value
from ingest_assets.sql.text import dialect_quote
from ingest_assets.sql.window import Condition

if TYPE_CHECKING:
    from adbc_driver_manager.dbapi import Connection, Cursor

_UNDECODABLE = re.compile(r"Could not decode to UTF-8 column '(?P<column>[^']*)'")

# The placeholder value, of the kind SQLite stores, for each declared Arrow type the fast path reads
# exactly (SQLite's UNION ALL returns its first arm's row first).
_INTEGER, _REAL, _TEXT, _BLOB = "0", "0.0", "''", "x''"
_PLACEHOLDERS: dict[Callable[[pa.DataType], bool], str] = {
    pa.types.is_boolean: _INTEGER,
    pa.types.is_integer: _INTEGER,
    pa.types.is_floating: _REAL,
    pa.types.is_decimal: _REAL,
    pa.types.is_string: _TEXT,
    pa.types.is_date32: _TEXT,
    lambda t: pa.types.is_timestamp(t) and t.tz is None: _TEXT,
    pa.types.is_binary: _BLOB,
}


def sqlite_home(resource: SqliteFileResource) -> SqliteHome:
    # The driver is a core dependency; an install without it (a platform with no wheel) still reads,
    # on the universal path.
    fast = resource.engine_name != "sqlalchemy" and importlib.util.find_spec("adbc_driver_sqlite") is not None
    return SqliteHome(resource, fast=fast)


def _placeholder(arrow: pa.DataType) -> str | None:
    return next((literal for matches, literal in _PLACEHOLDERS.items() if matches(arrow)), None)


class SqliteHome(SqlAlchemyHome):
    def __init__(self, resource: SqliteFileResource, fast: bool = True):
        super().__init__(resource)
        self._file = resource.file_path()
        self._fast = fast  # ADBC's stream; else SQLAlchemy's

    def _opener(self, request: ReadRequest, ranges: Sequence[Condition | None], types: ColumnTypes,
                declared: ArrowTypes) -> StreamOpener:
        names = request.spec.columns or tuple(types)
        schema = _fast_schema(names, declared) if self._fast and request.spec.table is not None else None
        if schema is None:
            return super()._opener(request, ranges, types, declared)

        @contextmanager
        def open_stream() -> Iterator[Iterator[pa.RecordBatch]]:
            with self._connect_adbc() as connection:
                yield self._stream_adbc(connection, request, ranges, types, schema)

        return open_stream

    @contextmanager
    def _connect(self) -> Iterator[sa.Connection]:
        try:
            with super()._connect() as connection:
                yield connection
        except HomeDatabaseUnavailable as error:
            # Python's sqlite3 reports text it cannot decode as an OperationalError, which a retry would
            # meet again; it carries no error code, only its text.
            undecodable = _UNDECODABLE.match(error.reason)
            if undecodable is None:
                raise
            raise SourceTextNotUtf8(column=undecodable["column"], where=error.reason) from error

    @contextmanager
    def _connect_adbc(self) -> Iterator[Connection]:
        from adbc_driver_manager import dbapi
        from adbc_driver_sqlite import dbapi as sqlite

        try:
            connection: Connection = sqlite.connect(str(self._file), autocommit=True)
        except dbapi.Error as error:
            raise HomeDatabaseUnavailable(reason=first_line(error)) from error
        try:
            yield connection
        except dbapi.OperationalError as error:  # busy or locked: a retry may pass
            raise HomeDatabaseUnavailable(reason=first_line(error)) from error
        except dbapi.Error as error:
            raise HomeDatabaseRefused(reason=first_line(error)) from error
        finally:
            connection.close()

    def _stream_adbc(self, connection: Connection, request: ReadRequest, ranges: Sequence[Condition | None],
                     types: ColumnTypes, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
        spec, seen = request.spec, 0
        with connection.cursor() as cursor:
            cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(spec.batch_size)})
            for key_range in ranges:
                conditions = request.conditions + ([key_range] if key_range is not None else [])
                query = self._statement(request, conditions, schema, types)
                batches = _fetch(cursor, query, [self._bound(value, types) for value in query.values.values()])
                first = True
                while (batch := _next_batch(batches, spec.describe(), seen)) is not None:
                    if first:
                        batch, first = batch.slice(1), False  # the placeholder row
                        if not batch.num_rows:
                            yield empty_batch(schema)
                            continue
                    yield self._declared(batch, schema, types, spec.describe(), seen)
                    seen += batch.num_rows

    def _statement(self, request: ReadRequest, conditions: Sequence[Condition], schema: pa.Schema,
                   types: ColumnTypes) -> Rendered:
        quote = dialect_quote(self.engine.dialect)
        placeholders = ", ".join(f"{_placeholder(field.type)} AS {quote(field.name)}" for field in schema)
        read = build_read_query(request.spec, conditions, quote, compared=self._compared(types))
        if request.limit is not None:
            # An integer (validated positive), not a value of the data.
            read = Sql.of("SELECT * FROM (", read, f") AS ingest_sample LIMIT {int(request.limit)}")
        query = Sql.of(f"SELECT {placeholders} UNION ALL SELECT * FROM (", read, ") AS ingest_read")
        numbers: dict[str, int] = {}

        def parameter(name: str, value: Value) -> str:
            numbers[name] = len(numbers) + 1
            return f"?{numbers[name]}"

        return query.render(parameter)

    def _declared(self, batch: pa.RecordBatch, schema: pa.Schema, types: ColumnTypes, source: str,
                  rows_before: int) -> pa.RecordBatch:
        columns = []
        for column, field in zip(batch.columns, schema, strict=True):
            if pa.types.is_string(column.type):
                _require_utf8(column, field.name, rows_before)  # ADBC hands over SQLite's bytes as they are
            if column.type == field.type:
                columns.append(column)
                continue
            try:
                columns.append(pc.cast(column, field.type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                columns.append(self._processed(column, field, types[field.name], source, rows_before))
        return pa.RecordBatch.from_arrays(columns, schema=schema)

    def _processed(self, column: pa.Array[Any], field: pa.Field[pa.DataType], column_type: sa.types.TypeEngine[Any],
                   source: str, rows_before: int) -> pa.Array[Any]:
        """The column converted value by value, as the SQLAlchemy path does: the rare batch Arrow cannot
        parse (text in another format), with the same values or the same error."""
        dialect = self.engine.dialect
        processor = column_type.dialect_impl(dialect).result_processor(dialect, None)
        values = column.to_pylist()
        try:
            converted = values if processor is None else [processor(value) for value in values]
        except (TypeError, ValueError, ArithmeticError) as error:
            raise FetchedValueDoesNotFit(source=source, rows_before=rows_before, reason=str(error)) from error
        try:
            array: pa.Array[Any] = pa.array(converted, type=field.type)
            return array
        except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
            raise BatchValueDoesNotFit(schema=pa.schema([field]), reason=str(error)) from error


def _fast_schema(names: Sequence[str], declared: ArrowTypes) -> pa.Schema | None:
    """The read's schema when every column has a type the fast path reads exactly; else None."""
    fields = []
    for name in names:
        arrow = declared.get(name)
        if arrow is None or _placeholder(arrow) is None:
            return None
        fields.append(pa.field(name, arrow))
    return pa.schema(fields)


def _require_utf8(column: pa.Array[Any], name: str, rows_before: int) -> None:
    try:
        column.validate(full=True)
    except pa.ArrowInvalid as error:
        raise SourceTextNotUtf8(column=name, where=f"in the rows after row {rows_before:,}: {error}") from error



def _fetch(cursor: Cursor, query: Rendered, parameters: list[object]) -> Iterator[pa.RecordBatch]:
    cursor.execute(query.text, parameters=parameters or None)
    return iter(cursor.fetch_record_batch())


def _next_batch(batches: Iterator[pa.RecordBatch], source: str, rows_before: int) -> pa.RecordBatch | None:
    try:
        return next(batches, None)
    except OSError as error:
        # ADBC's reader fails on a value of another kind than the column's (e.g. text in NUMERIC):
        # the SQLAlchemy path fails on it too, as a value that does not fit.
        # It carries no error code, only its text.
        if "Type mismatch" in str(error):
            raise FetchedValueDoesNotFit(source=source, rows_before=rows_before, reason=first_line(error)) from error
        raise HomeDatabaseRefused(reason=first_line(error)) from error
