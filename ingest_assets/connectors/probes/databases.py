"""Databases reached through SQLAlchemy: log in, read each home table, create and drop a probe table.

Failures are told apart by the driver's codes (SQLSTATE, MySQL error numbers), never by message text;
where a driver gives no code (libpq reports a refused login and an unreachable server alike), the fix
lists what to check. Messages quote the driver's first line, which names no password.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ingest_assets.errors import first_line
from ingest_assets.connectors.probes.base import CheckLine, ConnectionUse, fail, note, ok, probe_name

if TYPE_CHECKING:
    import sqlalchemy as sa

    from ingest_assets.connectors.database_resources import DatabaseResource

_LOGIN_FIX = "check 'user:' and the environment variable behind 'password:' (or the credential settings)"
_DATABASE_FIX = "check 'database:', or create the database"
_REACH_FIX = ("check 'host:' and 'port:' (or 'url:'), that the server runs and accepts connections from here, "
              "then the database, user and password")
# SQLSTATE classes (pyodbc, psycopg once connected) and MySQL error numbers, each with its fix.
_SQLSTATE_FIXES = {"28": _LOGIN_FIX, "3D": _DATABASE_FIX, "08": _REACH_FIX}
_MYSQL_FIXES = {1045: _LOGIN_FIX, 1049: _DATABASE_FIX, 2002: _REACH_FIX, 2003: _REACH_FIX, 2005: _REACH_FIX}


def check_database(resource: "DatabaseResource", use: ConnectionUse) -> Iterator[CheckLine]:
    import sqlalchemy as sa

    engine = resource.engine()
    try:
        try:
            connection = engine.connect()
        except sa.exc.DBAPIError as error:
            yield fail(f"cannot connect: {first_line(error.orig)} -> {_connect_fix(error.orig)}")
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


def _connect_fix(error: BaseException) -> str:
    from ingest_assets.stores.sql.errors import sqlstate

    state = sqlstate(error) or ""
    for prefix, fix in _SQLSTATE_FIXES.items():
        if state.startswith(prefix):
            return fix
    args = getattr(error, "args", ())
    if args and isinstance(args[0], int) and args[0] in _MYSQL_FIXES:
        return _MYSQL_FIXES[args[0]]
    return _REACH_FIX


def _check_read(connection: "sa.Connection", table: str | None, query: str | None) -> CheckLine:
    import sqlalchemy as sa

    if table is None:
        return note(f"query not run by the check (it runs with the asset): {' '.join((query or '').split())[:60]}")
    schema, _, name = table.rpartition(".")
    statement = sa.select(sa.literal_column("*")).select_from(sa.table(name, schema=schema or None)).limit(0)
    try:
        with connection.begin():
            connection.execute(statement)
    except sa.exc.DBAPIError as error:
        return fail(f"cannot read table {table}: {first_line(error.orig)} -> check the entity's home.table, "
                    "and that the user may SELECT from it")
    return ok(f"can read table {table}")


def _check_create_table(connection: "sa.Connection") -> CheckLine:
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
