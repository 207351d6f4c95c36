"""MySQL / MariaDB through connectorx: typed tables streamed as Arrow record batches, ~10x faster than
PyMySQL's rows (measured, benchmarks/mysql_read.py).

Only the streaming of rows differs from `SqlAlchemyHome`: the columns' reflected types, the statement,
key ranges, `max_value`, `source_query` and `estimate_rows` are its own (inherited), and the batches
have exactly its schema and values.

- connectorx cannot bind parameters. PyMySQL does not bind either: it writes each value into the
  statement's text (`escape_item`). The values are written here as PyMySQL writes them, except that
  text is a hex literal (`_utf8mb4 X'6f27...'`, `_binary X'...'` for bytes), so no character of a
  value reaches the SQL but hex digits, and no escaping depends on the server's `sql_mode` (a backslash
  is an escape character unless NO_BACKSLASH_ESCAPES). A literal of text is coercible, as PyMySQL's
  quoted one is: the column's collation decides the comparison; against a DATETIME column it is a
  datetime. Numbers are PyMySQL's literals (`12.50`, never `1.25E+1`, which MySQL reads as a double).
- The batches (`return_type="arrow_stream"`, `batch_size` rows, memory flat in table size) are cast
  in Arrow to the type the SQLAlchemy path gives each column: INT (int32) to int64, DECIMAL (connectorx
  widens it to decimal(38,10)) back to its own precision and scale, BLOB (large_binary) to binary.
- connectorx's reader does not end its query when dropped: a read stopped early (a failure elsewhere,
  the consumer closing) kills its own query (`KILL QUERY`, found by a token in its comment), which ends
  connectorx's connection too.
- What connectorx does not read exactly goes through `SqlAlchemyHome` for the whole read: a query
  (typed by its data on the SQLAlchemy path), a column of a type `_reads_exactly` does not list (FLOAT,
  read as float32; DECIMAL with more than 10 decimals; TIME; BIGINT UNSIGNED; SET; YEAR; BIT; JSON on
  MySQL), a value of a kind not written here, a unix-socket address, and `engine: sqlalchemy`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from ingest_assets.connectors.mysql import MysqlResource
from ingest_assets.errors import (
    BatchValueDoesNotFit,
    FetchedValueDoesNotFit,
    HomeDatabaseRefused,
    HomeDatabaseUnavailable,
)
from ingest_assets.homes.base import ReadRequest
from ingest_assets.homes.read_query import build_read_query
from ingest_assets.homes.sql import ArrowTypes, ColumnTypes, SqlAlchemyHome
from ingest_assets.homes.streams import StreamOpener, empty_batch
from ingest_assets.sql.statement import Sql
from ingest_assets.sql.text import dialect_quote
from ingest_assets.sql.window import Condition

# connectorx reads every DECIMAL as decimal(38, 10): exact for at most 10 decimals and 28 whole digits.
_CONNECTORX_SCALE, _CONNECTORX_WHOLE_DIGITS = 10, 28
# The comment that names a read's statement in the server's process list (see `_kill`).
_TOKEN = "ingest_assets read {}"


def mysql_home(resource: MysqlResource) -> SqlAlchemyHome:
    # The driver is an optional dependency (the `mysql` extra); an install without it still reads, on
    # the universal path.
    if resource.engine_name == "sqlalchemy" or not _connectorx_installed():
        return SqlAlchemyHome(resource)
    return MysqlHome(resource)


def _connectorx_installed() -> bool:
    try:
        import connectorx  # noqa: F401
    except ImportError:
        return False
    return True


def _reads_exactly(column_type: sa.types.TypeEngine[Any], arrow: pa.DataType) -> bool:
    """Whether connectorx reads the column with exactly the SQLAlchemy path's values (after a cast)."""
    if isinstance(column_type, sa.Integer):
        # BIGINT UNSIGNED is uint64, which int64 (the SQLAlchemy path's type) cannot always hold.
        return not (isinstance(column_type, mysql.BIGINT) and column_type.unsigned)
    if isinstance(column_type, sa.Float):
        # FLOAT is read as float32 (0.1 widens to 0.10000000149); PyMySQL parses the server's text.
        return isinstance(column_type, sa.Double)
    if isinstance(column_type, sa.Numeric):
        return (pa.types.is_decimal128(arrow) and arrow.scale <= _CONNECTORX_SCALE
                and arrow.precision - arrow.scale <= _CONNECTORX_WHOLE_DIGITS)
    if isinstance(column_type, sa.String):
        return not isinstance(column_type, mysql.SET)  # PyMySQL returns a SET as a Python set
    if isinstance(column_type, (sa.DateTime, sa.Date)):
        return not getattr(column_type, "timezone", False)
    return isinstance(column_type, (sa.LargeBinary, sa.BINARY, sa.VARBINARY))


def _fast_schema(names: Sequence[str], types: ColumnTypes, declared: ArrowTypes) -> pa.Schema | None:
    """The read's schema when connectorx reads every column exactly; else None."""
    fields = []
    for name in names:
        arrow = declared.get(name)
        if arrow is None or not _reads_exactly(types[name], arrow):
            return None
        fields.append(pa.field(name, arrow))
    return pa.schema(fields)


