"""DuckDB files: a home's file must exist and hold its tables; a store's file (or its folder) must be writable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ingest_assets.errors import first_line
from ingest_assets.connectors.probes.base import CheckLine, ConnectionUse, fail, note, ok, probe_name
from ingest_assets.connectors.probes.files import writable_folder

if TYPE_CHECKING:
    from ingest_assets.connectors.file_resources import DuckDBFileResource


def check_duckdb(resource: "DuckDBFileResource", use: ConnectionUse) -> Iterator[CheckLine]:
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


def _check_read(connection, table: str | None, query: str | None) -> CheckLine:
    import duckdb

    if table is None:
        return note(f"query not run by the check (it runs with the asset): {' '.join((query or '').split())[:60]}")
    quoted = ".".join('"' + part.replace('"', '""') + '"' for part in table.split("."))
    try:
        connection.execute(f"SELECT * FROM {quoted} LIMIT 0")
    except duckdb.Error as error:
        return fail(f"cannot read table {table}: {first_line(error)} -> check the entity's home.table")
    return ok(f"can read table {table}")
