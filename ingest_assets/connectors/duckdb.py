"""`duckdb`: a DuckDB database file, a home (tables, queries) or a store (tables).

Its check: a home's file must exist and hold its tables; a store's file (or its folder) must be writable.
DuckDB itself is imported only when the file is opened.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ingest_assets.connectors.connector_type import ConnectorType
from ingest_assets.connectors.files import writable_folder
from ingest_assets.connectors.probe import CheckLine, ConnectionUse, fail, note, ok, probe_name
from ingest_assets.connectors.resource import ProjectRelativeResource
from ingest_assets.connectors.settings import ConnectionSettings
from ingest_assets.errors import first_line
from ingest_assets.sql.text import quote_qualified

if TYPE_CHECKING:
    import duckdb


class DuckDBConnection(ConnectionSettings):
    """A DuckDB database file: a home (tables, queries) or a store (tables)."""

    type: Literal["duckdb"]
    path: str


class DuckDBFileResource(ProjectRelativeResource):
    """A DuckDB database file, opened through dagster-duckdb's DuckDBResource."""

    path: str

    def database(self) -> Path:
        return self._resolve_path(self.path)

    def check_connection(self, use: ConnectionUse) -> Iterator[CheckLine]:
        return check_duckdb(self, use)

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
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


DUCKDB = ConnectorType("duckdb", DuckDBFileResource.from_settings, "ingest_assets.homes.duckdb:DuckDBHome",
                       "ingest_assets.stores.duckdb:DuckDBStore", frozenset({"table", "query"}), "table",
                       reads_back=True, threaded_writes=False, model=DuckDBConnection)


def check_duckdb(resource: DuckDBFileResource, use: ConnectionUse) -> Iterator[CheckLine]:
    import duckdb

    database = resource.database()
    if not database.exists():
        if use.reads:
            yield fail(f"database file {database} does not exist -> fix the connection's 'path:'")
        if use.writes:
            yield _missing_store_file(database)
        return
    try:
        with resource.connect(read_only=not use.writes) as connection:
            yield ok(f"opened {database}")
            for spec in use.reads:
                yield _check_read(connection, spec.table, spec.query)
            if use.writes:
                name = probe_name()
                connection.execute(f'CREATE TABLE "{name}" (probe INTEGER)')
                connection.execute(f'DROP TABLE "{name}"')
                yield ok("can create tables (created and dropped a probe table)")
    except duckdb.Error as error:
        yield fail(f"cannot use {database}: {first_line(error)} -> check that it is a DuckDB file and that no "
                   "other process holds it open for writing")


def _missing_store_file(database: Path) -> CheckLine:
    folder = writable_folder(database.parent)
    if folder.status == "fail":
        return folder
    return note(f"database file {database} does not exist yet; the first load creates it ({folder.text})")


def _check_read(connection: duckdb.DuckDBPyConnection, table: str | None, query: str | None) -> CheckLine:
    import duckdb

    if table is None:
        return note(f"query not run by the check (it runs with the asset): {' '.join((query or '').split())[:60]}")
    try:
        connection.execute(f"SELECT * FROM {quote_qualified(table)} LIMIT 0")
    except duckdb.Error as error:
        return fail(f"cannot read table {table}: {first_line(error)} -> check the entity's home.table")
    return ok(f"can read table {table}")
