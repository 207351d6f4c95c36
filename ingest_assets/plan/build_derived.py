"""Load `flows/<flow>/derived/*.yml` and plan each derived asset against the project's assets.

Checks what no single file can: inputs that are not assets of the project, inputs whose store
cannot be read back, cycles between derived assets, the store, and clashes with other assets'
keys and store targets. Every problem names its file and line, the derived asset and the fix.
"""

from __future__ import annotations

import dataclasses
import difflib
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

from ingest_assets.config.derived import CronAutomation, DerivedFile
from ingest_assets.config.loader import LoadedFlow, LoadedProject, load_named_files
from ingest_assets.config.named_files import read_named_file
from ingest_assets.config.yaml_source import LocatedDict, LocatedList, Location
from ingest_assets.connectors import registry
from ingest_assets.connectors.duckdb import DuckDBConnection
from ingest_assets.errors import ConfigProblem
from ingest_assets.plan.build import inside_the_store, is_valid_cron
from ingest_assets.plan.derived import AutomationPlan, DerivedPlan
from ingest_assets.plan.model import (
    AuditPlan,
    ChecksPlan,
    ConnectionPlan,
    EntityPlan,
    ReadSpec,
    SourceLocation,
    WriteSpec,
)
from ingest_assets.plan.project import ProjectPlan

DERIVED_FOLDER = "derived"
# The "home" of every derived asset: the query, run in a scratch DuckDB database (the asset's kind).
QUERY_HOME = ConnectionPlan("derived_query", "duckdb", DuckDBConnection(type="duckdb", path=":memory:"))


@dataclass(frozen=True)
class _Declared:
    flow: LoadedFlow
    name: str
    settings: DerivedFile
    raw: LocatedDict

    @property
    def label(self) -> str:
        return f"{self.flow.name}.{self.name}"

    def at(self, *path: str) -> Location:
        """The line of a setting (the deepest part of `path` present), else the file's first line."""
        node, location = self.raw, self.raw.location
        for part in path:
            if not (isinstance(node, LocatedDict) and part in node):
                break
            location, node = node.location_of(part), node[part]
        return location


def plan_derived(project: LoadedProject, plan: ProjectPlan) -> tuple[ProjectPlan, list[ConfigProblem]]:
    """The project plan with its derived assets, and the problems found in them."""
    problems: list[ConfigProblem] = []
    declared = _load(project, problems)
    if not declared:
        return plan, problems
    entities = {entity.label: entity for entity in plan.entities}
    connections = {connection.name: connection for connection in plan.connections}
    options = project.settings.options

    writes: dict[str, EntityPlan] = {}
    for item in declared:
        entity = _write_side(project.root, item, connections, options.batch_size, problems)
        if entity is not None:
            writes[item.label] = dataclasses.replace(entity, query_memory_limit=options.query_memory_limit)
    known = sorted({*entities, *(d.label for d in declared)})
    _check_clashes(declared, writes, entities, problems)
    cyclic = _check_cycles(declared, problems)

    planned: list[DerivedPlan] = []
    for item in declared:
        inputs = _inputs(item, entities, writes, known, problems)
        automation = _automation(item, problems)
        entity = writes.get(item.label)
        if entity is None or inputs is None or automation is None or item.label in cyclic:
            continue
        planned.append(DerivedPlan(entity, inputs, tuple(item.settings.params.items()), automation))
    if problems:
        return plan, problems
    return dataclasses.replace(plan, derived=tuple(planned)), problems


def _load(project: LoadedProject, problems: list[ConfigProblem]) -> list[_Declared]:
    def display(path: Path) -> str:
        return path.relative_to(project.root).as_posix()

    declared = []
    for flow in project.flows:
        folder = project.root / Path(flow.location.file).parent / DERIVED_FOLDER
        for path, settings, raw in load_named_files(folder, DerivedFile, flow.name, display, problems):
            declared.append(_Declared(flow, settings.name or path.stem, settings, raw))
    return declared


def _problem(problems: list[ConfigProblem], item: _Declared, location: Location, message: str) -> None:
    problems.append(ConfigProblem(location.file, location.line, item.label, message))


