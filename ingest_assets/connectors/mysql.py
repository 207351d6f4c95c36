"""`mysql` (alias `mariadb`): MySQL and MariaDB through SQLAlchemy + PyMySQL (an unbuffered, streaming cursor)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Literal

from ingest_assets.connectors.database import sql_database
from ingest_assets.connectors.server import ServerResource, ServerSettings

if TYPE_CHECKING:
    import sqlalchemy


class MysqlConnection(ServerSettings):
    """MySQL and MariaDB through SQLAlchemy + PyMySQL (an unbuffered, streaming cursor)."""

    type: Literal["mysql", "mariadb"]


class MysqlResource(ServerResource):
    def sqlalchemy_url(self) -> sqlalchemy.URL:
        return self._url("mysql+pymysql", {"charset": "utf8mb4"})


MYSQL = sql_database("mysql", MysqlResource, MysqlConnection)
MARIADB = dataclasses.replace(MYSQL, name="mariadb")
