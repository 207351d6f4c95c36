"""PostgreSQL through ADBC: Arrow-native, and the fastest path measured here (see the README).

- ADBC's driver reads a parameterless query with `COPY ... TO STDOUT (FORMAT binary)` straight into
  Arrow. A query with bound parameters loses that fast path (1.5x slower, measured), so filter values
  are bound as parameters of `set_config()` in the same transaction and the query reads them back with
  `(SELECT CAST(current_setting('ingest.<name>') AS <column type>))`: still bound, never pasted, typed
  for the column they are compared with.
- Fetching runs on a background thread, so decoding overlaps the store's Parquet encoding.
- `numeric(p,s)` would arrive as text (ADBC's opaque type), and ADBC's numeric-to-text conversion
  was 40% of the client's decoding time measured. A column of up to 18 digits is read as the bigint
  `CAST(col * 10^s AS bigint)` instead (exact: the scaled value is a whole number) and relabelled
  `decimal128(p,s)` without arithmetic; wider ones still arrive as text, cast by the column's typmod.
- Parallel reads share one snapshot (`pg_export_snapshot`), as `pg_dump -j` does: the ranges read
  concurrently see exactly the rows a single read would.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from ingest_assets.connectors.database import refused_login_fix
from ingest_assets.connectors.postgres import PostgresResource
from ingest_assets.errors import (
    HomeDatabaseRefused,
    HomeDatabaseUnavailable,
    HomeDriverMissing,
    UnexpectedSnapshot,
    first_line,
)
from ingest_assets.homes import statistics
from ingest_assets.homes.base import ReadRequest
from ingest_assets.homes.explain import RowEstimate, SourceQuery
from ingest_assets.homes.read_query import build_read_query, range_groups, require_column, require_columns, split_range
from ingest_assets.homes.sql import SqlAlchemyHome
from ingest_assets.homes.streams import StreamOpener, as_reader, merged_batches
from ingest_assets.plan.model import ReadSpec
from ingest_assets.sql.statement import Rendered, Sql, Value
from ingest_assets.sql.text import quote_identifier
from ingest_assets.sql.window import Condition

if TYPE_CHECKING:
    from adbc_driver_manager.dbapi import Connection, Cursor, Error

_SNAPSHOT_ID = re.compile(r"^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$")
# SQLSTATE classes worth a retry: connection exceptions, too many connections / out of resources,
# operator intervention (a restart), serialization failures.
_TRANSIENT_SQLSTATES = ("08", "53", "57", "40001", "40P01")
_BIGINT_DIGITS = 18  # every numeric of up to 18 digits, times 10^scale, is a bigint
# ADBC's batches of about 4 MiB (its default 16 MiB): the read's queue and the row group being
# staged hold several, and the decoding costs the same (measured).
_BATCH_BYTES_OPTION = "adbc.postgresql.batch_size_hint_bytes"
_BATCH_BYTES = 4 << 20
# Batches waiting per stream: enough for the fetch thread to run ahead of the store by one.
_QUEUED_PER_STREAM = 2


def postgres_home(resource: PostgresResource) -> SqlAlchemyHome | PostgresHome:
    return SqlAlchemyHome(resource) if resource.engine_name == "sqlalchemy" else PostgresHome(resource)


class PostgresHome:
    """One entity's reads: its queries, one after another, share one connection (see `_session`)."""

    def __init__(self, resource: PostgresResource):
        self._resource = resource
        self._connection: Connection | None = None
        self._closer: weakref.finalize[[], PostgresHome] | None = None

    def _open(self) -> Connection:
        """A connection another load of the step left (if it still answers), else a new one."""
        idle = self._resource.idle_connections()
        while (waiting := idle.take()) is not None:
            if _succeeds(waiting, "SELECT 1"):  # it may have been dropped by a restart or a timeout
                return waiting
            waiting.close()
        try:
            from adbc_driver_manager import dbapi
            from adbc_driver_postgresql import dbapi as postgresql  # type: ignore[import-untyped]  # no py.typed
        except ImportError as error:
            raise HomeDriverMissing(database="PostgreSQL", extra="postgres") from error
        try:
            connection: Connection = postgresql.connect(self._resource.libpq_uri(), autocommit=True)
        except dbapi.Error as error:
            raise _home_error(error, connecting=True, resource=self._resource) from error
        return connection

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        """A connection of its own (a parallel read's other ranges), closed at the end."""
        connection = self._open()
        try:
            with _database_errors():
                yield connection
        finally:
            connection.close()

    @contextmanager
    def _session(self) -> Iterator[Connection]:
        """The connection the home's queries share: opened (or taken from the step's idle ones) by the
        first, kept for the next.

        An ADBC PostgreSQL connection costs 60-70 ms to open (its type catalog is read), and a load
        asks up to four questions (max, the statement, the estimate, the read): for a small table
        that was most of its time. The read gives it back to the resource for the step's next load
        when it ends cleanly; an error closes it, and so does dropping the home before its read (a
        failed load, a sensor's `max_value`).
        """
        if self._connection is None:
            self._connection = self._open()
            self._closer = weakref.finalize(self, self._connection.close)
        try:
            with _database_errors():
                yield self._connection
        except BaseException:
            self.close()
            raise

    def close(self, reusable: bool = False) -> None:
        """Let the shared connection go (the next query opens another): back to the resource's idle
        connections when `reusable` and its transaction ends cleanly, else closed."""
        connection, closer = self._connection, self._closer
        self._connection, self._closer = None, None
        if connection is None or closer is None:  # set together by `_session`
            return
        closer.detach()
        # Ends the read's read-only transaction; a connection that cannot is not reused.
        if reusable and _succeeds(connection, "ROLLBACK"):
            self._resource.idle_connections().give(connection)
        else:
            connection.close()

    def _end_read(self, error_type: type[BaseException] | None, error: BaseException | None,
                  traceback: object) -> bool:
        self.close(reusable=error_type is None)
        return False  # an error goes on

    # ---- Home protocol -------------------------------------------------------------------------

    @contextmanager
    def read(self, request: ReadRequest) -> Iterator[pa.RecordBatchReader]:
        spec = request.spec
        with ExitStack() as stack:
            stack.push(self._end_read)  # last: the read is the load's last question
            first = stack.enter_context(self._session())
            cursor = stack.enter_context(first.cursor())
            _begin(cursor)
            probe = _probe(cursor, spec)
            column_types, scaled = _type_names(probe), _scaled_decimals(probe)
            # A sample is one read that stops early: no key ranges.
            parallel = spec.parallel is not None and request.limit is None
            ranges = self._ranges(cursor, request, column_types) if parallel else []
            # Other connections join this one's snapshot, so every range sees the same rows.
            snapshot = _fetch_text(cursor, "SELECT pg_export_snapshot()") if len(ranges) > 1 else None
            groups = range_groups(ranges, self._resource.pool_size)
            openers = [self._opener(cursor if i == 0 else None, snapshot, request, group, column_types, scaled)
                       for i, group in enumerate(groups)]
            batches = merged_batches(openers, queue_size=_QUEUED_PER_STREAM * len(openers))
            # Closed before the connections: it stops and joins the threads that still use them.
            stack.callback(batches.close)
            yield as_reader(batches)

    def max_value(self, spec: ReadSpec, column: str) -> object | None:
        with self._session() as connection, connection.cursor() as cursor:
            column_types = _column_types(cursor, spec)
            require_column(spec, column_types, column)
            query = _query(spec, [], column_types, f"max({quote_identifier(column)})")
            return _fetch_value(cursor, query.text)

    # ---- ExplainsReads --------------------------------------------------------------------------

    def source_query(self, request: ReadRequest) -> SourceQuery:
        with self._session() as connection, connection.cursor() as cursor:
            probe = _probe(cursor, request.spec)
        column_types = _type_names(probe)
        query = _query(request.spec, request.conditions, column_types, limit=request.limit,
                       scaled=_scaled_decimals(probe))
        notes: tuple[str, ...] = ()
        if query.values:
            notes = ("values are bound with set_config('ingest.<name>', $n) in the read's transaction",)
        if request.spec.parallel is not None and request.limit is None:
            notes += (f"run once per key range of {request.spec.parallel.column} "
                      f"({request.spec.parallel.partitions} ranges), in one snapshot",)
        return SourceQuery("sql", query.text, query.parameters, notes)

    def estimate_rows(self, request: ReadRequest) -> RowEstimate:
        spec = request.spec
        with self._session() as connection, connection.cursor() as cursor:
            if spec.table is not None and not request.conditions:
                cursor.execute(statistics.POSTGRES_RELTUPLES.format(name="$1"),
                               parameters=[statistics.postgres_table_name(spec)])
                found = cursor.fetchone()
                if found is not None and found[0] is not None and found[0] >= 0:  # -1: never analyzed
                    return RowEstimate(int(found[0]), "pg_class.reltuples")
            column_types = _column_types(cursor, spec)
            # Values as typed parameters (not the read's settings), so the planner estimates with them.
            positions: dict[str, int] = {}

            def parameter(name: str, value: Value) -> str:
                positions[name] = len(positions) + 1
                return f"CAST(${positions[name]} AS {_type_of(value, column_types)})"

            query = build_read_query(spec, request.conditions, quote_identifier).render(parameter)
            # EXPLAIN cannot run inside the COPY that ADBC wraps a parameterless statement in.
            cursor.adbc_statement.set_options(**{"adbc.postgresql.use_copy": "false"})
            cursor.execute(f"EXPLAIN (FORMAT JSON) {query.text}",
                           parameters=[_setting_text(v) for v in query.parameters.values()] or None)
            plan = _one_row(cursor)[0]
        return RowEstimate(statistics.postgres_plan_rows(plan), "EXPLAIN (FORMAT JSON) plan rows")

    # ---- reading -------------------------------------------------------------------------------

    def _ranges(self, cursor: Cursor, request: ReadRequest, column_types: dict[str, str]) -> Sequence[Condition]:
        parallel = request.spec.parallel
        assert parallel is not None
        column = quote_identifier(parallel.column)
        query = _query(request.spec, request.conditions, column_types, f"min({column}), max({column})")
        _set_values(cursor, query)
        cursor.execute(query.text)
        low, high = _one_row(cursor)
        return [] if low is None else split_range(low, high, parallel.partitions, parallel.column)

    def _opener(self, cursor: Cursor | None, snapshot: str | None, request: ReadRequest,
                ranges: Sequence[Condition | None], column_types: dict[str, str],
                scaled: dict[str, pa.Decimal128Type]) -> StreamOpener:
        """Streams `ranges` on the given cursor (the first one's), or on a new connection in the snapshot."""

        @contextmanager
        def open_stream() -> Iterator[Iterator[pa.RecordBatch]]:
            with ExitStack() as stack:
                if cursor is not None:
                    own = cursor
                else:
                    own = stack.enter_context(stack.enter_context(self._connect()).cursor())
                    _begin(own, snapshot)
                yield _range_batches(own, request, ranges, column_types, scaled)

        return open_stream