def _write_side(root: Path, item: _Declared, connections: dict[str, ConnectionPlan], batch_size: int,
                problems: list[ConfigProblem]) -> EntityPlan | None:
    settings, flow = item.settings, item.flow
    sql = _sql(root, item, problems)
    store = _store(item, connections, problems)
    if sql is None or store is None:
        return None
    kind = registry.connector(store.type).write_kind
    given = settings.store
    other = "path" if kind == "table" else "table"
    if given is not None and getattr(given, other):
        _problem(problems, item, item.at("store", other), f"store {store.name!r} ({store.type}) writes a {kind}, "
                 f"not a {other} -> use '{kind}:' (default {flow.name}.{item.name} / {flow.name}/{item.name})")
        return None
    if kind == "table":
        write = WriteSpec(table=(given and given.table) or f"{flow.name}.{item.name}")
    else:
        write = WriteSpec(path=(given and given.path) or f"{flow.name}/{item.name}")
        if not inside_the_store(write.path or "", item.at("store", "path"),
                                lambda location, message: _problem(problems, item, location, message)):
            return None
    checks = settings.checks
    if checks is not None and not registry.connector(store.type).counts_table:
        _problem(problems, item, item.at("checks"), f"store {store.name!r} ({store.type}) cannot count or query "
                 "its table, so checks cannot run -> remove 'checks:' or write to another store")
        return None
    return EntityPlan(
        flow=flow.name, entity=item.name,
        description=settings.description or "",
        home=QUERY_HOME, store=store,
        read=ReadSpec(query=sql, batch_size=settings.batch_size or batch_size),
        write=write, run_type="full_drop", store_incremental=None,
        keys=tuple(settings.keys), watermark=None, partition=None, key_partitions=None,
        checks=ChecksPlan(checks.min_rows, tuple(checks.not_null), tuple(checks.unique)) if checks else ChecksPlan(),
        write_strategy=None, write_key=(), delete_missing=False, schema_changes="evolve", audit=AuditPlan(),
        tags=tuple(sorted({**flow.settings.tags, **settings.tags}.items())),
        owners=tuple(dict.fromkeys([*flow.settings.owners, *settings.owners])),
        sensor=False,
        declared_at=SourceLocation(item.raw.location.file, item.raw.location.line, root),
    )


def _sql(root: Path, item: _Declared, problems: list[ConfigProblem]) -> str | None:
    settings = item.settings
    if settings.sql is not None and settings.sql_file is not None:
        _problem(problems, item, item.at("sql_file"), "both 'sql:' and 'sql_file:' are set -> keep one of them")
        return None
    if settings.sql_file is not None:
        path = root / Path(item.raw.location.file).parent / settings.sql_file
        text = read_named_file(root, path, "sql_file", settings.sql_file, item.at("sql_file"),
                               lambda location, message: _problem(problems, item, location, message))
        if text is None:
            return None
    elif settings.sql is not None:
        text = settings.sql
    else:
        _problem(problems, item, item.raw.location, "missing the query -> add 'sql:' (a SELECT over the inputs, "
                 "named flow.entity) or 'sql_file:' (a .sql file next to this YAML file)")
        return None
    text = text.strip().rstrip(";").strip()
    if not text:
        _problem(problems, item, item.at("sql_file" if settings.sql_file else "sql"),
                 "the query is empty -> write a SELECT over the inputs, named flow.entity")
        return None
    return text


