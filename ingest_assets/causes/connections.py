"""Terminal causes in opening a connection as configured: a driver or library that is not installed,
an authentication that cannot work with the chosen driver, a token that cannot be had."""

from __future__ import annotations

from ingest_assets.causes.base import TerminalError


class ConnectionSetupError(TerminalError):
    """A connection cannot be opened as configured, whatever the server does."""


class DriverMissing(ConnectionSetupError):
    """An optional package is not installed; `extra` is the ingest_assets extra that installs it."""

    extra: str


class HomeDriverMissing(DriverMissing):
    """Reading `database` (e.g. PostgreSQL) with its ADBC engine needs the ADBC driver."""

    def __init__(self, *, database: str, extra: str) -> None:
        self.database, self.extra = database, extra
        super().__init__(f"reading {database} needs its ADBC driver -> pip install "
                         f"'ingest_assets[{extra}]' (or set engine: sqlalchemy)")


class StoreDriverMissing(DriverMissing):
    """Writing to `database` (bulk loading its staged rows) needs the ADBC driver."""

    def __init__(self, *, label: str, database: str, extra: str) -> None:
        self.label, self.database, self.extra = label, database, extra
        super().__init__(f"{label}: writing to {database} needs its ADBC driver -> nothing was written; "
                         f"pip install 'ingest_assets[{extra}]'")


class AuthLibraryMissing(DriverMissing):
    """An Azure authentication `method` needs azure-identity."""

    def __init__(self, *, method: str, extra: str) -> None:
        self.method, self.extra = method, extra
        super().__init__(f"{method} authentication needs azure-identity -> pip install 'ingest_assets[{extra}]'")


class FreeTdsCannotUseToken(ConnectionSetupError):
    """A token `authentication` with FreeTDS, which cannot pass an access token."""

    def __init__(self, *, authentication: str) -> None:
        self.authentication = authentication
        super().__init__(f"{authentication} authentication needs Microsoft's ODBC driver, "
                         "FreeTDS cannot pass an access token -> set driver: ODBC Driver 18 for SQL Server")


class AzureTokenUnavailable(ConnectionSetupError):
    """azure-identity gave no token for SQL Server (`reason`: its error)."""

    def __init__(self, *, reason: str) -> None:
        self.reason = reason
        super().__init__(f"could not get an Azure AD token for SQL Server: {reason}")
