"""The frozen plan: everything an entity's asset needs at definition and at run time."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ingest_assets.config.models import AutomationStatus, Connection, Granularity, RunType, SchemaPolicy
from ingest_assets.transforms.spec import TransformStep

if TYPE_CHECKING:
    from ingest_assets.plan.derived import DerivedPlan

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


@dataclass(frozen=True)
class ParallelPlan:
    """Read key ranges of `column` at once (in one step), or as Dagster partitions (across steps)."""

    column: str
    partitions: int
    dagster_partitions: bool = False


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

    def describe(self) -> str:
        return self.table or self.path or f"query: {' '.join((self.query or '').split())}"


@dataclass(frozen=True)
class WriteSpec:
    """Where the store writes: a table name for databases, a folder for file stores."""

    table: str | None = None
    path: str | None = None
    # open_mirroring: the schema folder, the table's keyColumns, the entity's own wait after deleting
    # its table folder, and the source column with each row's operation.
    schema: str | None = None
    key_columns: tuple[str, ...] = ()
    wait_seconds: int | None = None
    row_marker_column: str | None = None

    def describe(self) -> str:
        if self.schema and self.table:
            return f"{self.schema}.{self.table}"
        return self.table or self.path or ""


@dataclass(frozen=True)
class WatermarkPlan:
    column: str
    lookback: str | int | None = None
    start: str | int | date | datetime | None = None

    def fingerprint(self) -> dict[str, object]:
        """What a committed cursor is tied to; a change needs a deliberate reset."""
        return {"column": self.column}


@dataclass(frozen=True)
class PartitionPlan:
    column: str
    granularity: Granularity
    start: date | datetime
    end: date | datetime | None
    timezone: str
    end_offset: int


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


@dataclass(frozen=True)
class AuditPlan:
    """Columns added to every row of a load (None: left out)."""

    loaded_at: str | None = None
    run_id: str | None = None
    row_hash: RowHashPlan | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(n for n in (self.loaded_at, self.run_id, self.row_hash and self.row_hash.column) if n)


@dataclass(frozen=True)
class ChecksPlan:
    min_rows: int | None = None
    not_null: tuple[str, ...] = ()
    unique: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceLocation:
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


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

    def code_version(self) -> str:
        """A hash of everything that decides what the asset writes (secrets are references only)."""
        data = asdict(self)
        data.pop("declared_at")
        if data["sample_rows"] is None:
            data.pop("sample_rows")  # unsampled plans keep the code versions they had before sampling existed
        data["home"]["settings"] = self.home.settings.model_dump(mode="json")
        data["store"]["settings"] = self.store.settings.model_dump(mode="json")
        data["transform"] = [step.fingerprint() for step in self.transform]  # no machine's absolute paths
        text = json.dumps(data, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ScheduleDef:
    cron: str
    timezone: str
    status: AutomationStatus


@dataclass(frozen=True)
class SensorDef:
    status: AutomationStatus
    interval_seconds: int


@dataclass(frozen=True)
class FlowPlan:
    name: str
    description: str
    entities: tuple[EntityPlan, ...]
    schedule: ScheduleDef | None
    sensor: SensorDef | None


@dataclass(frozen=True)
class ProjectPlan:
    root: Path
    environment: str | None
    connections: tuple[ConnectionPlan, ...]
    concurrency: int
    retries: int
    flows: tuple[FlowPlan, ...]
    sensor_status: AutomationStatus = "stopped"  # options.sensor_status: sensors start as this says
    # SQL over other assets (see plan/derived.py), planned after the entities they read.
    derived: tuple["DerivedPlan", ...] = ()

    @property
    def entities(self) -> tuple[EntityPlan, ...]:
        return tuple(entity for flow in self.flows for entity in flow.entities)
