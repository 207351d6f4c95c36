"""The frozen plan of an entity: everything its asset needs at definition and at run time.

Each value names the fields that decide what the asset writes in its `fingerprint()`: the asset's
code version hashes those, so reshaping these classes leaves code versions alone.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from ingest_assets.config.project_files import DEFAULT_QUERY_MEMORY_LIMIT, Granularity, RunType, SchemaPolicy
from ingest_assets.connectors.settings import ConnectionSettings as Connection
from ingest_assets.connectors.settings import read_path_fields
from ingest_assets.stores.delta_options import TableHousekeeping
from ingest_assets.stores.open_mirroring.options import MirroredTableOptions
from ingest_assets.transforms.spec import TransformStep

ReadKind = Literal["full", "cursor", "window"]
WriteKind = Literal["append", "replace", "upsert", "merge"]


@dataclass(frozen=True)
class ConnectionPlan:
    name: str
    type: str
    settings: Connection

    @property
    def pool_size(self) -> int | None:
        """The connection limit, which is also the Dagster concurrency pool's limit (None: no pool)."""
        return getattr(self.settings, "pool_size", None)

    def fingerprint(self) -> dict[str, object]:
        settings = self.settings.model_dump(mode="json", exclude=set(read_path_fields(type(self.settings))))
        return {"name": self.name, "type": self.type, "settings": settings}


@dataclass(frozen=True)
class ParallelPlan:
    """Read key ranges of `column` at once (in one step), or as Dagster partitions (across steps)."""

    column: str
    partitions: int
    dagster_partitions: bool = False

    def fingerprint(self) -> dict[str, object]:
        return {"column": self.column, "partitions": self.partitions, "dagster_partitions": self.dagster_partitions}


@dataclass(frozen=True)
class ChangeFeedPlan:
    """Read the home's change feed, by the versions of its watermark (delta's `_commit_version`):
    the rows that changed, each with its kind of change; the last change of each of `keys` (the
    write key of an upsert or merge), or every change without keys."""

    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReadSpec:
    """What the home reads: one of table / query / path, and the columns to keep (all if empty)."""

    table: str | None = None
    query: str | None = None
    path: str | None = None
    columns: tuple[str, ...] = ()
    batch_size: int = 100_000
    # Set for in-step parallel range reads only; Dagster key partitions are on the entity.
    parallel: ParallelPlan | None = None
    # Set for a watermark on the home's change feed. Not in the fingerprint: it follows from the
    # home's type, the watermark and the write key, which the entity's fingerprint holds.
    change_feed: ChangeFeedPlan | None = None

    def describe(self) -> str:
        return self.table or self.path or f"query: {' '.join((self.query or '').split())}"

    def fingerprint(self) -> dict[str, object]:
        return {"table": self.table, "query": self.query, "path": self.path, "columns": self.columns,
                "batch_size": self.batch_size, "parallel": self.parallel.fingerprint() if self.parallel else None}


@dataclass(frozen=True)
class WriteSpec:
    """Where the store writes: a table name for databases, a folder for file stores."""

    table: str | None = None
    path: str | None = None
    # What only the store's type reads: open_mirroring's schema folder, keys, wait and row markers;
    # delta's housekeeping settings of this table.
    store_options: MirroredTableOptions | TableHousekeeping | None = None

    def describe(self) -> str:
        if isinstance(self.store_options, MirroredTableOptions) and self.table:
            return self.store_options.qualified(self.table)
        return self.table or self.path or ""

    def fingerprint(self) -> dict[str, object]:
        # The open_mirroring fields were fields of this class once, so every code version hashes them:
        # their defaults stand in where a store has no options, and versions keep their values.
        mirrored = self.store_options if isinstance(self.store_options, MirroredTableOptions) else MirroredTableOptions()
        table = self.store_options.fingerprint() if isinstance(self.store_options, TableHousekeeping) else {}
        return {"table": self.table, "path": self.path, **mirrored.fingerprint(), **table}


@dataclass(frozen=True)
class WatermarkPlan:
    column: str
    lookback: str | int | None = None
    start: str | int | date | datetime | None = None

    def fingerprint(self) -> dict[str, object]:
        return {"column": self.column, "lookback": self.lookback, "start": self.start}


@dataclass(frozen=True)
class PartitionPlan:
    column: str
    granularity: Granularity
    start: date | datetime
    end: date | datetime | None
    timezone: str
    end_offset: int

    def fingerprint(self) -> dict[str, object]:
        return {"column": self.column, "granularity": self.granularity, "start": self.start, "end": self.end,
                "timezone": self.timezone, "end_offset": self.end_offset}


@dataclass(frozen=True)
class LoadMode:
    """How one run reads and writes (see `load_mode`)."""

    read: ReadKind
    write: WriteKind

    def describe(self) -> str:
        reads = {"cursor": "rows past the watermark", "full": "everything", "window": "the partition window"}
        if (self.read, self.write) == ("cursor", "append"):
            return "append new rows past the watermark"
        if self.write == "replace":
            return "reload everything and replace" if self.read == "full" else f"reload {reads[self.read]} and replace it"
        if self.write == "append":
            return f"read {reads[self.read]} and append"
        return f"{self.write} {reads[self.read]} by key"


