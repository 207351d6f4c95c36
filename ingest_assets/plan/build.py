"""The one pure function that merges project options, flow settings, flow defaults and entities.

It also checks what no single file can: connection names, what each connection type can read or
write, watermarks for incremental entities, cron strings, and duplicate asset keys or targets.
"""

from __future__ import annotations

import dataclasses
import difflib
import zoneinfo
from collections import defaultdict
from pathlib import Path
from typing import Any, Literal, TypeVar

from ingest_assets.config.loader import LoadedEntity, LoadedFlow, LoadedProject
from ingest_assets.config.named_files import Problem, read_named_file
from ingest_assets.config.project_files import (
    AuditSettings,
    ChecksSettings,
    EntitySettings,
    HomeSettings,
    Model,
    Options,
    StoreSettings,
    WriteStrategy,
)
from ingest_assets.config.store_names import outside_the_store
from ingest_assets.config.yaml_source import LocatedDict, Location
from ingest_assets.connectors import registry
from ingest_assets.connectors.settings import ConnectionSettings
from ingest_assets.errors import ConfigProblem
from ingest_assets.plan.cursor import parse_duration_seconds
from ingest_assets.plan.model import (
    AuditPlan,
    ChangeFeedPlan,
    ChecksPlan,
    ConnectionPlan,
    EntityPlan,
    LoadMode,
    ParallelPlan,
    PartitionPlan,
    ReadSpec,
    RowHashPlan,
    SourceLocation,
    WatermarkPlan,
    WriteSpec,
    load_mode,
)
from ingest_assets.plan.project import FlowPlan, ProjectPlan, ScheduleDef, SensorDef
from ingest_assets.stores.delta_options import HOUSEKEEPING_SETTINGS, TableHousekeeping
from ingest_assets.stores.open_mirroring.options import MIRRORED_TABLE_SETTINGS, MirroredTableOptions
from ingest_assets.transforms.validate import transform_steps

ModelT = TypeVar("ModelT", bound=Model)


def is_valid_cron(cron: str) -> bool:
    # The same parser Dagster applies when it loads a schedule, so both accept the same strings.
    from dagster._utils.schedules import is_valid_cron_string

    return is_valid_cron_string(cron)


class _Located:
    """Finds the YAML line of a setting, looking in the entity, then flow defaults, then the flow."""

    def __init__(self, flow: LoadedFlow, entity: LoadedEntity) -> None:
        self.flow, self.entity = flow, entity

    def _layers(self) -> tuple[object, ...]:
        return (self.entity.raw, self.flow.raw.get("defaults"), self.flow.raw)

    def __call__(self, *path: str) -> Location:
        # `home` and `store` merge key by key, so the layer that sets the whole path comes first.
        for exact in (True, False):
            for node in self._layers():
                location = _find(node, path, exact)
                if location is not None:
                    return location
        return self.entity.location

    def connection(self, role: str) -> Location:
        """The line that names the entity's home or store connection (`home: x` or `connection: x`)."""
        for node in self._layers():
            if not isinstance(node, LocatedDict):
                continue
            value = node.get(role)
            if isinstance(value, str):
                return node.location_of(role)
            if isinstance(value, LocatedDict) and "connection" in value:
                return value.location_of("connection")
        return self(role)


def _find(node: object, path: tuple[str, ...], exact: bool = False) -> Location | None:
    """The line of `path` in `node`; unless `exact`, the deepest part of it that is there."""
    location = None
    for part in path:
        if not (isinstance(node, LocatedDict) and part in node):
            return None if exact else location
        location = node.location_of(part)
        node = node[part]
    return location


def _connection_plan(name: str, settings: Model) -> ConnectionPlan:
    # The project file validated each connection against its type's settings model (connectors/plugins.py),
    # whose `type` field is the discriminator; config/ itself does not know the connection models.
    assert isinstance(settings, ConnectionSettings)
    return ConnectionPlan(name, settings.type, settings)


