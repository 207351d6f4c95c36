"""What the SQL database types share (sqlite, sqlalchemy, postgres, mssql, mysql): the pool size
setting, the SQLAlchemy resource base, their capabilities, and their check.

The check logs in, reads each home table, and creates and drops a probe table. Failures are told
apart by the driver's codes (SQLSTATE, MySQL error numbers), never by message text, but for the one
place a driver gives no code: libpq's failed connection, whose server message stands in for its
SQLSTATE (`_LIBPQ_REFUSALS`). Messages quote the driver's first line, which names no password.
SQLAlchemy and the drivers are imported only inside the methods, during a run or a check.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, cast
from urllib.parse import unquote_plus

from pydantic import AliasChoices, Field, PositiveInt

from ingest_assets.connectors.connector_type import ConnectorType, ReadKindName
from ingest_assets.connectors.probe import CheckLine, ConnectionUse, fail, note, ok, probe_name
from ingest_assets.connectors.resource import ConnectionResource
from ingest_assets.connectors.settings import ConnectionSettings, require_reference
from ingest_assets.errors import first_line

if TYPE_CHECKING:
    import sqlalchemy

SQLALCHEMY_HOME = "ingest_assets.homes.sql:SqlAlchemyHome"
_SQL_STORE = "ingest_assets.stores.sql.store:SqlStore"
_SQL_READS: frozenset[ReadKindName] = frozenset({"table", "query"})


def sql_database(name: str, resource: type[DatabaseResource], model: type[ConnectionSettings],
                 home: str = SQLALCHEMY_HOME, dagster_kind: str | None = None) -> ConnectorType:
    """A SQL database type: a home of tables and queries read in parallel key ranges, a store of tables."""
    return ConnectorType(name, resource.from_settings, home, _SQL_STORE, _SQL_READS, "table", parallel_reads=True,
                         reads_back=True, model=model, dagster_kind=dagster_kind)


# ---- settings --------------------------------------------------------------------------------------

_URL_PASSWORD = re.compile(r"^[A-Za-z0-9+.-]+://[^:/@]*:(?P<password>[^@]*)@")
# A password inside an ODBC connection string (a SQL Server `url`, or SQLAlchemy's `odbc_connect=`).
_ODBC_PASSWORD = re.compile(r"(?:^|;)\s*(?:PWD|Password)\s*=\s*(?P<password>\{(?:[^}]|\}\})*\}|[^;]*)", re.IGNORECASE)


def _url_passwords(url: str) -> list[str]:
    """Passwords written in a URL or an ODBC connection string (URL-encoded inside `odbc_connect=`)."""
    match = _URL_PASSWORD.match(url)
    found = [match.group("password")] if match else []
    odbc_text = unquote_plus(url).replace("?", ";").replace("&", ";")
    return found + [m.group("password") for m in _ODBC_PASSWORD.finditer(odbc_text)]


def require_url_references(url: str | None) -> None:
    """A password inside a `url` must be a `${VAR}` reference too."""
    for password in _url_passwords(url or ""):
        require_reference("the password in 'url'", password)


class DatabaseSettings(ConnectionSettings):
    # The most connections ingest opens to this database at once: a Dagster concurrency pool of this
    # size (named like the connection), so 200 entities on one database queue for it while entities
    # on other databases keep running.
    pool_size: PositiveInt | None = Field(default=None, validation_alias=AliasChoices("pool_size", "max_connections"))


# ---- resource --------------------------------------------------------------------------------------


class DatabaseResource(ConnectionResource):
    pool_size: int | None = Field(
        default=None, description="The most connections to open at once (also a Dagster concurrency pool)."
    )

    def sqlalchemy_url(self) -> sqlalchemy.URL | str:
        raise NotImplementedError

    def connect_args(self) -> dict[str, object]:
        """Keyword arguments for the driver's connect()."""
        return {}

    def engine(self) -> sqlalchemy.Engine:
        import sqlalchemy

        # NullPool: a connection is closed when returned, so the count the server sees is exactly
        # the count in use (the pool limit is Dagster's, not SQLAlchemy's).
        engine = sqlalchemy.create_engine(self.sqlalchemy_url(), poolclass=sqlalchemy.NullPool,
                                          connect_args=self.connect_args())
        if _cuts_datetime_fractions(engine.dialect):
            sqlalchemy.event.listen(engine, "before_cursor_execute", _datetimes_as_text, retval=True)
        return engine

    def bulk_engine(self) -> sqlalchemy.Engine:
        """An engine for the stores' bulk inserts (executemany of many rows)."""
        return self.engine()

    def check_connection(self, use: ConnectionUse) -> Iterator[CheckLine]:
        return check_database(self, use)

    def login_fix(self) -> str:
        """What to check when the database refuses this connection's login (never the secret itself)."""
        return LOGIN_FIX


