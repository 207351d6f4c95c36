"""Staged Parquet files committed into a Delta table as they are, without being encoded again.

A load that only adds rows (an append, a first load, a replace of the whole table) needs no file of
the table rewritten: when the staged files already hold the table's storage types exactly, they are
moved into the table's folder (one rename each: staging is on the same file system) and one Delta
commit adds them (`add` actions, and for a replace `remove` actions of every current file, through
delta-rs' transaction API). A file moved in but never committed (the commit failed) is referenced by
no version: readers never see it, and `VACUUM` removes it.

Each `add` records the file's row count (`numRecords`), which row counts use. Column minimums and
maximums are left out: they only let readers skip files, and a wrong one would hide rows; the row
groups' own statistics still let readers skip inside the files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from ingest_assets.errors import StagedFileCollision

if TYPE_CHECKING:
    from deltalake import CommitProperties, DeltaTable
    from deltalake.transaction import AddAction


def holds_exactly(files: list[Path], schema: pa.Schema) -> bool:
    """Whether the staged files' columns are `schema`'s names and types (what Delta stores)."""
    staged = pq.read_schema(files[0])
    return staged.names == schema.names and staged.types == schema.types


def commit_files(table: DeltaTable | None, uri: Path, files: list[Path], schema: pa.Schema, replace: bool,
                 properties: CommitProperties) -> None:
    """Move `files` into the table at `uri` and commit them in one version: appended, or replacing
    every current row (`replace`, and a table created when `table` is None)."""
    from deltalake import Schema
    from deltalake.transaction import create_table_with_add_actions

    uri.mkdir(parents=True, exist_ok=True)
    actions = [_moved_in(path, uri) for path in files if pq.ParquetFile(path).metadata.num_rows]
    if table is None:
        create_table_with_add_actions(str(uri), Schema.from_arrow(schema), actions, mode="overwrite",
                                      commit_properties=properties)
    else:
        table.create_write_transaction(list(actions), mode="overwrite" if replace else "append", schema=schema,
                                       commit_properties=properties)


def _moved_in(path: Path, uri: Path) -> AddAction:
    from deltalake.transaction import AddAction

    target = uri / path.name  # part-<run token>-<seq>.parquet: never a name the table has
    if target.exists():
        raise StagedFileCollision(path=target)
    rows = pq.ParquetFile(path).metadata.num_rows
    os.replace(path, target)
    stat = target.stat()
    return AddAction(path=path.name, size=stat.st_size, partition_values={},
                     modification_time=int(stat.st_mtime * 1000), data_change=True,
                     stats=json.dumps({"numRecords": rows}))