def load_mode(
    run_type: RunType, store_incremental: bool | None, partitioned: bool, strategy: WriteKind | None = None,
    has_write_key: bool = False,
) -> LoadMode:
    """What a run reads (from the run type, as hygge documents) and how it writes.

    | run_type    | store incremental | reads                      | default write strategy      |
    | incremental | omitted / true    | rows past the watermark    | upsert by key (append without keys) |
    | incremental | false             | everything, every run      | replace                     |
    | full_drop   | omitted / false   | everything                 | replace                     |
    | full_drop   | true              | everything                 | append (forced append)      |
    Partitioned entities always read exactly their window and by default replace it, which makes
    every run idempotent. An explicit `write_strategy` replaces the default write.
    """
    if partitioned:
        read: ReadKind = "window"
    elif run_type == "incremental" and store_incremental is not False:
        read = "cursor"
    else:
        read = "full"
    if strategy is not None:
        return LoadMode(read, strategy)
    if read == "cursor":
        return LoadMode(read, "upsert" if has_write_key else "append")
    return LoadMode(read, "append" if read == "full" and store_incremental is True else "replace")


@dataclass(frozen=True)
class RowHashPlan:
    column: str
    columns: tuple[str, ...]  # empty: every source column

    def fingerprint(self) -> dict[str, object]:
        return {"column": self.column, "columns": self.columns}


@dataclass(frozen=True)
class AuditPlan:
    """Columns added to every row of a load (None: left out)."""

    loaded_at: str | None = None
    run_id: str | None = None
    row_hash: RowHashPlan | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(n for n in (self.loaded_at, self.run_id, self.row_hash and self.row_hash.column) if n)

    def fingerprint(self) -> dict[str, object]:
        return {"loaded_at": self.loaded_at, "run_id": self.run_id,
                "row_hash": self.row_hash.fingerprint() if self.row_hash else None}


@dataclass(frozen=True)
class ChecksPlan:
    min_rows: int | None = None
    not_null: tuple[str, ...] = ()
    unique: tuple[str, ...] = ()

    def fingerprint(self) -> dict[str, object]:
        return {"min_rows": self.min_rows, "not_null": self.not_null, "unique": self.unique}


@dataclass(frozen=True)
class SourceLocation:
    file: str  # relative to the project's root, as messages show it
    line: int
    root: Path | None = field(default=None, compare=False)  # the project's root, where it is known

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def path(self) -> Path:
        """The file itself (for the UI's link to the source)."""
        return (self.root / self.file) if self.root is not None else Path(self.file).absolute()


@dataclass(frozen=True)
class EntityPlan:
    flow: str
    entity: str
    description: str
    home: ConnectionPlan
    store: ConnectionPlan
    read: ReadSpec
    write: WriteSpec
    run_type: RunType
    store_incremental: bool | None
    keys: tuple[str, ...]
    watermark: WatermarkPlan | None
    partition: PartitionPlan | None
    # Dagster partitions by key: partition i holds the rows whose key modulo the count is i.
    key_partitions: ParallelPlan | None
    checks: ChecksPlan
    # Explicit `write_strategy` (None: the run type's default, see `load_mode`).
    write_strategy: WriteKind | None
    write_key: tuple[str, ...]
    delete_missing: bool
    schema_changes: SchemaPolicy
    audit: AuditPlan
    tags: tuple[tuple[str, str], ...]
    owners: tuple[str, ...]
    sensor: bool
    declared_at: SourceLocation = field(compare=False)
    # Applied in order to the home's stream before the store sees it (empty: none).
    transform: tuple[TransformStep, ...] = ()
    sample_rows: int | None = None  # options.sample_rows of the project's environment
    query_memory_limit: str = DEFAULT_QUERY_MEMORY_LIMIT  # options.query_memory_limit: how, not what
    # `column_descriptions`, for the column schema the UI shows: documentation, not in the fingerprint.
    column_descriptions: tuple[tuple[str, str], ...] = ()

    @property
    def key_path(self) -> tuple[str, str]:
        return (self.flow, self.entity)

    @property
    def label(self) -> str:
        return f"{self.flow}.{self.entity}"

    @property
    def op_name(self) -> str:
        return f"{self.flow}__{self.entity}"

    @property
    def partitioned(self) -> bool:
        return self.partition is not None or self.key_partitions is not None

    def mode(self, run_type: RunType | None = None) -> LoadMode:
        return load_mode(run_type or self.run_type, self.store_incremental, self.partitioned,
                         self.write_strategy, bool(self.write_key))

    @property
    def uses_cursor(self) -> bool:
        return self.mode().read == "cursor"

    def fingerprint(self) -> dict[str, object]:
        """Everything that decides what the asset writes (secrets are references only); not where it is
        declared, nor any machine's absolute paths (a transform's file is its content hash)."""
        data: dict[str, object] = {
            "flow": self.flow, "entity": self.entity, "description": self.description,
            "home": self.home.fingerprint(), "store": self.store.fingerprint(),
            "read": self.read.fingerprint(), "write": self.write.fingerprint(),
            "run_type": self.run_type, "store_incremental": self.store_incremental, "keys": self.keys,
            "watermark": self.watermark.fingerprint() if self.watermark else None,
            "partition": self.partition.fingerprint() if self.partition else None,
            "key_partitions": self.key_partitions.fingerprint() if self.key_partitions else None,
            "checks": self.checks.fingerprint(), "write_strategy": self.write_strategy, "write_key": self.write_key,
            "delete_missing": self.delete_missing, "schema_changes": self.schema_changes,
            "audit": self.audit.fingerprint(), "tags": self.tags, "owners": self.owners, "sensor": self.sensor,
            "transform": [step.fingerprint() for step in self.transform],
        }
        if self.sample_rows is not None:  # unsampled plans keep the code versions they had before sampling existed
            data["sample_rows"] = self.sample_rows
        return data

    def code_version(self) -> str:
        """A hash of the fingerprint: it changes exactly when what the asset writes does."""
        text = json.dumps(self.fingerprint(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]
