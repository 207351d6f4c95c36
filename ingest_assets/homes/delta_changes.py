"""A Delta table's change data feed, read by commit version: the Delta home's `_commit_version` watermark.

An entity whose watermark is `_commit_version` (`ReadSpec.change_feed`) reads versions, not values
of a column: the runtime's watermark window (`RowFilter`: lower < version <= upper, the upper bound
the table's version when the run started, `DeltaHome.max_value`) says which.

- No lower bound (a first load, a reset, a full run): the snapshot of the upper version, streamed as
  the Delta home reads any table, each row an `insert` of that version.
- A lower bound (the cursor): `load_cdf(cursor + 1, upper)`, the changes committed since. The
  `update_preimage` rows are dropped, so a row is a row's state after its change (`insert`,
  `update_postimage`) or the row deleted (`delete`, a soft delete the store keeps).
- With keys (an upsert or merge): the last change of each key, by version; within one version a row
  that stays (insert, update_postimage) over a delete, since an overwrite by predicate deletes and
  inserts a key in one commit. These changes are reduced in memory; without keys they stream.

Every row carries `_change_type`, `_commit_version` and `_commit_timestamp` (UTC). The table must
have `delta.enableChangeDataFeed = true`: without it delta-rs returns the added files as inserts and
never a delete, so it is refused, as are versions whose files were vacuumed, with the path and fix.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from ingest_assets.connectors.delta import COMMIT_VERSION
from ingest_assets.errors import DeltaTableUnreadable, SourceColumnsMissing, first_line
from ingest_assets.plan.window import RowFilter
from ingest_assets.sql.text import quote_identifier

if TYPE_CHECKING:
    from deltalake import DeltaTable

CHANGE_TYPE = "_change_type"
COMMIT_TIMESTAMP = "_commit_timestamp"
CHANGE_FIELDS = (pa.field(CHANGE_TYPE, pa.string()), pa.field(COMMIT_VERSION, pa.int64()),
                 pa.field(COMMIT_TIMESTAMP, pa.timestamp("us", tz="UTC")))
CHANGE_COLUMNS = frozenset(field.name for field in CHANGE_FIELDS)
_PROPERTY = "delta.enableChangeDataFeed"
_RESET = "run once with {reset_watermark: true} to reload the table's current version"


@dataclass(frozen=True)
class Versions:
    """What a read covers: the changes of versions `first` to `last`, or, with no `first`, the
    snapshot of `last` (None: the latest version)."""

    first: int | None
    last: int | None

    @classmethod
    def of(cls, row_filter: RowFilter | None) -> Versions:
        if row_filter is None:
            return cls(None, None)
        last = None if row_filter.upper is None else _version(row_filter.upper) - (not row_filter.upper_inclusive)
        if row_filter.lower is None:
            return cls(None, last)
        return cls(_version(row_filter.lower) + (not row_filter.lower_inclusive), last)

    @property
    def empty(self) -> bool:
        """Nothing committed after the cursor."""
        return self.first is not None and self.last is not None and self.first > self.last

    def describe(self) -> str:
        if self.first is None:
            return f"the snapshot of version {self.last if self.last is not None else 'latest'}"
        return f"the changes of versions {self.first} to {self.last if self.last is not None else 'latest'}"


def _version(value: object) -> int:
    assert isinstance(value, int), value  # the plan refuses any other start or lookback, cursors are versions
    return value


def require_change_feed(table: DeltaTable, path: str, folder: Path | str) -> None:
    if table.metadata().configuration.get(_PROPERTY, "false").lower() != "true":
        raise DeltaTableUnreadable(
            path=path, folder=folder, problem=f"has no change data feed ({_PROPERTY} is not true), which the "
            f"watermark {COMMIT_VERSION} reads", fix=f"set the table property {_PROPERTY} = true (ALTER TABLE ... SET "
            "TBLPROPERTIES, or deltalake's DeltaTable.alter.set_table_properties), then " + _RESET + "; or use a "
            "watermark column of the table")


def output_schema(table_schema: pa.Schema, columns: Sequence[str], path: str) -> pa.Schema:
    """The table's columns and the change columns, or the `columns` an entity names of them."""
    full = pa.schema([*table_schema, *CHANGE_FIELDS])
    missing = [name for name in columns if name not in full.names]
    if missing:
        raise SourceColumnsMissing(columns=missing, source=f"delta home path {path!r}", available=full.names)
    return pa.schema([full.field(name) for name in columns]) if columns else full


def table_columns(columns: Sequence[str]) -> tuple[str, ...]:
    """The table's own of `columns` (none: all of them, also when only change columns are named)."""
    return tuple(name for name in columns if name not in CHANGE_COLUMNS)