def _range_batches(cursor: Cursor, request: ReadRequest, ranges: Sequence[Condition | None],
                   column_types: dict[str, str], scaled: dict[str, pa.Decimal128Type]) -> Iterator[pa.RecordBatch]:
    for key_range in ranges:
        conditions = request.conditions + ([key_range] if key_range is not None else [])
        query = _query(request.spec, conditions, column_types, limit=request.limit, scaled=scaled)
        _set_values(cursor, query)
        cursor.adbc_statement.set_options(**{_BATCH_BYTES_OPTION: str(_BATCH_BYTES)})
        cursor.execute(query.text)
        reader = cursor.fetch_record_batch()
        exact = _exact_schema(reader.schema, scaled)
        yielded = False
        for batch in reader:
            yielded = True
            yield _exact_batch(batch, exact)
        if not yielded:  # no rows, but the columns still tell the schema
            yield pa.RecordBatch.from_arrays([pa.array([], type=f.type) for f in exact], schema=exact)


def _begin(cursor: Cursor, snapshot: str | None = None) -> None:
    # One snapshot for the whole read (and, through pg_export_snapshot, for every parallel range).
    cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    if snapshot is not None:
        if not _SNAPSHOT_ID.match(snapshot):
            raise UnexpectedSnapshot(snapshot=snapshot)
        cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")


