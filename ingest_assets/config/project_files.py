"""The shape of the YAML project: `flows/ingest.yml`, `flows/<flow>/flow.yml`, entity files.

Each file is validated on its own against these models (so every error points at its own file and
line); merging flow defaults into entities happens later, in `ingest_assets.plan.build`.
Connection settings are declared by their types, in `ingest_assets.connectors`.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    field_validator,
    model_validator,
)

from ingest_assets.stores.delta_options import HousekeepingSettings
from ingest_assets.stores.open_mirroring.options import MirroredTableSettings
from ingest_assets.transforms.settings import TransformSettings

RunType = Literal["full_drop", "incremental"]
WriteStrategy = Literal["append", "replace", "upsert", "merge"]
SchemaPolicy = Literal["evolve", "fail", "ignore"]
AutomationStatus = Literal["running", "stopped"]
Granularity = Literal["hourly", "daily", "weekly", "monthly"]
# How a run's steps execute (see defs/executor.py).
ExecutorKind = Literal["multiprocess", "in_process", "celery"]

# Dagster's rules for tag keys and values (definitions fail to load otherwise).
_TAG_KEY = re.compile(r"^([A-Za-z0-9_.-]{1,63}/)?[A-Za-z0-9_.-]{1,63}$")
_TAG_VALUE = re.compile(r"^[A-Za-z0-9_.-]{0,63}$")
_OWNER = re.compile(r"^(team:[A-Za-z0-9_.-]+|[^@\s]+@[^@\s]+\.[^@\s]+)$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def is_valid_name(value: str) -> bool:
    """Flow, entity and connection names: they become parts of Dagster asset keys and op names."""
    return bool(_NAME.match(value))


def _check_name(value: str) -> str:
    if not is_valid_name(value):
        raise ValueError(
            f"{value!r} is not a valid name -> use letters, digits and underscores, "
            "starting with a letter (it becomes part of a Dagster asset key)"
        )
    return value


# ---- project file (flows/ingest.yml) -------------------------------------------------------------


DEFAULT_QUERY_MEMORY_LIMIT = "25%"  # of the machine, per DuckDB session (see sql/duckdb_session.py)


class Options(Model):
    concurrency: PositiveInt = 4
    # How many entities (of one flow, reading one connection and writing one) share a step: a step
    # costs a process and a code-location load, so small tables go many to a step (1: a step each).
    entities_per_step: PositiveInt = 50
    batch_size: PositiveInt = 100_000
    retries: Annotated[int, Field(ge=0, le=10)] = 2
    schedule_status: AutomationStatus = "stopped"
    sensor_status: AutomationStatus = "stopped"
    # Sample mode (development): every entity reads at most this many rows, replaces its destination
    # with them and records no watermark (see runtime/decide.py, `_sample`). Usually set per environment.
    sample_rows: PositiveInt | None = None
    # What a DuckDB session that runs the project's SQL (derived assets, SQL transforms) may hold in
    # memory before it spills to disk: a size DuckDB reads ("4GB", "512MiB") or a share of the machine.
    query_memory_limit: str = DEFAULT_QUERY_MEMORY_LIMIT
    # multiprocess: a process per step on this machine, at most `concurrency` at once; in_process: the
    # run's own process, one step after another; celery: steps as Celery tasks on workers (the `celery`
    # extra), bounded by the workers and the instance's pools.
    executor: ExecutorKind = "multiprocess"

    @field_validator("query_memory_limit")
    @classmethod
    def _memory_size(cls, value: str) -> str:
        if not re.fullmatch(r"\d+(\.\d+)?\s*(%|[KMGT]i?B)", value):
            raise ValueError(f"{value!r} is not a memory size -> give a size DuckDB reads ('4GB', '512MiB') or a "
                             "share of the machine ('25%')")
        return value


class ProjectFile(Model):
    name: str = "ingest"
    # Each a connection type's settings (`connectors.settings.ConnectionSettings`): projects are validated
    # by `connectors.plugins.project_file_model()`, whose `connections` are the registered types' union.
    connections: dict[str, Model] = Field(default_factory=dict)
    options: Options = Field(default_factory=Options)
    default_environment: str | None = None
    # Environment overrides are partial settings merged into `connections` and `options` before
    # these models validate them, so they are checked as strictly as the base settings.
    environments: dict[str, EnvironmentOverrides] = Field(default_factory=dict)

    @field_validator("connections")
    @classmethod
    def _connection_names(cls, value: dict[str, Model]) -> dict[str, Model]:
        for name in value:
            _check_name(name)
        return value


class EnvironmentOverrides(Model):
    connections: dict[str, dict[str, object]] = Field(default_factory=dict)
    options: dict[str, object] = Field(default_factory=dict)


# ---- entity settings (flow defaults, entity files) ----------------------------------------------


class HomeSettings(Model):
    """What to read. Exactly one of `table`, `query`, `path` (what the home's type accepts)."""

    connection: str | None = None
    table: str | None = None
    # A query may hold `{query_filter}` where the incremental predicate goes; without it the query
    # is wrapped as a subquery and filtered outside.
    query: str | None = None
    query_file: str | None = None  # a .sql file, relative to the YAML file that names it
    path: str | None = None


class StoreTarget(Model):
    """Where to write. `table` for databases, `path` for file stores; both default from the names."""

    connection: str | None = None
    table: str | None = None
    path: str | None = None
    incremental: bool | None = None


class StoreSettings(MirroredTableSettings, HousekeepingSettings, StoreTarget):
    """An entity's `store:`: where to write, and next to it (as hygge has them) the settings that only
    one store type reads, declared by that type (open_mirroring's, delta's housekeeping: the ones given
    override the connection's); the plan refuses them elsewhere."""


class WatermarkSettings(Model):
    column: str
    # How far before the last watermark to re-read, for rows that arrive late:
    # a duration ("2h", "3 days") for time columns, a number for integer columns.
    lookback: str | int | None = None
    # Where the first run starts (omitted: everything).
    start: str | int | date | datetime | None = None


class PartitionSettings(Model):
    column: str
    granularity: Granularity = "daily"
    start: date | datetime
    end: date | datetime | None = None
    timezone: str = "UTC"
    end_offset: int = 0


class ParallelSettings(Model):
    """Split one read into key ranges of `column`, read at the same time over several connections.

    With `dagster_partitions: true` the table becomes `partitions` Dagster partitions instead (rows
    whose key modulo `partitions` is the partition number), so a backfill spreads them over workers.
    """

    column: str
    partitions: Annotated[int, Field(ge=2, le=64)] = 4
    dagster_partitions: bool = False


class ChecksSettings(Model):
    min_rows: Annotated[int, Field(ge=0)] | None = None
    not_null: list[str] = Field(default_factory=list)
    unique: list[str] = Field(default_factory=list)


class RowHashSettings(Model):
    """A hash of chosen columns per row, for downstream de-duplication (mkpipe's `mkpipe_id`)."""

    column: str = Field(default="_row_hash", min_length=1)
    columns: list[str] | None = None  # default: every source column


class AuditSettings(Model):
    """Columns the load adds to every row; each is off unless named (`true` takes the default name).

    `audit: true` is short for loaded_at and run_id with their default names.
    """

    loaded_at: str | None = None  # when this run started extracting (UTC)
    run_id: str | None = None  # the Dagster run id
    row_hash: RowHashSettings | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthands(cls, value: object) -> object:
        if value is True:
            return {"loaded_at": "_loaded_at", "run_id": "_run_id"}
        if not isinstance(value, dict):
            return value
        value = dict(value)
        for name, default in (("loaded_at", "_loaded_at"), ("run_id", "_run_id")):
            if value.get(name) is True:
                value[name] = default
            elif value.get(name) is False:
                value[name] = None
        row_hash = value.get("row_hash")
        if row_hash is True:
            value["row_hash"] = {}
        elif row_hash is False:
            value["row_hash"] = None
        elif isinstance(row_hash, str):
            value["row_hash"] = {"column": row_hash}
        return value

    @model_validator(mode="after")
    def _distinct_names(self) -> Self:
        names = [n for n in (self.loaded_at, self.run_id, self.row_hash and self.row_hash.column) if n]
        if len(set(names)) < len(names):
            raise ValueError(f"audit columns share a name ({', '.join(names)}) -> give each its own name")
        return self


Tags = dict[str, str]


def _normalize_tags(value: object) -> object:
    """`[a, b]` (mkpipe style) means `{a: "", b: ""}`; Dagster's `tag:a` selects both forms."""
    if isinstance(value, list):
        return {str(item): "" for item in value}
    return value


def _check_tags(value: Tags | None) -> Tags | None:
    for key, tag_value in (value or {}).items():
        if not _TAG_KEY.match(key):
            raise ValueError(
                f"tag key {key!r} is not valid -> letters, digits, '_', '.', '-' (at most 63), "
                "optionally with one 'prefix/'"
            )
        if not _TAG_VALUE.match(str(tag_value)):
            raise ValueError(
                f"tag value {tag_value!r} of {key!r} is not valid -> letters, digits, '_', '.', '-' "
                "(at most 63)"
            )
    return value


def _check_owners(value: list[str] | None) -> list[str] | None:
    for owner in value or []:
        if not _OWNER.match(owner):
            raise ValueError(f"owner {owner!r} is not valid -> an email address or 'team:name'")
    return value


class EntitySettings(Model):
    """Settings an entity may set and a flow may default (`defaults:`)."""

    home: HomeSettings | None = None
    store: StoreSettings | None = None
    run_type: RunType | None = None
    columns: list[str] | None = None
    # Column -> its description, shown in the asset's column schema (documentation: no code version).
    column_descriptions: dict[str, str] | None = None
    keys: list[str] | None = None
    watermark: WatermarkSettings | None = None
    partition: PartitionSettings | None = None
    parallel: ParallelSettings | None = None
    tags: Tags | None = None
    owners: list[str] | None = None
    checks: ChecksSettings | None = None
    batch_size: PositiveInt | None = None
    sensor: bool | None = None
    # How a load changes the destination (mkpipe's names). Default: replace for full loads and
    # partitions, upsert by `keys` for incremental loads (append when there are no keys).
    write_strategy: WriteStrategy | None = None
    write_key: list[str] | None = None  # default: keys
    delete_missing: bool | None = None  # merge: delete rows whose keys a full snapshot no longer has
    schema_changes: SchemaPolicy | None = None  # default: evolve
    audit: AuditSettings | None = None
    # SQL or Python between home and store (see ingest_assets.transforms); an entity's replaces the defaults'.
    transform: TransformSettings | None = None

    @field_validator("write_key", mode="before")
    @classmethod
    def _write_key_shorthand(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("home", "store", mode="before")
    @classmethod
    def _connection_shorthand(cls, value: object) -> object:
        # `home: shop_db` is short for `home: {connection: shop_db}`.
        return {"connection": value} if isinstance(value, str) else value

    @field_validator("watermark", mode="before")
    @classmethod
    def _watermark_shorthand(cls, value: object) -> object:
        return {"column": value} if isinstance(value, str) else value

    @field_validator("tags", mode="before")
    @classmethod
    def _tags_list(cls, value: object) -> object:
        return _normalize_tags(value)

    @field_validator("tags")
    @classmethod
    def _tags_valid(cls, value: Tags | None) -> Tags | None:
        return _check_tags(value)

    @field_validator("owners")
    @classmethod
    def _owners_valid(cls, value: list[str] | None) -> list[str] | None:
        return _check_owners(value)


class EntityFile(EntitySettings):
    name: str | None = None  # defaults to the file name without extension
    description: str | None = None

    @field_validator("name")
    @classmethod
    def _name_valid(cls, value: str | None) -> str | None:
        return None if value is None else _check_name(value)


class ScheduleSettings(Model):
    cron: str
    timezone: str = "UTC"
    status: AutomationStatus | None = None  # default: options.schedule_status


class SensorSettings(Model):
    """The flow's new-data sensor over its incremental entities (`sensor: false` turns it off)."""

    enabled: bool = True
    status: AutomationStatus | None = None  # default: options.sensor_status
    interval_seconds: PositiveInt = 60


class LabelledFile(Model):
    """A file that gives its assets `tags` and `owners` (a flow, a derived asset): one way to validate them.

    The fields are declared by each file, where they belong in its order of keys.
    """

    @field_validator("tags", mode="before", check_fields=False)
    @classmethod
    def _tags_list(cls, value: object) -> object:
        return _normalize_tags(value)

    @field_validator("tags", check_fields=False)
    @classmethod
    def _tags_valid(cls, value: Tags) -> Tags:
        return _check_tags(value) or {}

    @field_validator("owners", check_fields=False)
    @classmethod
    def _owners_valid(cls, value: list[str]) -> list[str]:
        return _check_owners(value) or []


class FlowFile(LabelledFile):
    name: str | None = None  # defaults to the flow's folder name
    description: str | None = None
    home: HomeSettings | None = None
    store: StoreSettings | None = None
    run_type: RunType = "full_drop"
    defaults: EntitySettings = Field(default_factory=EntitySettings)
    tags: Tags = Field(default_factory=dict)
    owners: list[str] = Field(default_factory=list)
    schedule: ScheduleSettings | None = None
    sensor: SensorSettings = Field(default_factory=SensorSettings)
    entities: list[EntityFile] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name_valid(cls, value: str | None) -> str | None:
        return None if value is None else _check_name(value)

    @field_validator("home", "store", mode="before")
    @classmethod
    def _connection_shorthand(cls, value: object) -> object:
        return {"connection": value} if isinstance(value, str) else value

    @field_validator("schedule", mode="before")
    @classmethod
    def _cron_shorthand(cls, value: object) -> object:
        return {"cron": value} if isinstance(value, str) else value

    @field_validator("sensor", mode="before")
    @classmethod
    def _sensor_shorthand(cls, value: object) -> object:
        return {"enabled": value} if isinstance(value, bool) else value


ProjectFile.model_rebuild()
