"""Folders of files (Parquet, CSV): homes need their paths to exist, stores a folder they may write."""

from __future__ import annotations

import glob
from collections.abc import Iterator
from pathlib import Path

from ingest_assets.connectors.probes.base import CheckLine, ConnectionUse, fail, note, ok, probe_name

_GLOB_CHARACTERS = set("*?[")


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
