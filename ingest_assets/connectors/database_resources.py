"""Dagster resources for database servers: PostgreSQL, SQL Server, MySQL / MariaDB.

As with the other resources, settings hold `${VAR}` references as written in the YAML and are
resolved only inside the methods below, during a run. Drivers are imported only there too.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Optional

import dagster as dg
from pydantic import Field

from ingest_assets.config.references import resolve_references

if TYPE_CHECKING:
    import sqlalchemy

    from ingest_assets.connectors.probes.base import CheckLine, ConnectionUse


def _resolved(value: Optional[str]) -> Optional[str]:
    return None if value is None else resolve_references(value)


class DatabaseResource(dg.ConfigurableResource):
    pool_size: Optional[int] = Field(
        default=None, description="The most connections to open at once (also a Dagster concurrency pool)."
    )

    def sqlalchemy_url(self) -> "sqlalchemy.URL | str":
        raise NotImplementedError

    def connect_args(self) -> dict[str, object]:
        """Keyword arguments for the driver's connect()."""
        return {}

    def engine(self) -> "sqlalchemy.Engine":
        import sqlalchemy

        # NullPool: a connection is closed when returned, so the count the server sees is exactly
        # the count in use (the pool limit is Dagster's, not SQLAlchemy's).
        engine = sqlalchemy.create_engine(self.sqlalchemy_url(), poolclass=sqlalchemy.NullPool,
                                          connect_args=self.connect_args())
        if _cuts_datetime_fractions(engine.dialect):
            sqlalchemy.event.listen(engine, "before_cursor_execute", _datetimes_as_text, retval=True)
        return engine

    def bulk_engine(self) -> "sqlalchemy.Engine":
        """An engine for the stores' bulk inserts (executemany of many rows)."""
        return self.engine()

    def check_connection(self, use: "ConnectionUse") -> Iterator["CheckLine"]:
        from ingest_assets.connectors.probes.databases import check_database

        return check_database(self, use)


def _cuts_datetime_fractions(dialect: "sqlalchemy.Dialect") -> bool:
    """pyodbc cuts a datetime parameter's fraction to the precision the ODBC driver reports for
    timestamps; MySQL's and MariaDB's drivers report none, so 08:00:00.5 is sent as 08:00:00 and an
    incremental window `cursor < updated_at <= max` leaves the newest row out and reads rows at the
    cursor again."""
    return dialect.driver == "pyodbc" and dialect.name in ("mysql", "mariadb")


def _datetimes_as_text(connection: object, cursor: object, statement: str, parameters: Sequence,
                       context: object, executemany: bool) -> tuple[str, Sequence]:
    """Send datetimes as ISO text, which the server converts back with every microsecond."""

    def exact(value: object) -> object:
        return value.isoformat(sep=" ", timespec="microseconds") if isinstance(value, datetime) else value

    if executemany:
        return statement, [tuple(map(exact, row)) for row in parameters]
    return statement, tuple(map(exact, parameters))


class SqlAlchemyResource(DatabaseResource):
    """Any SQLAlchemy database URL; secrets as `${VAR}` references inside it."""

    url: str

    def sqlalchemy_url(self) -> str:
        return resolve_references(self.url)


class ServerResource(DatabaseResource):
    url: Optional[str] = None
    host: Optional[str] = None
    port: Optional[int] = None
    database: Optional[str] = None
    user: Optional[str] = None
    password: Optional[str] = Field(default=None, description="A ${VAR} reference, resolved at run time.")

    def _url(self, drivername: str, query: Optional[dict[str, str]] = None) -> "sqlalchemy.URL":
        import sqlalchemy

        if self.url is not None:
            url = sqlalchemy.make_url(resolve_references(self.url)).set(drivername=drivername)
            return url.update_query_dict(query or {})
        host = _resolved(self.host)
        query = dict(query or {})
        if host and host.startswith("/"):
            # A unix socket folder goes in the query string, where libpq and the drivers look for it.
            query["host"] = host
            if self.port:
                query["port"] = str(self.port)
            host, port = None, None
        else:
            port = self.port
        return sqlalchemy.URL.create(
            drivername, username=_resolved(self.user), password=_resolved(self.password),
            host=host, port=port, database=_resolved(self.database), query=query,
        )


