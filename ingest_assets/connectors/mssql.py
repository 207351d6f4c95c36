"""`mssql` (alias `sqlserver`): SQL Server and Azure SQL through pyodbc (Microsoft's ODBC Driver 18, or
FreeTDS), signing in with a password or an Azure AD token."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from pydantic import Field, PositiveInt, model_validator

from ingest_assets.config.references import resolve_references
from ingest_assets.connectors import azure_auth
from ingest_assets.connectors.database import sql_database
from ingest_assets.connectors.resource import resolved
from ingest_assets.connectors.server import ServerResource, ServerSettings
from ingest_assets.connectors.settings import Secret, require_reference
from ingest_assets.errors import FreeTdsCannotUseToken

if TYPE_CHECKING:
    # pyodbc's stubs are one file, pyodbc.pyi, which mypy cannot read from site-packages (PEP 561 is for packages).
    import pyodbc  # type: ignore[import-not-found]
    import sqlalchemy
    from sqlalchemy.pool import ConnectionPoolEntry

MssqlAuthentication = Literal["sql", "managed_identity", "azure_cli", "service_principal", "azure_default"]


class MssqlConnection(ServerSettings):
    """SQL Server and Azure SQL through pyodbc (Microsoft's ODBC Driver 18, or FreeTDS).

    `authentication`: `sql` (user/password), or an Azure AD token from azure-identity:
    `managed_identity` (optional client_id), `azure_cli`, `service_principal` (tenant_id, client_id,
    client_secret), `azure_default` (DefaultAzureCredential).
    """

    type: Literal["mssql", "sqlserver"]
    driver: str = "ODBC Driver 18 for SQL Server"
    authentication: MssqlAuthentication = "sql"
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: Annotated[str | None, Secret()] = None
    encrypt: bool = True
    trust_server_certificate: bool = False
    login_timeout_seconds: PositiveInt = 30
    # Extra ODBC connection attributes, e.g. {ApplicationIntent: ReadOnly, MultiSubnetFailover: "Yes"}.
    odbc: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _credentials_complete(self) -> Self:
        if self.authentication == "service_principal":
            missing = [n for n in ("tenant_id", "client_id", "client_secret") if getattr(self, n) is None]
            if missing:
                raise ValueError(f"service_principal authentication needs {', '.join(missing)} -> add them "
                                 "(client_secret as a ${VAR} reference)")
        if self.authentication != "sql" and self.password is not None:
            raise ValueError(f"'password:' is not used with {self.authentication} authentication -> remove it")
        if self.authentication != "sql" and "freetds" in self.driver.lower():
            raise ValueError(f"{self.authentication} authentication needs Microsoft's ODBC driver (FreeTDS cannot "
                             "pass an access token) -> set driver: ODBC Driver 18 for SQL Server")
        for key, value in self.odbc.items():
            if key.lower() in ("pwd", "password"):
                require_reference(f"the ODBC attribute {key!r}", value)
        return self


class MssqlResource(ServerResource):
    driver: str = "ODBC Driver 18 for SQL Server"
    authentication: str = "sql"
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = Field(default=None, description="A ${VAR} reference, resolved at run time.")
    encrypt: bool = True
    trust_server_certificate: bool = False
    login_timeout_seconds: int = 30
    odbc: dict[str, str] = Field(default_factory=dict, description="Extra ODBC connection attributes.")

    @property
    def is_freetds(self) -> bool:
        return "freetds" in self.driver.lower()

    def odbc_connection_string(self) -> str:
        """The ODBC connection string, password included: never log it."""
        if self.url is not None:
            return resolve_references(self.url, secret=True)
        host = resolved(self.host)
        attributes: dict[str, str | None] = {"DRIVER": self.driver}
        if self.is_freetds:
            # FreeTDS names the port separately and negotiates TLS with its own keyword.
            attributes |= {"SERVER": host, "PORT": str(self.port or 1433), "TDS_Version": "7.4",
                           "Encryption": "require" if self.encrypt else "request"}
        else:
            attributes |= {"SERVER": f"{host},{self.port or 1433}",
                           "Encrypt": "yes" if self.encrypt else "no",
                           "TrustServerCertificate": "yes" if self.trust_server_certificate else "no"}
        attributes["DATABASE"] = resolved(self.database)
        if self.authentication == "sql":
            attributes |= {"UID": resolved(self.user), "PWD": resolved(self.password, secret=True)}
        attributes |= {key: resolve_references(value) for key, value in self.odbc.items()}
        return ";".join(f"{key}={odbc_value(value)}" for key, value in attributes.items() if value is not None)

    def sqlalchemy_url(self) -> sqlalchemy.URL:
        import sqlalchemy

        return sqlalchemy.URL.create("mssql+pyodbc", query={"odbc_connect": self.odbc_connection_string()})

    def connect_args(self) -> dict[str, object]:
        # pyodbc's `timeout` sets SQL_ATTR_LOGIN_TIMEOUT, which every ODBC driver honours; there is no
        # connection-string keyword both drivers read, and without it FreeTDS waits for ever on a
        # server that accepts the connection but never answers.
        return {"timeout": self.login_timeout_seconds}

    def engine(self) -> sqlalchemy.Engine:
        import sqlalchemy

        engine = super().engine()
        if self.authentication != "sql":
            if self.is_freetds:
                raise FreeTdsCannotUseToken(authentication=self.authentication)
            source = azure_auth.credential(self.authentication, resolved(self.tenant_id),
                                           resolved(self.client_id), resolved(self.client_secret, secret=True))

            @sqlalchemy.event.listens_for(engine, "do_connect")
            def _token(dialect: sqlalchemy.Dialect, connection_record: ConnectionPoolEntry,
                       cargs: tuple[object, ...], cparams: dict[str, Any]) -> None:  # SQLAlchemy's do_connect
                # A fresh token for every connection: tokens expire, long loads outlive them.
                cparams.setdefault("attrs_before", {})[azure_auth.SQL_COPT_SS_ACCESS_TOKEN] = (
                    azure_auth.sql_server_token(source)
                )

        return engine

    def bulk_engine(self) -> sqlalchemy.Engine:
        """With pyodbc's fast_executemany: a chunk of rows goes in one round trip, not one per row."""
        import sqlalchemy

        engine = self.engine()

        @sqlalchemy.event.listens_for(engine, "before_cursor_execute")
        def _fast_executemany(connection: sqlalchemy.Connection, cursor: pyodbc.Cursor, statement: str,
                              parameters: object, context: object, executemany: bool) -> None:
            if executemany:
                cursor.fast_executemany = True

        return engine


def odbc_value(value: str) -> str:
    """An ODBC attribute value, braced when it holds characters that end or open one."""
    if any(character in value for character in ";{}=") or value != value.strip():
        return "{" + value.replace("}", "}}") + "}"
    return value


MSSQL = sql_database("mssql", MssqlResource, MssqlConnection, dagster_kind="sqlserver")
SQLSERVER = dataclasses.replace(MSSQL, name="sqlserver")