def commit_time(table: DeltaTable, version: int) -> datetime | None:
    """When `version` was committed, from the history of `table` at its latest version (delta-rs
    numbers the history from the version it loaded)."""
    entries = table.history(table.version() - version + 1)
    entry = entries[-1] if entries else {}
    if entry.get("version") != version or not isinstance(entry.get("timestamp"), int):
        return None
    return datetime.fromtimestamp(entry["timestamp"] / 1000, UTC)


def snapshot(rows: pa.RecordBatchReader, schema: pa.Schema, version: int, committed_at: datetime | None
             ) -> pa.RecordBatchReader:
    """The snapshot's rows, each an insert of `version`, in `schema` (an `output_schema`)."""
    constants = {CHANGE_TYPE: "insert", COMMIT_VERSION: version, COMMIT_TIMESTAMP: committed_at}

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in rows:
            yield pa.RecordBatch.from_arrays(
                [batch.column(field.name) if field.name not in CHANGE_COLUMNS
                 else pa.repeat(pa.scalar(constants[field.name], field.type), batch.num_rows) for field in schema],
                schema=schema)

    return pa.RecordBatchReader.from_batches(schema, batches())


def changes(table: DeltaTable, versions: Versions, table_schema: pa.Schema, columns: Sequence[str],
            keys: Sequence[str], path: str, folder: Path | str, batch_size: int) -> pa.RecordBatchReader:
    """The changes of `versions` (`first` set; none when it is past `last`) of `table` (at `last`), as
    `output_schema`."""
    assert versions.first is not None
    schema = output_schema(table_schema, columns, path)
    if versions.empty:
        return pa.RecordBatchReader.from_batches(schema, iter(()))
    full = output_schema(table_schema, (), path)
    missing = [key for key in keys if key not in full.names]
    if missing:  # named by a transform's output: the changes are reduced before it
        raise SourceColumnsMissing(columns=missing, source=f"delta home path {path!r}, whose changes are reduced "
                                   "to the last of each key", available=full.names)
    kept = (_without_preimages(_conformed(batch, full)) for batch in _change_batches(table, versions, path, folder))
    if not keys:
        return pa.RecordBatchReader.from_batches(schema, (batch.select(schema.names) for batch in kept))
    latest = _last_change_per_key(pa.Table.from_batches(kept, full), keys).select(schema.names)
    return pa.RecordBatchReader.from_batches(schema, latest.to_batches(max_chunksize=batch_size))


def _change_batches(table: DeltaTable, versions: Versions, path: str, folder: Path | str) -> Iterator[pa.RecordBatch]:
    from deltalake.exceptions import DeltaError

    assert versions.first is not None
    try:
        # An arro3 reader: through its C stream.
        yield from pa.RecordBatchReader.from_stream(
            table.load_cdf(starting_version=versions.first, ending_version=versions.last))
    except (DeltaError, pa.ArrowException, OSError) as error:  # a version's files vacuumed, its log cleaned up
        raise DeltaTableUnreadable(
            path=path, folder=folder, problem=f"cannot return {versions.describe()} ({first_line(error)})",
            fix=f"their files were vacuumed or their log entries cleaned up: {_RESET}, and keep the table's "
                "vacuum retention longer than the time between two loads") from error


def _conformed(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """A change batch in the snapshot's types: delta-rs hands views, uint64 versions, naive milliseconds;
    a column that a later version added is null in the earlier versions' rows."""
    return pa.RecordBatch.from_arrays(
        [batch.column(field.name).cast(field.type) if field.name in batch.schema.names
         else pa.nulls(batch.num_rows, field.type) for field in schema], schema=schema)


def _without_preimages(batch: pa.RecordBatch) -> pa.RecordBatch:
    return batch.filter(pc.not_equal(batch.column(CHANGE_TYPE), pa.scalar("update_preimage")))


def _last_change_per_key(rows: pa.Table, keys: Sequence[str]) -> pa.Table:
    """Each key's rows of its highest rank: its latest version, and in it a row that stays over a delete.
    Rows that tie (a key twice in one commit) are all kept, so the store refuses them by name."""
    import duckdb

    rank = f"2 * {quote_identifier(COMMIT_VERSION)} + ({quote_identifier(CHANGE_TYPE)} <> 'delete')::INTEGER"
    partition = ", ".join(quote_identifier(key) for key in keys)
    with duckdb.connect(config={"arrow_lossless_conversion": True}) as connection:
        connection.register("changes", rows)
        latest = connection.sql(f"SELECT * FROM changes QUALIFY {rank} = max({rank}) OVER (PARTITION BY {partition})")
        kept: pa.Table = latest.to_arrow_table()
    return kept.cast(rows.schema)