def _cuts_datetime_fractions(dialect: sqlalchemy.Dialect) -> bool:
    """pyodbc cuts a datetime parameter's fraction to the precision the ODBC driver reports for
    timestamps; MySQL's and MariaDB's drivers report none, so 08:00:00.5 is sent as 08:00:00 and an
    incremental window `cursor < updated_at <= max` leaves the newest row out and reads rows at the
    cursor again."""
    return dialect.driver == "pyodbc" and dialect.name in ("mysql", "mariadb")


def _datetimes_as_text(connection: object, cursor: object, statement: str,
                       parameters: Sequence[Sequence[object]] | Sequence[object], context: object,
                       executemany: bool) -> tuple[str, Sequence[object]]:
    """Send datetimes as ISO text, which the server converts back with every microsecond."""

    def exact(value: object) -> object:
        return value.isoformat(sep=" ", timespec="microseconds") if isinstance(value, datetime) else value

    if executemany:
        rows = cast("Sequence[Sequence[object]]", parameters)  # executemany: one sequence per row
        return statement, [tuple(map(exact, row)) for row in rows]
    return statement, tuple(map(exact, parameters))


# ---- check -----------------------------------------------------------------------------------------

LOGIN_FIX = "check 'user:' and the environment variable behind 'password:' (or the credential settings)"
_DATABASE_FIX = "check 'database:', or create the database"
_REACH_FIX = ("check 'host:' and 'port:' (or 'url:'), that the server runs and accepts connections from here, "
              "then the database, user and password")
# SQLSTATE classes (pyodbc, psycopg once connected) and MySQL error numbers, each with its fix.
_SQLSTATE_FIXES = {"28": LOGIN_FIX, "3D": _DATABASE_FIX, "08": _REACH_FIX}
_MYSQL_FIXES = {1045: LOGIN_FIX, 1049: _DATABASE_FIX, 2002: _REACH_FIX, 2003: _REACH_FIX, 2005: _REACH_FIX}
# Of those, the ones no retry can help: a refused login, an unknown database.
REFUSED_LOGIN_SQLSTATES = ("28", "3D")
_REFUSED_LOGIN_MYSQL_ERRORS = (1045, 1049)
_LOGIN_SQLSTATE, _LOGIN_MYSQL_ERROR = "28", 1045
# libpq reports a failed connection without the server's SQLSTATE (psycopg and ADBC alike: the server's
# refusal during the startup arrives as text), so there, and only there, the server's message stands in
# for its code: a failed authentication or an unknown role (class 28, what libpq says when no password
# is given too), an unknown database (3D). A server answering in another language (its lc_messages) is
# not recognised: its refusal is retried as any failure to connect, then fails.
_LIBPQ_REFUSALS = (
    (re.compile(r'authentication failed for user "|role "[^"]*" does not exist|no password supplied'), "28"),
    (re.compile(r'database "[^"]*" does not exist'), "3D"),
)


def check_database(resource: DatabaseResource, use: ConnectionUse) -> Iterator[CheckLine]:
    import sqlalchemy as sa

    engine = resource.engine()
    try:
        try:
            connection = engine.connect()
        except sa.exc.DBAPIError as error:
            yield fail(f"cannot connect: {first_line(error.orig)} -> {_connect_fix(error.orig, resource)}")
            return
        with connection:
            version = ".".join(map(str, connection.dialect.server_version_info or ())) or "version unknown"
            yield ok(f"connected ({connection.dialect.name} {version})")
            for spec in use.reads:
                yield _check_read(connection, spec.table, spec.query)
            if use.writes:
                yield _check_create_table(connection)
    finally:
        engine.dispose()