class PostgresResource(ServerResource):
    sslmode: Optional[str] = None
    engine_name: str = Field(default="adbc", description="adbc (Arrow-native) or sqlalchemy (psycopg).")
    parameters: dict[str, str] = Field(default_factory=dict, description="Extra libpq parameters.")

    def _query(self) -> dict[str, str]:
        # Named so that a DBA (and the pool test) can tell ingest's connections apart in pg_stat_activity.
        query = {"application_name": "ingest_assets"}
        query |= {key: resolve_references(value) for key, value in self.parameters.items()}
        if self.sslmode:
            query["sslmode"] = self.sslmode
        return query

    def libpq_uri(self) -> str:
        """A libpq connection URI (what ADBC's PostgreSQL driver takes), password included."""
        return self._url("postgresql", self._query()).render_as_string(hide_password=False)

    def sqlalchemy_url(self) -> "sqlalchemy.URL":
        return self._url("postgresql+psycopg", self._query())


class MssqlResource(ServerResource):
    driver: str = "ODBC Driver 18 for SQL Server"
    authentication: str = "sql"
    tenant_id: Optional[str] = None
    client_id: Optional[str] = None
    client_secret: Optional[str] = Field(default=None, description="A ${VAR} reference, resolved at run time.")
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
            return resolve_references(self.url)
        host = _resolved(self.host)
        attributes: dict[str, str | None] = {"DRIVER": self.driver}
        if self.is_freetds:
            # FreeTDS names the port separately and negotiates TLS with its own keyword.
            attributes |= {"SERVER": host, "PORT": str(self.port or 1433), "TDS_Version": "7.4",
                           "Encryption": "require" if self.encrypt else "request"}
        else:
            attributes |= {"SERVER": f"{host},{self.port or 1433}",
                           "Encrypt": "yes" if self.encrypt else "no",
                           "TrustServerCertificate": "yes" if self.trust_server_certificate else "no"}
        attributes["DATABASE"] = _resolved(self.database)
        if self.authentication == "sql":
            attributes |= {"UID": _resolved(self.user), "PWD": _resolved(self.password)}
        attributes |= {key: resolve_references(value) for key, value in self.odbc.items()}
        return ";".join(f"{key}={odbc_value(value)}" for key, value in attributes.items() if value is not None)

    def sqlalchemy_url(self) -> "sqlalchemy.URL":
        import sqlalchemy

        return sqlalchemy.URL.create("mssql+pyodbc", query={"odbc_connect": self.odbc_connection_string()})

    def connect_args(self) -> dict[str, object]:
        # pyodbc's `timeout` sets SQL_ATTR_LOGIN_TIMEOUT, which every ODBC driver honours; there is no
        # connection-string keyword both drivers read, and without it FreeTDS waits for ever on a
        # server that accepts the connection but never answers.
        return {"timeout": self.login_timeout_seconds}

    def engine(self) -> "sqlalchemy.Engine":
        import sqlalchemy

        engine = super().engine()
        if self.authentication != "sql":
            from ingest_assets.connectors import azure_auth
            from ingest_assets.errors import TerminalError

            if self.is_freetds:
                raise TerminalError(f"{self.authentication} authentication needs Microsoft's ODBC driver, "
                                    "FreeTDS cannot pass an access token -> set driver: ODBC Driver 18 for SQL Server")
            source = azure_auth.credential(self.authentication, _resolved(self.tenant_id),
                                           _resolved(self.client_id), _resolved(self.client_secret))

            @sqlalchemy.event.listens_for(engine, "do_connect")
            def _token(dialect, connection_record, cargs, cparams):
                # A fresh token for every connection: tokens expire, long loads outlive them.
                cparams.setdefault("attrs_before", {})[azure_auth.SQL_COPT_SS_ACCESS_TOKEN] = (
                    azure_auth.sql_server_token(source)
                )

        return engine

    def bulk_engine(self) -> "sqlalchemy.Engine":
        """With pyodbc's fast_executemany: a chunk of rows goes in one round trip, not one per row."""
        import sqlalchemy

        engine = self.engine()

        @sqlalchemy.event.listens_for(engine, "before_cursor_execute")
        def _fast_executemany(connection, cursor, statement, parameters, context, executemany):
            if executemany:
                cursor.fast_executemany = True

        return engine


def odbc_value(value: str) -> str:
    """An ODBC attribute value, braced when it holds characters that end or open one."""
    if any(character in value for character in ";{}=") or value != value.strip():
        return "{" + value.replace("}", "}}") + "}"
    return value


class MysqlResource(ServerResource):
    def sqlalchemy_url(self) -> "sqlalchemy.URL":
        return self._url("mysql+pymysql", {"charset": "utf8mb4"})