def build_project_plan(project: LoadedProject) -> tuple[ProjectPlan, list[ConfigProblem]]:
    problems: list[ConfigProblem] = []
    options = project.settings.options
    connections = {name: _connection_plan(name, settings) for name, settings in project.settings.connections.items()}
    flows = []
    for flow in project.flows:
        entities = []
        for entity in flow.entities:
            entity_plan = _entity_plan(project.root, flow, entity, connections, options.batch_size, problems)
            if entity_plan is not None:
                entities.append(dataclasses.replace(entity_plan, sample_rows=options.sample_rows,
                                                    query_memory_limit=options.query_memory_limit))
        flows.append(_flow_plan(flow, tuple(entities), options, problems))

    _check_unique(flows, problems)
    plan = ProjectPlan(
        root=project.root,
        environment=project.environment,
        connections=tuple(connections.values()),
        concurrency=options.concurrency,
        retries=options.retries,
        flows=tuple(flows),
        sensor_status=options.sensor_status,
        entities_per_step=options.entities_per_step,
        executor=options.executor,
    )
    return plan, problems


def _flow_plan(flow: LoadedFlow, entities: tuple[EntityPlan, ...], options: Options,
               problems: list[ConfigProblem]) -> FlowPlan:
    settings = flow.settings
    schedule = None
    if settings.schedule is not None:
        if not is_valid_cron(settings.schedule.cron):
            location = _find(flow.raw, ("schedule", "cron")) or flow.location
            problems.append(ConfigProblem(
                location.file, location.line, flow.name,
                f"schedule: invalid cron string ({settings.schedule.cron!r}) -> five fields "
                "'minute hour day-of-month month day-of-week', e.g. '0 6 * * *' for 06:00 daily",
            ))
        location = _find(flow.raw, ("schedule", "timezone")) or flow.location
        _check_timezone(settings.schedule.timezone, location, flow.name, "schedule.timezone", problems)
        schedule = ScheduleDef(
            settings.schedule.cron, settings.schedule.timezone, settings.schedule.status or options.schedule_status
        )
    sensor = None
    if settings.sensor.enabled:
        sensor = SensorDef(settings.sensor.status or options.sensor_status, settings.sensor.interval_seconds)
    return FlowPlan(flow.name, settings.description or "", entities, schedule, sensor)


def _merge_model(model_type: type[ModelT], *layers: Model | None) -> ModelT:
    """Merge partial models key by key; later layers win for the keys they set."""
    merged: dict[str, Any] = {}
    for layer in layers:
        if layer is not None:
            merged.update(layer.model_dump(exclude_unset=True))
    return model_type.model_validate(merged)