def _column_types(cursor: Cursor, spec: ReadSpec) -> dict[str, str]:
    return _type_names(_probe(cursor, spec))


def _probe(cursor: Cursor, spec: ReadSpec) -> pa.Schema:
    """The result schema of the read with no rows (ADBC's field metadata names each PostgreSQL type)."""
    probe = Sql.of("SELECT * FROM (", build_read_query(spec, [], quote_identifier), ") AS ingest_probe LIMIT 0")
    cursor.execute(probe.literal_text())
    schema = cursor.fetch_arrow_table().schema
    require_columns(spec, schema.names, spec.columns)
    return schema


def _type_names(schema: pa.Schema) -> dict[str, str]:
    """Column name -> PostgreSQL type name."""
    return {field.name: (field.metadata or {}).get(b"POSTGRESQL:type", b"text").decode() for field in schema}


def _numeric_type(field: pa.Field[pa.DataType]) -> pa.DataType | None:
    """The exact Arrow type of a numeric column (None for other columns): decimal for numeric(p,s),
    text for an unconstrained numeric (declare numeric(p,s) for decimals)."""
    metadata = field.metadata or {}
    if metadata.get(b"POSTGRESQL:type") != b"numeric":
        return None
    typmod = int(metadata.get(b"POSTGRESQL:typmod", b"-1"))
    if typmod < 4:
        return pa.string()
    precision, scale = (typmod - 4) >> 16, (typmod - 4) & 0xFFFF
    return pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)


