"""`sqlite`: a SQLite database file, read with ADBC (Arrow-native, the default) or SQLAlchemy, written
through SQLAlchemy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from ingest_assets.connectors.database import DatabaseResource, sql_database
from ingest_assets.connectors.probe import CheckLine, ConnectionUse, fail
from ingest_assets.connectors.resource import ProjectRelativeResource
from ingest_assets.connectors.settings import ConnectionSettings, ReadPathOnly


class SqliteConnection(ConnectionSettings):
    """A SQLite database file: tables read with ADBC (Arrow-native, the default) or SQLAlchemy
    (`engine: sqlalchemy`); queries and untyped columns always through SQLAlchemy."""

    type: Literal["sqlite"]
    path: str
    # The resource names it engine_name: its `engine()` method makes SQLAlchemy engines.
    engine: Annotated[Literal["adbc", "sqlalchemy"], ReadPathOnly()] = Field(default="adbc",
                                                                          serialization_alias="engine_name")


class SqliteFileResource(ProjectRelativeResource, DatabaseResource):
    path: str
    engine_name: str = Field(default="adbc", description="adbc (Arrow-native) or sqlalchemy.")

    def file_path(self) -> Path:
        return self._resolve_path(self.path)

    def sqlalchemy_url(self) -> str:
        return f"sqlite:///{self.file_path()}"

    def check_connection(self, use: ConnectionUse) -> Iterator[CheckLine]:
        # Connecting would create a missing file: say it is missing instead.
        if not self.file_path().is_file():
            return iter([fail(f"database file {self.file_path()} does not exist -> fix the connection's 'path:'")])
        return super().check_connection(use)


SQLITE = sql_database("sqlite", SqliteFileResource, SqliteConnection, home="ingest_assets.homes.sqlite:sqlite_home")
