"""A database error during a commit as a transient or terminal one, by class and code, never by text.

Transient (a retry can succeed): the connection was lost, a serialization failure, a deadlock, a lock
that timed out, the server out of connections or shutting down. Codes: SQLSTATE where the driver
reports one (psycopg, ADBC, pyodbc), MySQL's error numbers, SQLite's result codes. A refused login or
unknown database is terminal, told apart as the homes tell it (`connectors.database.refused_login_fix`,
which reads libpq's failed connection, the one error without a code).
"""

from __future__ import annotations

import sqlalchemy as sa

from ingest_assets.connectors.database import refused_login_fix, sqlstate
from ingest_assets.errors import StoreDatabaseRefused, StoreDatabaseUnavailable, first_line

_TRANSIENT_SQLSTATES = (
    "08",  # connection exceptions
    "40001", "40P01",  # serialization failure, deadlock (SQL Server reports its deadlock 1205 as 40001)
    "53",  # insufficient resources (too many connections, out of memory or disk)
    "55P03",  # lock not available (PostgreSQL lock_timeout)
    "57P",  # operator intervention: shutdown, crash recovery
    "HYT00", "HYT01",  # ODBC timeouts (SQL Server lock or query timeout)
)
# Lock wait timeout, deadlock, too many connections, and the client's lost-connection errors.
_TRANSIENT_MYSQL_ERRORS = frozenset({1205, 1213, 1040, 2002, 2003, 2006, 2013})
_TRANSIENT_SQLITE_CODES = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED (primary codes)


def is_transient(error: BaseException) -> bool:
    if isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated:
        return True
    driver_error = error.orig if isinstance(error, sa.exc.DBAPIError) else error
    state = sqlstate(driver_error)
    if state is not None:
        return state.startswith(_TRANSIENT_SQLSTATES)
    code = getattr(driver_error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _TRANSIENT_SQLITE_CODES
    args: tuple[object, ...] = getattr(driver_error, "args", ())
    return bool(args) and isinstance(args[0], int) and args[0] in _TRANSIENT_MYSQL_ERRORS


def _fix(error: BaseException) -> str:
    state = sqlstate(error.orig if isinstance(error, sa.exc.DBAPIError) else error) or ""
    if isinstance(error, sa.exc.IntegrityError) or state.startswith("23"):
        return ("a row breaks a constraint of the table (a duplicate key, a NULL in a NOT NULL column) -> "
                "fix those rows at the source, or the table's constraints")
    if isinstance(error, sa.exc.DataError) or state.startswith("22"):
        return "a value does not fit its column (too long, out of range) -> widen the column or cast the value in the entity's query"
    return "check the table and the connection's privileges, then run again"


def database_error(error: BaseException, what: str) -> StoreDatabaseUnavailable | StoreDatabaseRefused:
    driver_error = error.orig if isinstance(error, sa.exc.DBAPIError) else error
    login_fix = refused_login_fix(driver_error)
    if login_fix is not None:  # a refused login or unknown database: no retry cures it
        return StoreDatabaseRefused(what=what, reason=first_line(driver_error), fix=login_fix,
                                    sqlstate=sqlstate(driver_error))
    if is_transient(error):
        return StoreDatabaseUnavailable(what=what, reason=first_line(driver_error), sqlstate=sqlstate(driver_error))
    return StoreDatabaseRefused(what=what, reason=first_line(driver_error), fix=_fix(error),
                                sqlstate=sqlstate(driver_error))