def _entity_plan(
    root: Path,
    flow: LoadedFlow,
    entity: LoadedEntity,
    connections: dict[str, ConnectionPlan],
    default_batch_size: int,
    problems: list[ConfigProblem],
) -> EntityPlan | None:
    where = _Located(flow, entity)
    label = f"{flow.name}.{entity.name}"
    count_before = len(problems)

    def problem(location: Location, message: str) -> None:
        problems.append(ConfigProblem(location.file, location.line, label, message))

    defaults: EntitySettings = flow.settings.defaults
    mine = entity.settings
    home_settings = _merge_model(HomeSettings, flow.settings.home, defaults.home, mine.home)
    store_settings = _merge_model(StoreSettings, flow.settings.store, defaults.store, mine.store)
    home = _connection(home_settings.connection, "home", connections, where.connection("home"), problem)
    store = _connection(store_settings.connection, "store", connections, where.connection("store"), problem)

    run_type = mine.run_type or defaults.run_type or flow.settings.run_type
    columns = tuple(mine.columns if mine.columns is not None else defaults.columns or ())
    keys = tuple(mine.keys if mine.keys is not None else defaults.keys or ())
    watermark_settings = mine.watermark or defaults.watermark
    partition_settings = mine.partition or defaults.partition
    parallel_settings = mine.parallel or defaults.parallel
    checks_settings = [c for c in (defaults.checks, mine.checks) if c is not None]
    tags = {**flow.settings.tags, **(defaults.tags or {}), **(mine.tags or {})}
    descriptions = {**(defaults.column_descriptions or {}), **(mine.column_descriptions or {})}
    owners = list(dict.fromkeys([*flow.settings.owners, *(defaults.owners or []), *(mine.owners or [])]))

    read = None
    if home is not None:
        read = _read_spec(home, home_settings, entity.name, columns,
                          mine.batch_size or defaults.batch_size or default_batch_size, where, problem, root)
    parallel = None
    if parallel_settings is not None:
        parallel = ParallelPlan(parallel_settings.column, parallel_settings.partitions,
                                parallel_settings.dagster_partitions)
        if home is not None and not registry.connector(home.type).parallel_reads:
            problem(where("parallel"), f"home {home.name!r} ({home.type}) cannot read in parallel -> remove "
                    "'parallel:' (parallel reads are for database homes)")
        if parallel.dagster_partitions and (watermark_settings or partition_settings):
            problem(where("parallel"), "parallel.dagster_partitions with a watermark or partition -> key "
                    "partitions reload their bucket every run; remove 'dagster_partitions' or the other setting")
    key_partitions = parallel if parallel is not None and parallel.dagster_partitions else None
    if read is not None and parallel is not None and key_partitions is None:
        read = dataclasses.replace(read, parallel=parallel)
    strategy = mine.write_strategy or defaults.write_strategy
    # A store may name a default key (Open Mirroring's key_columns, as hygge has it).
    store_keys = tuple(getattr(store.settings, "key_columns", ()) if store is not None else ())
    write_key = tuple(mine.write_key if mine.write_key is not None else defaults.write_key or keys or store_keys)
    write = None
    if store is not None:
        write = _write_spec(store, store_settings, flow.name, entity.name, write_key, where, problem)
    delete_missing = bool(mine.delete_missing if mine.delete_missing is not None else defaults.delete_missing)
    partitioned = partition_settings is not None or key_partitions is not None
    mode = load_mode(run_type, store_settings.incremental, partitioned, strategy, bool(write_key))
    _check_write_strategy(mode, strategy, write_key, delete_missing, store_settings.incremental, where, problem)
    if store is not None:
        _check_store_capabilities(store, mode, partitioned, mine.checks or defaults.checks, where, problem)
    audit = _audit_plan(_merge_model(AuditSettings, defaults.audit, mine.audit))
    if watermark_settings is not None and partition_settings is not None:
        problem(where("partition"), "both watermark and partition are set -> a partitioned entity loads "
                "its window; remove one of them")
    if mode.read == "cursor" and watermark_settings is None:
        problem(where("run_type"), f"incremental entity has no watermark column (run_type: {run_type}) -> "
                "add 'watermark: <column>' or set run_type: full_drop")
    watermark = None
    if watermark_settings is not None:
        lookback = watermark_settings.lookback
        if isinstance(lookback, str) and parse_duration_seconds(lookback) is None:
            problem(where("watermark", "lookback"), f"watermark.lookback: not a duration ({lookback!r}) -> "
                    "e.g. '30m', '2h', '3 days' (or a number for integer watermarks)")
        if lookback is not None and not write_key:
            problem(where("watermark", "lookback"), "watermark.lookback re-reads rows already loaded, which "
                    "would duplicate them -> declare 'keys:' so re-read rows replace their earlier copies")
        elif lookback is not None and mode.write == "append":
            problem(where("watermark", "lookback"), "watermark.lookback re-reads rows already loaded, which "
                    "write_strategy: append would duplicate -> use write_strategy: upsert (the default with keys)")
        watermark = WatermarkPlan(watermark_settings.column, lookback, watermark_settings.start)
        if home is not None and read is not None:
            read = dataclasses.replace(read, change_feed=_change_feed(home, watermark, mode, write_key, where, problem))
    partition = None
    if partition_settings is not None:
        _check_timezone(partition_settings.timezone, where("partition", "timezone"), label, "partition.timezone",
                        problems)
        partition = PartitionPlan(
            partition_settings.column, partition_settings.granularity, partition_settings.start,
            partition_settings.end, partition_settings.timezone, partition_settings.end_offset,
        )

    transform_settings = mine.transform or defaults.transform
    transform = None
    if transform_settings is not None:
        layer = entity.raw if mine.transform is not None else flow.raw.get("defaults")
        node = layer.get("transform") if isinstance(layer, LocatedDict) else None
        transform = transform_steps(transform_settings, node, where("transform"), root, problem)

    checks = ChecksPlan(
        min_rows=next((c.min_rows for c in reversed(checks_settings) if c.min_rows is not None), None),
        not_null=tuple(dict.fromkeys(col for c in checks_settings for col in c.not_null)),
        unique=tuple(dict.fromkeys(col for c in checks_settings for col in c.unique)),
    )
    if columns:
        # With a transform, keys, checks and audit columns name the transform's output, not `columns`.
        output = {} if transform_settings is not None else {
            "keys": keys, "write_key": write_key if write_key != keys else (), "checks.not_null": checks.not_null,
            "checks.unique": checks.unique,
            "audit.row_hash.columns": audit.row_hash.columns if audit.row_hash else ()}
        needed = {**output,
                  "column_descriptions": tuple(descriptions) if transform_settings is None else (),
                  "watermark": (watermark.column,) if watermark else (),
                  "partition": (partition.column,) if partition else (),
                  "parallel": (parallel.column,) if parallel else ()}
        for setting, names in needed.items():
            for name in names:
                if name not in columns:
                    problem(where("columns"), f"{setting} names column {name!r} which 'columns' leaves out "
                            f"-> add it to columns ({', '.join(columns)})")
        for name in audit.columns if transform_settings is None else ():
            if name in columns:
                problem(where("audit"), f"audit column {name!r} is also a source column -> give the audit "
                        "column another name")

    if len(problems) > count_before or home is None or store is None or read is None or write is None:
        return None
    return EntityPlan(
        flow=flow.name,
        entity=entity.name,
        description=entity.settings.description or flow.settings.description or "",
        home=home,
        store=store,
        read=read,
        write=write,
        run_type=run_type,
        store_incremental=store_settings.incremental,
        keys=keys,
        watermark=watermark,
        partition=partition,
        key_partitions=key_partitions,
        checks=checks,
        write_strategy=strategy,
        write_key=write_key,
        delete_missing=delete_missing,
        schema_changes=mine.schema_changes or defaults.schema_changes or "evolve",
        audit=audit,
        tags=tuple(sorted(tags.items())),
        owners=tuple(owners),
        sensor=mine.sensor if mine.sensor is not None else defaults.sensor is not False,
        declared_at=SourceLocation(entity.location.file, entity.location.line, root),
        transform=transform or (),
        column_descriptions=tuple(descriptions.items()),
    )