def _scaled_decimals(schema: pa.Schema) -> dict[str, pa.Decimal128Type]:
    """The numeric(p,s) columns read as scaled bigints (p <= 18 fits one), by name.

    None when the read's column names repeat: the select list names each column.
    """
    if len(set(schema.names)) != len(schema.names):
        return {}
    scaled = {}
    for field in schema:
        exact = _numeric_type(field)
        if isinstance(exact, pa.Decimal128Type) and exact.precision <= _BIGINT_DIGITS:
            scaled[field.name] = exact
    return scaled


def _type_of(value: Value, column_types: dict[str, str]) -> str:
    """The quoted type of the column a value is compared with (text when unknown)."""
    return quote_identifier(column_types.get(value.column or "", "text"))


def _query(spec: ReadSpec, conditions: Sequence[Condition], column_types: dict[str, str],
           select: str | None = None, limit: int | None = None,
           scaled: dict[str, pa.Decimal128Type] | None = None) -> Rendered:
    def read_setting(name: str, value: Value) -> str:
        # A scalar subquery is evaluated once per query (an InitPlan), and an index on the column
        # still applies; a bare current_setting() call would run for every row.
        return f"(SELECT CAST(current_setting('ingest.{name}') AS {_type_of(value, column_types)}))"

    if select is None and scaled:
        select = _scaled_select(column_types, scaled)
    query = build_read_query(spec, conditions, quote_identifier, select)
    if limit is not None:
        # An integer (validated positive), not a value of the data: a literal keeps the COPY fast path.
        query = Sql.of("SELECT * FROM (", query, f") AS ingest_sample LIMIT {int(limit)}")
    return query.render(read_setting)


def _scaled_select(column_types: dict[str, str], scaled: dict[str, pa.Decimal128Type]) -> str:
    """The read's columns in order, each scaled numeric as its bigint (named as the column)."""
    columns = []
    for name in column_types:
        column = quote_identifier(name)
        if name in scaled:
            factor = f" * 1{'0' * scaled[name].scale}" if scaled[name].scale else ""
            column = f"CAST({column}{factor} AS bigint) AS {column}"
        columns.append(column)
    return ", ".join(columns)


