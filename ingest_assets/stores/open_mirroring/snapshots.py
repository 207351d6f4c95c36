"""Full snapshots against the last one: keys that left (deletes) and rows that changed (upserts).

Fabric cannot be asked what a mirrored table holds, so the store keeps the last snapshot's keys,
each with a hash of its row, next to the data as `_ingest_keys-<last file number>.parquet` in the
table folder (Fabric ignores names that start with `_`). A merge with `delete_missing` publishes a
delete row (marker 2, key columns only) for every key of that set that the snapshot lacks, and
upserts only for rows that are new or whose hash differs: an unchanged row is not sent again. The
number in the name is the last data file of the load that wrote it, so a newer set never collides
with an older one and the newest is the highest number.

The hash is DuckDB's `hash()` of the published columns. Should a DuckDB upgrade change it, the next
snapshot republishes every row once as an upsert, which Fabric applies as a no-op.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingest_assets.sql.text import parquet_files, quote_identifier, string_literal
from ingest_assets.storage.base import Storage, join
from ingest_assets.stores.open_mirroring.layout import ROW_MARKER, RowMarker
from ingest_assets.stores.open_mirroring.markers import MARKER_TYPE, constant_markers

_KEYS_FILE = re.compile(r"^_ingest_keys-(\d+)\.parquet$")


def keys_file_name(last_number: int) -> str:
    return f"_ingest_keys-{last_number:020d}.parquet"


def key_files(storage: Storage, table_folder: str) -> list[str]:
    """The key-set files in the folder, oldest first."""
    named = [(int(m.group(1)), e.name) for e in storage.list(table_folder) if (m := _KEYS_FILE.match(e.name))]
    return [join(table_folder, name) for _, name in sorted(named)]


ROW_HASH = "_ingest_row_hash"


def snapshot_keys(staged: list[Path], keys: tuple[str, ...], target: Path) -> Path:
    """The staged snapshot's keys (unique: duplicates are resolved before) with their rows' hashes."""
    import duckdb

    key_columns = ", ".join(map(quote_identifier, keys))
    with duckdb.connect() as connection:
        connection.execute(
            f"COPY (SELECT {key_columns}, {_row_hash(staged)} AS {ROW_HASH} FROM {parquet_files(staged)}) "
            f"TO {string_literal(str(target))} (FORMAT parquet, COMPRESSION zstd)"
        )
    return target


def has_row_hashes(key_set: Path) -> bool:
    """Key sets written before rows were hashed have keys only: every row then counts as changed."""
    return ROW_HASH in pq.read_schema(key_set).names


def changed_rows(staged: list[Path], previous_keys: Path, keys: tuple[str, ...], target: Path) -> int:
    """Write the staged rows that are new or differ from the previous snapshot (types as staged); their count."""
    import duckdb

    schema = pq.read_schema(staged[0])
    same_key = " AND ".join(f"s.{quote_identifier(k)} = p.{quote_identifier(k)}" for k in keys)
    rows = 0
    with duckdb.connect() as connection, pq.ParquetWriter(target, schema, compression="zstd") as writer:
        result = connection.sql(
            f"SELECT s.* FROM {parquet_files(staged)} AS s ANTI JOIN {parquet_files([previous_keys])} AS p "
            f"ON {same_key} AND {_row_hash(staged, 's.')} = p.{ROW_HASH}"
        ).to_arrow_reader(100_000)
        for batch in result:
            writer.write_batch(batch.cast(schema))  # DuckDB's Arrow types back to the staged ones
            rows += batch.num_rows
    return rows


def _row_hash(staged: list[Path], prefix: str = "") -> str:
    columns = [name for name in pq.read_schema(staged[0]).names if name != ROW_MARKER]
    return f"hash({', '.join(prefix + quote_identifier(c) for c in columns)})"


def deletions(previous_keys: Path, snapshot: Path, keys: tuple[str, ...], target: Path) -> int:
    """Write the delete rows (keys in `previous_keys` but not in `snapshot`); their count."""
    import duckdb

    columns = ", ".join(map(quote_identifier, keys))
    with duckdb.connect() as connection:
        table: pa.Table = connection.sql(  # duckdb's relation types its Arrow results as Any
            f"SELECT {columns} FROM {parquet_files([previous_keys])} "
            f"EXCEPT SELECT {columns} FROM {parquet_files([snapshot])}"
        ).to_arrow_table()
    marker = constant_markers(RowMarker.DELETE, table.num_rows)
    table = table.append_column(pa.field(ROW_MARKER, MARKER_TYPE, nullable=False), marker)
    pq.write_table(table, target, compression="zstd")
    return table.num_rows