def sqlstate(error: object) -> str | None:
    """The driver error's SQLSTATE, where the driver reports one."""
    state: str | None = getattr(error, "sqlstate", None)  # psycopg, ADBC: a str
    if state:
        return state
    args: tuple[object, ...] = getattr(error, "args", ())
    if args and isinstance(args[0], str) and len(args[0]) == 5:  # pyodbc: (sqlstate, message)
        return args[0]
    return None


def _mysql_error(error: object) -> int | None:
    args: tuple[object, ...] = getattr(error, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _connection_sqlstate(error: object) -> str:
    """The driver error's SQLSTATE; for a failed libpq connection, which reports none, the class its
    message stands for (`_LIBPQ_REFUSALS`); else ''."""
    state = sqlstate(error)
    if state is not None or _mysql_error(error) is not None:
        return state or ""
    text = str(error)
    return next((state_class for pattern, state_class in _LIBPQ_REFUSALS if pattern.search(text)), "")


def refused_login_fix(error: BaseException | None, resource: DatabaseResource | None = None) -> str | None:
    """The fix when the driver error is a refused login or unknown database (which no retry can
    help), else None; a refused login's fix names `resource`'s settings where it is given."""
    if error is None:
        return None
    state, mysql_error = _connection_sqlstate(error), _mysql_error(error)
    if resource is not None and (state.startswith(_LOGIN_SQLSTATE) or mysql_error == _LOGIN_MYSQL_ERROR):
        return resource.login_fix()
    if state.startswith(REFUSED_LOGIN_SQLSTATES):
        return _SQLSTATE_FIXES[state[:2]]
    if mysql_error is not None and mysql_error in _REFUSED_LOGIN_MYSQL_ERRORS:
        return _MYSQL_FIXES[mysql_error]
    return None


def _connect_fix(error: BaseException | None, resource: DatabaseResource) -> str:
    refused = refused_login_fix(error, resource)
    if refused is not None:
        return refused
    state, mysql_error = _connection_sqlstate(error), _mysql_error(error)
    for prefix, fix in _SQLSTATE_FIXES.items():
        if state.startswith(prefix):
            return fix
    if mysql_error is not None and mysql_error in _MYSQL_FIXES:
        return _MYSQL_FIXES[mysql_error]
    return _REACH_FIX


def _check_read(connection: sqlalchemy.Connection, table: str | None, query: str | None) -> CheckLine:
    import sqlalchemy as sa

    if table is None:
        return note(f"query not run by the check (it runs with the asset): {' '.join((query or '').split())[:60]}")
    schema, _, name = table.rpartition(".")
    statement: sa.Select[tuple[object]] = (
        sa.select(sa.literal_column("*")).select_from(sa.table(name, schema=schema or None)).limit(0)
    )
    try:
        with connection.begin():
            connection.execute(statement)
    except sa.exc.DBAPIError as error:
        return fail(f"cannot read table {table}: {first_line(error.orig)} -> check the entity's home.table, "
                    "and that the user may SELECT from it")
    return ok(f"can read table {table}")


def _check_create_table(connection: sqlalchemy.Connection) -> CheckLine:
    """Create and drop a uniquely named table, in a transaction rolled back where DDL allows it."""
    import sqlalchemy as sa

    probe = sa.Table(probe_name(), sa.MetaData(), sa.Column("probe", sa.Integer))
    try:
        with connection.begin() as transaction:
            probe.create(connection)
            probe.drop(connection)
            transaction.rollback()
    except sa.exc.DBAPIError as error:
        return fail(f"cannot create a table: {first_line(error.orig)} -> grant the user the right to create "
                    "tables (and schemas, one per flow) in this database")
    return ok("can create tables (created and dropped a probe table)")
