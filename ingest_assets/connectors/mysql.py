"""`mysql` (alias `mariadb`): MySQL and MariaDB, tables read with connectorx (Arrow-native, the
default) or SQLAlchemy + PyMySQL (an unbuffered, streaming cursor), written through SQLAlchemy."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from ingest_assets.connectors.database import sql_database
from ingest_assets.connectors.server import ServerResource, ServerSettings
from ingest_assets.connectors.settings import ReadPathOnly

if TYPE_CHECKING:
    import sqlalchemy


class MysqlConnection(ServerSettings):
    """MySQL and MariaDB: tables read with connectorx (Arrow-native, the default) or SQLAlchemy +
    PyMySQL (`engine: sqlalchemy`); queries and columns connectorx cannot read exactly always through
    SQLAlchemy."""

    type: Literal["mysql", "mariadb"]
    # The resource names it engine_name: its `engine()` method makes SQLAlchemy engines.
    engine: Annotated[Literal["connectorx", "sqlalchemy"], ReadPathOnly()] = Field(
        default="connectorx", serialization_alias="engine_name")


class MysqlResource(ServerResource):
    engine_name: str = Field(default="connectorx", description="connectorx (Arrow-native) or sqlalchemy (PyMySQL).")

    def sqlalchemy_url(self) -> sqlalchemy.URL:
        return self._url("mysql+pymysql", {"charset": "utf8mb4"})

    def connectorx_url(self) -> str | None:
        """The same address as connectorx's URL, password included; None for a unix socket (PyMySQL's)."""
        url = self.sqlalchemy_url()
        if url.host is None:
            return None
        # connectorx would switch to the server's unix socket when it runs on this machine, where
        # the account may be another ('user'@'localhost' instead of 'user'@'127.0.0.1').
        return url.set(drivername="mysql", query={"prefer_socket": "false"}).render_as_string(hide_password=False)


MYSQL = sql_database("mysql", MysqlResource, MysqlConnection, home="ingest_assets.homes.mysql:mysql_home")
MARIADB = dataclasses.replace(MYSQL, name="mariadb")
