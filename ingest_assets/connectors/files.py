"""Folders of files: `parquet` (a home of files, folders and globs below it, or a store of datasets)
and `csv` (a home only). Their check: a home's paths must exist, a store's folder must be writable."""

from __future__ import annotations

import glob
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, Protocol

from pydantic import Field

from ingest_assets.connectors.connector_type import ConnectorType
from ingest_assets.connectors.probe import CheckLine, ConnectionUse, fail, note, ok, probe_name
from ingest_assets.connectors.resource import ProjectRelativeResource
from ingest_assets.connectors.settings import ConnectionSettings

_GLOB_CHARACTERS = set("*?[")


class ParquetConnection(ConnectionSettings):
    """A folder of Parquet files: a home (files, folders, globs below it) or a store (datasets)."""

    type: Literal["parquet"]
    path: str


class CsvConnection(ConnectionSettings):
    """A folder of CSV files (home only)."""

    type: Literal["csv"]
    path: str
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    header: bool = True


class LocalFolder(Protocol):
    """What a file home reads below: a local folder (a `parquet` or `csv` connection's, a local `delta`'s)."""

    def folder(self) -> Path: ...


class FolderResource(ProjectRelativeResource):
    """A folder of files (Parquet or CSV): homes read below it, stores write datasets below it."""

    path: str

    def folder(self) -> Path:
        return self._resolve_path(self.path)

    def check_connection(self, use: ConnectionUse) -> Iterator[CheckLine]:
        return check_folder(self.folder(), use)


class CsvFolderResource(FolderResource):
    delimiter: str = ","
    header: bool = True


PARQUET = ConnectorType("parquet", FolderResource.from_settings, "ingest_assets.homes.files:parquet_home",
                        "ingest_assets.stores.parquet:ParquetStore", frozenset({"path"}), "path", reads_back=True,
                        model=ParquetConnection)
CSV = ConnectorType("csv", CsvFolderResource.from_settings, "ingest_assets.homes.files:csv_home", None,
                    frozenset({"path"}), None, model=CsvConnection)


def check_folder(folder: Path, use: ConnectionUse) -> Iterator[CheckLine]:
    if use.reads:
        yield from _check_reads(folder, use)
    if use.writes:
        yield writable_folder(folder)


def _check_reads(folder: Path, use: ConnectionUse) -> Iterator[CheckLine]:
    if not folder.is_dir():
        yield fail(f"folder {folder} does not exist -> create it, or fix the connection's 'path:'")
        return
    for spec in use.reads:
        path = spec.path or ""
        if _GLOB_CHARACTERS & set(path):
            count = sum(1 for p in glob.glob(str(folder / path), recursive=True) if Path(p).is_file())
            yield (ok(f"{path!r} matches {count} file{'s' if count != 1 else ''}") if count else
                   fail(f"no files match {path!r} in {folder} -> check the entity's home.path"))
        elif (folder / path).exists():
            yield ok(f"can read {path!r}")
        else:
            yield fail(f"{path!r} does not exist in {folder} -> check the entity's home.path")


def writable_folder(folder: Path) -> CheckLine:
    """Whether files can be created in `folder` (or, when it is missing, in the folder that would hold it)."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return fail(f"{existing} is a file, so folder {folder} cannot be created -> fix the connection's 'path:'")
    probe = existing / probe_name()
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        return fail(f"folder {existing} is not writable ({error.strerror}) -> give the user that runs Dagster "
                    "write access, or fix the connection's 'path:'")
    if existing == folder:
        return ok(f"folder {folder} exists and is writable")
    return note(f"folder {folder} does not exist yet; {existing} is writable, so the first load creates it")
