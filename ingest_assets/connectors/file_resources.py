"""Dagster resources, one per named connection, so users can swap or reconfigure them.

Settings hold `${VAR}` references as written in the YAML: the launchpad shows the reference, and the
value is resolved only when a method below is called during a run. No driver is imported here.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import dagster as dg
from pydantic import Field

from ingest_assets.config.references import resolve_references
from ingest_assets.connectors.database_resources import DatabaseResource

if TYPE_CHECKING:
    import duckdb

    from ingest_assets.connectors.probes.base import CheckLine, ConnectionUse


class _ProjectRelative(dg.ConfigurableResource):
    project_root: str = Field(
        default=".", description="The folder relative paths are resolved against (the one holding flows/)."
    )

    def _resolve_path(self, template: str) -> Path:
        path = Path(resolve_references(template)).expanduser()
        return path if path.is_absolute() else Path(self.project_root) / path


class FolderResource(_ProjectRelative):
    """A folder of files (Parquet or CSV): homes read below it, stores write datasets below it."""

    path: str

    def folder(self) -> Path:
        return self._resolve_path(self.path)

    def check_connection(self, use: "ConnectionUse") -> Iterator["CheckLine"]:
        from ingest_assets.connectors.probes.files import check_folder

        return check_folder(self.folder(), use)


class CsvFolderResource(FolderResource):
    delimiter: str = ","
    header: bool = True


class DuckDBFileResource(_ProjectRelative):
    """A DuckDB database file, opened through dagster-duckdb's DuckDBResource."""

    path: str

    def database(self) -> Path:
        return self._resolve_path(self.path)

    def check_connection(self, use: "ConnectionUse") -> Iterator["CheckLine"]:
        from ingest_assets.connectors.probes.duckdb import check_duckdb

        return check_duckdb(self, use)

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator["duckdb.DuckDBPyConnection"]:
        from dagster_duckdb import DuckDBResource

        database = self.database()
        database.parent.mkdir(parents=True, exist_ok=True)
        # DuckDBResource retries while another process holds the file's write lock.
        resource = DuckDBResource(database=str(database), connection_config={"access_mode": "READ_ONLY"} if read_only else {})
        with resource.get_connection() as connection:
            try:
                yield connection
            finally:
                # get_connection() closes only on success; a failed commit must not leave the
                # file open (and locked) for the rest of the process.
                connection.close()


class SqliteFileResource(_ProjectRelative, DatabaseResource):
    path: str

    def sqlalchemy_url(self) -> str:
        return f"sqlite:///{self._resolve_path(self.path)}"

    def check_connection(self, use: "ConnectionUse") -> Iterator["CheckLine"]:
        from ingest_assets.connectors.probes.base import fail

        # Connecting would create a missing file: say it is missing instead.
        if not self._resolve_path(self.path).is_file():
            return iter([fail(f"database file {self._resolve_path(self.path)} does not exist -> fix the "
                              "connection's 'path:'")])
        return super().check_connection(use)
