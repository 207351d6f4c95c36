"""`postgres` (alias `postgresql`): read with ADBC (Arrow-native, the default) or SQLAlchemy + psycopg."""

from __future__ import annotations

import dataclasses
import threading
from typing import TYPE_CHECKING, Annotated, Literal

import dagster as dg
from pydantic import Field, PrivateAttr

from ingest_assets.config.references import resolve_references
from ingest_assets.connectors.database import sql_database
from ingest_assets.connectors.idle_connections import IdleConnections
from ingest_assets.connectors.server import ServerResource, ServerSettings
from ingest_assets.connectors.settings import ReadPathOnly

if TYPE_CHECKING:
    import sqlalchemy
    from adbc_driver_manager.dbapi import Connection

# Idle ADBC connections a resource keeps at most when the connection sets no pool_size (fewer are
# ever open: a load opens one only when none waits, so no more than the loads at once).
_KEEP_IDLE = 8
_CREATING_IDLE = threading.Lock()


class PostgresConnection(ServerSettings):
    """PostgreSQL: read with ADBC (Arrow-native, the default) or SQLAlchemy + psycopg (`engine: sqlalchemy`).

    `host` may be a folder, for a unix socket.
    """

    type: Literal["postgres", "postgresql"]
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] | None = None
    # The resource names it engine_name: its `engine()` method makes SQLAlchemy engines.
    engine: Annotated[Literal["adbc", "sqlalchemy"], ReadPathOnly()] = Field(default="adbc",
                                                                          serialization_alias="engine_name")
    # Extra libpq parameters (application_name, connect_timeout, options, ...).
    parameters: dict[str, str] = Field(default_factory=dict)


class PostgresResource(ServerResource):
    sslmode: str | None = None
    engine_name: str = Field(default="adbc", description="adbc (Arrow-native) or sqlalchemy (psycopg).")
    parameters: dict[str, str] = Field(default_factory=dict, description="Extra libpq parameters.")
    _idle: IdleConnections[Connection] | None = PrivateAttr(default=None)

    def idle_connections(self) -> IdleConnections[Connection]:
        """The ADBC connections waiting between this step's loads (see idle_connections.py)."""
        with _CREATING_IDLE:
            if self._idle is None:
                self._idle = IdleConnections(self.pool_size or _KEEP_IDLE)
            return self._idle

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._idle is not None:
            self._idle.close()

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

    def sqlalchemy_url(self) -> sqlalchemy.URL:
        return self._url("postgresql+psycopg", self._query())


POSTGRES = sql_database("postgres", PostgresResource, PostgresConnection,
                        home="ingest_assets.homes.postgres:postgres_home")
POSTGRESQL = dataclasses.replace(POSTGRES, name="postgresql")