def _store(item: _Declared, connections: dict[str, ConnectionPlan], problems: list[ConfigProblem]
           ) -> ConnectionPlan | None:
    flow = item.flow.settings
    name = next((s.connection for s in (item.settings.store, flow.defaults.store, flow.store)
                 if s is not None and s.connection is not None), None)
    location = item.at("store", "connection") if item.settings.store else item.raw.location
    usable = [n for n in registry.store_types() if not registry.connector(n).publish_step]
    if name is None:
        _problem(problems, item, location, "no store connection -> set 'store: <connection>' here or in flow.yml")
        return None
    if name not in connections:
        close = difflib.get_close_matches(name, list(connections), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        _problem(problems, item, location, f"store connection {name!r} is not defined in flows/ingest.yml -> "
                 f"{hint}defined: {', '.join(sorted(connections)) or 'none'}")
        return None
    store = connections[name]
    if store.type not in usable:
        _problem(problems, item, location, f"connection {name!r} of type {store.type!r} cannot store a derived "
                 f"asset -> store types: {', '.join(usable)}")
        return None
    return store


def _inputs(item: _Declared, entities: dict[str, EntityPlan], writes: dict[str, EntityPlan], known: list[str],
            problems: list[ConfigProblem]) -> tuple[EntityPlan, ...] | None:
    raw_inputs = item.raw.get("inputs")
    assert isinstance(raw_inputs, LocatedList), "inputs validated as a list (of at least one name) from the YAML"
    found: list[EntityPlan] = []
    ok = True
    for index, name in enumerate(item.settings.inputs):
        location = Location(item.raw.location.file, raw_inputs.line_of(index))
        asset = entities.get(name) or writes.get(name)
        if asset is None and name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            _problem(problems, item, location, f"input {name!r} is not an asset of this project -> {hint}"
                     f"known assets: {', '.join(known)}")
            ok = False
        elif asset is not None and not registry.connector(asset.store.type).reads_back:
            _problem(problems, item, location, f"input {name!r} is written to store {asset.store.name!r} "
                     f"({asset.store.type}), which cannot be read back -> read it from a store that can "
                     f"({', '.join(registry.readable_store_types())}), e.g. a second entity writing it there")
            ok = False
        elif asset is None:
            ok = False  # a derived input with problems of its own, reported at its file
        else:
            found.append(asset)
    return tuple(found) if ok else None


def _automation(item: _Declared, problems: list[ConfigProblem]) -> AutomationPlan | None:
    automation = item.settings.automation
    if not isinstance(automation, CronAutomation):
        return AutomationPlan(automation)
    ok = True
    if not is_valid_cron(automation.on_cron):
        _problem(problems, item, item.at("automation", "on_cron"), f"automation.on_cron: invalid cron string "
                 f"({automation.on_cron!r}) -> five fields 'minute hour day-of-month month day-of-week', "
                 "e.g. '0 6 * * *' for 06:00 daily")
        ok = False
    try:
        zoneinfo.ZoneInfo(automation.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        _problem(problems, item, item.at("automation", "timezone"), f"automation.timezone: unknown time zone "
                 f"({automation.timezone!r}) -> an IANA name such as 'UTC' or 'Europe/Amsterdam'")
        ok = False
    return AutomationPlan("on_cron", automation.on_cron, automation.timezone) if ok else None


def _check_clashes(declared: list[_Declared], writes: dict[str, EntityPlan], entities: dict[str, EntityPlan],
                   problems: list[ConfigProblem]) -> None:
    """A derived asset's key or store target already taken by an entity or another derived asset."""
    seen: dict[str, _Declared] = {}
    targets = {(e.store.name, e.write.describe()): e.label for e in entities.values()}
    for item in declared:
        other = entities.get(item.label)
        if other is not None or item.label in seen:
            where = other.declared_at if other is not None else seen[item.label].raw.location
            at = f"{where.file}:{where.line}"
            _problem(problems, item, item.raw.location, f"asset key {item.flow.name}/{item.name} is also declared "
                     f"at {at} -> rename this derived asset (name: or the file name)")
        seen.setdefault(item.label, item)
        entity = writes.get(item.label)
        if entity is None:
            continue
        target = (entity.store.name, entity.write.describe())
        if target in targets and targets[target] != item.label:
            location = item.at("store")
            _problem(problems, item, location, f"store target {target[0]}:{target[1]} is also written by "
                     f"{targets[target]} -> give this derived asset its own store table or path")
        targets.setdefault(target, item.label)


def _check_cycles(declared: list[_Declared], problems: list[ConfigProblem]) -> set[str]:
    """Derived assets that read themselves through other derived assets; each is reported once."""
    by_label = {item.label: item for item in declared}
    edges = {item.label: [i for i in item.settings.inputs if i in by_label] for item in declared}
    cyclic: set[str] = set()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(label: str) -> None:
        state[label] = 1
        path.append(label)
        for nxt in edges[label]:
            if state.get(nxt) == 1:
                cycle = [*path[path.index(nxt):], nxt]
                for member in cycle[:-1]:
                    if member not in cyclic:
                        cyclic.add(member)
                        item = by_label[member]
                        index = item.settings.inputs.index(cycle[cycle.index(member) + 1])
                        location = Location(item.raw.location.file, item.raw["inputs"].line_of(index))
                        _problem(problems, item, location, f"inputs form a cycle: {' -> '.join(cycle)} -> "
                                 "a derived asset cannot read itself; remove one of these inputs")
            elif state.get(nxt) is None:
                visit(nxt)
        path.pop()
        state[label] = 2

    for item in declared:
        if item.label not in state:
            visit(item.label)
    return cyclic
