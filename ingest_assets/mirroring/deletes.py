"""Delete detection for full snapshots: keys the mirrored table has that the new snapshot lacks.

Fabric cannot be asked which keys a mirrored table holds, so the store keeps the key set of the last
snapshot next to the data, as `_ingest_keys-<last file number>.parquet` in the table folder (Fabric
ignores names that start with `_`). A merge with `delete_missing` publishes a delete row (marker 2,
key columns only) for every key of that set that the snapshot no longer has, and leaves the
snapshot's keys as the new set. The number in the name is the last data file of the load that wrote
it, so a newer set never collides with an older one and the newest is the highest number.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingest_assets.mirroring.layout import ROW_MARKER, RowMarker
from ingest_assets.mirroring.markers import MARKER_TYPE, constant_markers
from ingest_assets.sql_text import parquet_files, quote_identifier, string_literal
from ingest_assets.storage.base import Storage, join

_KEYS_FILE = re.compile(r"^_ingest_keys-(\d+)\.parquet$")


def keys_file_name(last_number: int) -> str:
    return f"_ingest_keys-{last_number:020d}.parquet"


def key_files(storage: Storage, table_folder: str) -> list[str]:
    """The key-set files in the folder, oldest first."""
    named = [(int(m.group(1)), e.name) for e in storage.list(table_folder) if (m := _KEYS_FILE.match(e.name))]
    return [join(table_folder, name) for _, name in sorted(named)]


def snapshot_keys(staged: list[Path], keys: tuple[str, ...], target: Path) -> Path:
    """The distinct keys of the staged snapshot, as a local Parquet file."""
    import duckdb

    columns = ", ".join(map(quote_identifier, keys))
    with duckdb.connect() as connection:
        connection.execute(
            f"COPY (SELECT DISTINCT {columns} FROM {parquet_files(staged)}) "
            f"TO {string_literal(str(target))} (FORMAT parquet, COMPRESSION zstd)"
        )
    return target


def deletions(previous_keys: Path, snapshot: Path, keys: tuple[str, ...], target: Path) -> int:
    """Write the delete rows (keys in `previous_keys` but not in `snapshot`); their count."""
    import duckdb

    columns = ", ".join(map(quote_identifier, keys))
    with duckdb.connect() as connection:
        table = connection.sql(
            f"SELECT {columns} FROM {parquet_files([previous_keys])} "
            f"EXCEPT SELECT {columns} FROM {parquet_files([snapshot])}"
        ).to_arrow_table()
    marker = constant_markers(RowMarker.DELETE, table.num_rows)
    table = table.append_column(pa.field(ROW_MARKER, MARKER_TYPE, nullable=False), marker)
    pq.write_table(table, target, compression="zstd")
    return table.num_rows