def _change_feed(home: ConnectionPlan, watermark: WatermarkPlan, mode: LoadMode, write_key: tuple[str, ...],
                 where: _Located, problem: Problem) -> ChangeFeedPlan | None:
    """A watermark on the home's change feed (delta's `_commit_version`), whose values are table versions."""
    if registry.connector(home.type).change_feed_watermark != watermark.column:
        return None
    for setting, value in (("start", watermark.start), ("lookback", watermark.lookback)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            problem(where("watermark", setting), f"watermark.{setting} {value!r}: {watermark.column} counts the "
                    "table's versions -> give a version number (or a number of versions for lookback)")
    # An upsert or merge takes one row per key: the last change of each.
    return ChangeFeedPlan(write_key if mode.write in ("upsert", "merge") else ())


def _check_write_strategy(mode: LoadMode, strategy: WriteStrategy | None, write_key: tuple[str, ...],
                          delete_missing: bool, store_incremental: bool | None, where: _Located,
                          problem: Problem) -> None:
    """Combinations of write strategy, run type and keys that cannot do what they say."""
    if strategy is not None and store_incremental is not None:
        problem(where("write_strategy"), "both write_strategy and store.incremental are set -> store.incremental "
                "is hygge's shorthand for a write strategy; keep write_strategy and remove store.incremental")
    if mode.write in ("upsert", "merge") and not write_key:
        problem(where("write_strategy"), f"write_strategy: {mode.write} needs the key that identifies a row -> "
                "add 'write_key: [<column>, ...]' (or 'keys:')")
    if delete_missing and mode.write != "merge":
        problem(where("delete_missing"), "delete_missing belongs to write_strategy: merge -> set "
                "write_strategy: merge, or remove delete_missing")
    elif delete_missing and mode.read == "cursor":
        problem(where("delete_missing"), "delete_missing on an incremental entity would delete every row not "
                "changed since the last run -> use run_type: full_drop (complete snapshots) or partitions")
    if mode.write == "replace" and mode.read == "cursor":
        problem(where("write_strategy"), "write_strategy: replace on an incremental entity would keep only the "
                "rows changed since the last run -> use upsert or append, or run_type: full_drop")
    if mode.write == "append" and mode.read == "window":
        problem(where("write_strategy"), "write_strategy: append on a partitioned entity duplicates rows when "
                "a partition is loaded again -> use replace (the default) or upsert")


def _audit_plan(settings: AuditSettings) -> AuditPlan:
    row_hash = None
    if settings.row_hash is not None:
        row_hash = RowHashPlan(settings.row_hash.column, tuple(settings.row_hash.columns or ()))
    return AuditPlan(settings.loaded_at, settings.run_id, row_hash)


def _connection(name: str | None, role: Literal["home", "store"], connections: dict[str, ConnectionPlan],
                location: Location, problem: Problem) -> ConnectionPlan | None:
    usable = registry.home_types() if role == "home" else registry.store_types()
    candidates = sorted(n for n, c in connections.items() if c.type in usable)
    if name is None:
        problem(location, f"no {role} connection -> set '{role}: <connection>' in flow.yml or the entity "
                f"(connections that can be a {role}: {', '.join(candidates) or 'none yet'})")
        return None
    if name not in connections:
        close = difflib.get_close_matches(name, list(connections), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        problem(location, f"{role} connection {name!r} is not defined in flows/ingest.yml -> {hint}"
                f"defined: {', '.join(sorted(connections)) or 'none'}")
        return None
    plan = connections[name]
    if plan.type not in usable:
        problem(location, f"connection {name!r} of type {plan.type!r} cannot be a {role} -> {role} types: "
                f"{', '.join(usable)}")
        return None
    return plan


def _read_spec(home: ConnectionPlan, settings: HomeSettings, entity: str, columns: tuple[str, ...],
               batch_size: int, where: _Located, problem: Problem, root: Path) -> ReadSpec | None:
    accepted = registry.connector(home.type).read_kinds
    given: dict[str, str] = {kind: getattr(settings, kind) for kind in _READ_SETTINGS if getattr(settings, kind)}
    for kind in given:
        if _READ_SETTINGS[kind] not in accepted:
            problem(where("home", kind), f"home {home.name!r} ({home.type}) cannot read a {kind} -> use "
                    f"{' or '.join(sorted(accepted))}")
            return None
    if len(given) > 1:
        problem(where("home"), f"home sets {' and '.join(given)} -> set exactly one of them")
        return None
    if not given:
        if "table" not in accepted:
            problem(where("home"), f"missing what to read from {home.name!r} ({home.type}) -> add "
                    "'home: {path: <file, folder or glob>}' to the entity")
            return None
        given = {"table": entity}  # database homes read the table named like the entity
    if "query_file" in given:
        query = _read_query_file(root, given.pop("query_file"), where("home", "query_file"), problem)
        if query is None:
            return None
        given["query"] = query
    return ReadSpec(table=given.get("table"), query=given.get("query"), path=given.get("path"), columns=columns,
                    batch_size=batch_size)


# Each read setting and the kind of read it is (what a connection type must accept).
_READ_SETTINGS = {"table": "table", "query": "query", "query_file": "query", "path": "path"}


def _read_query_file(root: Path, name: str, location: Location, problem: Problem) -> str | None:
    """The text of a .sql file named relative to the YAML file that names it."""
    text = read_named_file(root, root / Path(location.file).parent / name, "query_file", name, location, problem)
    if text is None:
        return None
    if not text.strip():
        problem(location, f"query_file {name!r} is empty -> write the SELECT statement in it")
        return None
    return text.strip().rstrip(";")


def _write_spec(store: ConnectionPlan, settings: StoreSettings, flow: str, entity: str, write_key: tuple[str, ...],
                where: _Located, problem: Problem) -> WriteSpec | None:
    connector = registry.connector(store.type)
    kind = connector.write_kind
    other = "path" if kind == "table" else "table"
    if getattr(settings, other):
        problem(where("store", other), f"store {store.name!r} ({store.type}) writes a {kind}, not a {other} "
                f"-> use '{kind}:' (default {flow}.{entity} / {flow}/{entity})")
        return None
    readers = registry.store_setting_readers()
    unknown = [name for name in type(settings).model_fields
               if name in readers and name in settings.model_fields_set and name not in connector.store_settings]
    for name in unknown:
        setting = "schema" if name == "schema_name" else name
        problem(where("store", setting), f"store setting {setting!r} is for {' and '.join(readers[name])} stores, "
                f"and {store.name!r} is {store.type} -> remove it")
    if unknown:
        return None
    if connector.store_settings == frozenset(MIRRORED_TABLE_SETTINGS):
        # Open Mirroring, as hygge names tables: the entity's name, in the store's schema (if any).
        # The table is a folder of the landing zone.
        table = settings.table or entity
        schema_inside = settings.schema_name is None or inside_the_store(settings.schema_name,
                                                                           where("store", "schema"), problem)
        if not inside_the_store(table, where("store", "table"), problem) or not schema_inside:
            return None
        options = MirroredTableOptions.of(settings, getattr(store.settings, "schema_name", None), write_key)
        return WriteSpec(table=table, store_options=options)
    if kind == "table":
        return WriteSpec(table=settings.table or f"{flow}.{entity}")
    path = settings.path or f"{flow}/{entity}"
    if not inside_the_store(path, where("store", "path"), problem):
        return None
    # A delta table's own housekeeping settings, over the connection's.
    delta = connector.store_settings == frozenset(HOUSEKEEPING_SETTINGS)
    return WriteSpec(path=path, store_options=TableHousekeeping.of(settings) if delta else None)


def inside_the_store(name: str, location: Location, problem: Problem) -> bool:
    """Whether a store's folder name stays under the store's root; if not, its problem is recorded."""
    outside = outside_the_store(name)
    if outside is not None:
        problem(location, outside)
    return outside is None


def _check_store_capabilities(store: ConnectionPlan, mode: LoadMode, partitioned: bool,
                              checks: ChecksSettings | None, where: _Located, problem: Problem) -> None:
    """What the store's type cannot do (registry capabilities), refused with the alternative."""
    connector = registry.connector(store.type)
    if mode.write not in connector.write_strategies:
        allowed = " or ".join(sorted(connector.write_strategies))
        problem(where("write_strategy"), f"store {store.name!r} ({store.type}) can {allowed}, not "
                f"{mode.write} -> use a database, duckdb, delta, parquet or open_mirroring store to {mode.write} by key")
    if partitioned and not connector.partitioned_writes:
        problem(where("partition"), f"store {store.name!r} ({store.type}) cannot replace one partition's rows -> "
                "use a watermark (run_type: incremental) instead of partitions for this store")
    if not connector.counts_table and checks is not None and (checks.min_rows is not None or checks.not_null
                                                               or checks.unique):
        problem(where("checks"), f"store {store.name!r} ({store.type}) cannot count or query its table, so "
                "checks min_rows, not_null and unique cannot run -> remove them (check the table where it is "
                "read, e.g. in Fabric)")


def _check_timezone(name: str, location: Location, label: str, setting: str, problems: list[ConfigProblem]) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        problems.append(ConfigProblem(location.file, location.line, label,
                                      f"{setting}: unknown time zone ({name!r}) -> an IANA name such as "
                                      "'UTC' or 'Europe/Amsterdam'"))


def _check_unique(flows: list[FlowPlan], problems: list[ConfigProblem]) -> None:
    by_key: dict[tuple[str, str], list[EntityPlan]] = defaultdict(list)
    by_target: dict[tuple[str, str], list[EntityPlan]] = defaultdict(list)
    for flow in flows:
        for entity in flow.entities:
            by_key[entity.key_path].append(entity)
            by_target[(entity.store.name, entity.write.describe())].append(entity)
    for key, entities in by_key.items():
        if len(entities) > 1:
            for entity in entities:
                others = ", ".join(str(e.declared_at) for e in entities if e is not entity)
                problems.append(ConfigProblem(
                    entity.declared_at.file, entity.declared_at.line, entity.label,
                    f"duplicate asset key {'/'.join(key)} (also declared at {others}) -> rename one entity",
                ))
    for (store, target), entities in by_target.items():
        if len(entities) > 1:
            for entity in entities:
                # Entities with the same asset key share their default target too; that is reported above.
                others = ", ".join(e.label for e in entities if e.key_path != entity.key_path)
                if not others:
                    continue
                problems.append(ConfigProblem(
                    entity.declared_at.file, entity.declared_at.line, entity.label,
                    f"store target {store}:{target} is also written by {others} -> give each entity its own "
                    "store table or path",
                ))
