"""`sqlite`: a SQLite database file, read and written through SQLAlchemy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from ingest_assets.connectors.database import DatabaseResource, sql_database
from ingest_assets.connectors.probe import CheckLine, ConnectionUse, fail
from ingest_assets.connectors.resource import ProjectRelativeResource
from ingest_assets.connectors.settings import ConnectionSettings


class SqliteConnection(ConnectionSettings):
    """A SQLite database file, read through SQLAlchemy (home only)."""

    type: Literal["sqlite"]
    path: str


class SqliteFileResource(ProjectRelativeResource, DatabaseResource):
    path: str

    def sqlalchemy_url(self) -> str:
        return f"sqlite:///{self._resolve_path(self.path)}"

    def check_connection(self, use: ConnectionUse) -> Iterator[CheckLine]:
        # Connecting would create a missing file: say it is missing instead.
        if not self._resolve_path(self.path).is_file():
            return iter([fail(f"database file {self._resolve_path(self.path)} does not exist -> fix the "
                              "connection's 'path:'")])
        return super().check_connection(use)


SQLITE = sql_database("sqlite", SqliteFileResource, SqliteConnection)