def _text(text: str) -> str:
    return "_utf8mb4 X'" + text.encode("utf-8").hex() + "'"


def _literal(value: object) -> str | None:
    """The value as PyMySQL writes it into a statement, text as a hex literal; None: not written here."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else None
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        written = repr(value)
        return written if "e" in written else written + "e0"  # a double, as PyMySQL writes it
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, datetime):
        fraction = f".{value.microsecond:06}" if value.microsecond else ""
        return _text(f"{value:%Y-%m-%d %H:%M:%S}{fraction}")
    if isinstance(value, date):
        return _text(f"{value:%Y-%m-%d}")
    if isinstance(value, bytes):
        return "_binary X'" + value.hex() + "'"
    return None


class MysqlHome(SqlAlchemyHome):
    def __init__(self, resource: MysqlResource):
        super().__init__(resource)
        self._url = resource.connectorx_url()

    def _opener(self, request: ReadRequest, ranges: Sequence[Condition | None], types: ColumnTypes,
                declared: ArrowTypes) -> StreamOpener:
        names = request.spec.columns or tuple(types)
        schema = _fast_schema(names, types, declared) if request.spec.table is not None else None
        statements = [self._statement(request, request.conditions + ([key_range] if key_range is not None else []),
                                      types) for key_range in ranges]
        ready = [statement for statement in statements if statement is not None]
        if schema is None or self._url is None or len(ready) < len(statements):
            return super()._opener(request, ranges, types, declared)
        url = self._url

        @contextmanager
        def open_stream() -> Iterator[Iterator[pa.RecordBatch]]:
            yield self._stream_connectorx(url, request, ready, schema)

        return open_stream

    def _statement(self, request: ReadRequest, conditions: Sequence[Condition], types: ColumnTypes) -> str | None:
        """The SQLAlchemy path's statement, each value written in; None when a value cannot be."""
        read = build_read_query(request.spec, conditions, dialect_quote(self.engine.dialect))
        if request.limit is not None:
            # An integer (validated positive), not a value of the data.
            read = Sql.of("SELECT * FROM (", read, f") AS ingest_sample LIMIT {int(request.limit)}")
        text: list[str] = []
        for piece in read.pieces:
            written = piece if isinstance(piece, str) else _literal(self._bound(piece, types))
            if written is None:
                return None
            text.append(written)
        return "".join(text)

    def _stream_connectorx(self, url: str, request: ReadRequest, statements: Sequence[str], schema: pa.Schema
                           ) -> Iterator[pa.RecordBatch]:
        import connectorx

        spec, seen = request.spec, 0
        for statement in statements:
            token = _TOKEN.format(uuid.uuid4().hex)
            try:
                reader: pa.RecordBatchReader = connectorx.read_sql(
                    url, f"/* {token} */ {statement}", return_type="arrow_stream", batch_size=spec.batch_size)
            except RuntimeError as error:
                # The server answered SQLAlchemy a moment ago: what fails here is the statement.
                raise HomeDatabaseRefused(reason=_message(error)) from error
            finished = False
            try:
                empty = True
                while (batch := _next_batch(reader, spec.describe(), seen)) is not None:
                    empty = False
                    yield _declared(batch, schema)
                    seen += batch.num_rows
                if empty:
                    yield empty_batch(schema)
                finished = True
            finally:
                if not finished:
                    self._kill(token)
                reader.close()

    def _kill(self, token: str) -> None:
        """Ends the statement named by `token` (the read stopped before its end; its own account may
        always kill it)."""
        with self._connect() as connection:
            ids = connection.execute(
                sa.text("SELECT id FROM information_schema.processlist WHERE info LIKE :pattern "
                        "AND id <> CONNECTION_ID()"), {"pattern": f"%{token}%"}).scalars().all()
            for thread in ids:
                connection.execute(sa.text(f"KILL QUERY {int(thread)}"))


def _next_batch(reader: pa.RecordBatchReader, source: str, rows_before: int) -> pa.RecordBatch | None:
    try:
        return reader.read_next_batch()
    except StopIteration:
        return None
    except Exception as error:  # the connection lost mid-read (pyarrow wraps connectorx's error)
        raise HomeDatabaseUnavailable(reason=_message(error)) from error
    except BaseException as error:
        # connectorx panics (pyo3's PanicException, a BaseException) on a value it cannot convert,
        # e.g. a zero date; the SQLAlchemy path fails on it too, as a value that does not fit.
        if isinstance(error, (GeneratorExit, KeyboardInterrupt, SystemExit)):
            raise
        raise FetchedValueDoesNotFit(source=source, rows_before=rows_before, reason=_message(error)) from error


def _message(error: BaseException) -> str:
    return " ".join(str(error).split())


def _declared(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    columns = []
    for column, field in zip(batch.columns, schema, strict=True):
        try:
            columns.append(column if column.type == field.type else pc.cast(column, field.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise BatchValueDoesNotFit(schema=schema, reason=str(error)) from error
    return pa.RecordBatch.from_arrays(columns, schema=schema)