def _set_values(cursor: Cursor, query: Rendered) -> None:
    """Bind the query's values as transaction-local settings (read back by `current_setting`)."""
    if not query.values:
        return
    calls = ", ".join(f"set_config('ingest.{name}', ${i}, true)" for i, name in enumerate(query.values, 1))
    cursor.execute(f"SELECT {calls}", parameters=[_setting_text(v) for v in query.parameters.values()])
    cursor.fetchall()


def _setting_text(value: object) -> str:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fetch_value(cursor: Cursor, sql: str) -> object:
    cursor.execute(sql)
    return _one_row(cursor)[0]


def _fetch_text(cursor: Cursor, sql: str) -> str:
    value = _fetch_value(cursor, sql)
    assert isinstance(value, str), f"{sql} returns text"
    return value


def _one_row(cursor: Cursor) -> tuple[Any, ...]:
    """The row of a statement that returns exactly one (an aggregate, a function call, EXPLAIN)."""
    row = cursor.fetchone()
    assert row is not None, "the statement returns one row"
    return row


def _exact_schema(schema: pa.Schema, scaled: dict[str, pa.Decimal128Type]) -> pa.Schema:
    """The schema with ADBC's opaque and JSON columns made plain: numeric(p,s) as decimal, JSON as text."""
    fields = []
    for field in schema:
        target = scaled.get(field.name) or _numeric_type(field) or field.type
        if isinstance(target, pa.ExtensionType) and not isinstance(target, pa.UuidType):
            target = target.storage_type
        fields.append(pa.field(field.name, target, field.nullable))
    return pa.schema(fields)


def _exact_batch(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    if batch.schema.remove_metadata().equals(schema):
        return batch
    columns = []
    for column, field in zip(batch.columns, schema, strict=True):
        if column.type == field.type:
            columns.append(column)
            continue
        storage = column.storage if isinstance(column, pa.ExtensionArray) else column
        if storage.type == field.type:
            columns.append(storage)
        elif pa.types.is_int64(storage.type) and pa.types.is_decimal128(field.type):
            columns.append(_unscaled_decimal(storage, field.type))
        else:
            columns.append(pc.cast(storage, field.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _unscaled_decimal(unscaled: pa.Array[Any], decimal: pa.DataType) -> pa.Array[Any]:
    """A scaled numeric's bigints as the decimals they count (value * 10^-scale): widened to 128 bits
    as whole numbers, then the same bytes labelled with the column's precision and scale."""
    wide = pc.cast(unscaled, pa.decimal128(_BIGINT_DIGITS + 1, 0))
    return pa.Array.from_buffers(decimal, len(wide), wide.buffers(), null_count=wide.null_count, offset=wide.offset)


def _home_error(error: Error, connecting: bool,
                resource: PostgresResource | None = None) -> HomeDatabaseUnavailable | HomeDatabaseRefused:
    """Classified by where it happened and by SQLSTATE: failing to connect may pass (the server
    restarts), unless it is a refused login or database (classes 28, 3D), which no retry cures. ADBC
    1.13 reports no SQLSTATE for a failed connection: `refused_login_fix` reads libpq's message then."""
    sqlstate = getattr(error, "sqlstate", None) or ""
    fix = refused_login_fix(error, resource)
    if fix is not None:
        return HomeDatabaseRefused(reason=first_line(error), sqlstate=sqlstate or None, fix=fix)
    if connecting or sqlstate.startswith(_TRANSIENT_SQLSTATES):
        return HomeDatabaseUnavailable(reason=first_line(error), sqlstate=sqlstate or None)
    return HomeDatabaseRefused(reason=first_line(error), sqlstate=sqlstate or None)


@contextmanager
def _database_errors() -> Iterator[None]:
    """A driver error raised while using a connection, as the home's error."""
    from adbc_driver_manager import dbapi

    try:
        yield
    except dbapi.Error as error:
        raise _home_error(error, connecting=False) from error


def _succeeds(connection: Connection, statement: str) -> bool:
    """Whether `statement` runs on `connection` (an idle one checked, a read's transaction ended)."""
    from adbc_driver_manager import dbapi

    try:
        with connection.cursor() as cursor:
            cursor.execute(statement)
    except dbapi.Error:
        return False
    return True
