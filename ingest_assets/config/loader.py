"""Read every file of a project, validate each against its model, and collect every problem.

Nothing here merges flow defaults into entities (that is `ingest_assets.plan.build`), opens a
connection, or resolves a `${VAR}` reference.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ingest_assets.config.messages import problems_from_validation
from ingest_assets.config.project_files import EntityFile, FlowFile, ProjectFile, is_valid_name
from ingest_assets.config.yaml_source import (
    FileTextError,
    LocatedDict,
    LocatedList,
    Location,
    load_yaml,
)
from ingest_assets.connectors.plugins import project_file_model
from ingest_assets.errors import ConfigProblem

ENVIRONMENT_VARIABLE = "INGEST_ENV"
FLOWS_DIR_VARIABLE = "INGEST_FLOWS_DIR"  # the flows folder when none is given (default ./flows)
PROJECT_FILE_NAMES = ("ingest.yml", "ingest.yaml")
FLOW_FILE_NAMES = ("flow.yml", "flow.yaml")
YAML_SUFFIXES = (".yml", ".yaml")  # of entity and derived files, in lower case as the names above

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class LoadedEntity:
    name: str
    settings: EntityFile
    raw: LocatedDict
    location: Location  # where the entity is declared (its file, or its item in flow.yml)


@dataclass(frozen=True)
class LoadedFlow:
    name: str
    settings: FlowFile
    raw: LocatedDict
    location: Location
    entities: tuple[LoadedEntity, ...]


@dataclass(frozen=True)
class LoadedProject:
    root: Path  # the folder that holds flows/; relative paths in the YAML are relative to it
    flows_dir: Path
    environment: str | None
    settings: ProjectFile
    raw: LocatedDict
    location: Location
    flows: tuple[LoadedFlow, ...]


def load_project(
    flows_dir: Path, environment: str | None = None
) -> tuple[LoadedProject | None, list[ConfigProblem]]:
    """Load and validate all files; returns what validated plus every problem found."""
    flows_dir = flows_dir.resolve()
    root = flows_dir.parent
    problems: list[ConfigProblem] = []

    def display(path: Path) -> str:
        return path.relative_to(root).as_posix()

    if not flows_dir.is_dir():
        name = display(flows_dir)
        problems.append(
            ConfigProblem(name, 1, "project", f"folder {name} does not exist -> create it with an ingest.yml")
        )
        return None, problems

    known = len(problems)
    project_path = _settings_file(flows_dir, PROJECT_FILE_NAMES, display, problems)
    if project_path is None:
        name = f"{display(flows_dir)}/ingest.yml"
        if len(problems) == known:  # not a file in other letters, nor two of them: none at all
            problems.append(
                ConfigProblem(name, 1, "project", f"{name} not found -> create it with your connections")
            )
        return None, problems

    raw_project = parse_file(project_path, display(project_path), problems)
    settings = selected = None
    if raw_project is not None:
        if environment is not None:
            selected, source = environment, "the environment argument"
        else:
            selected, source = os.environ.get(ENVIRONMENT_VARIABLE), ENVIRONMENT_VARIABLE
        raw_project, selected = _apply_environment(raw_project, selected, source, problems)
        # `connections` accept every registered type, the built-in ones and the installed plugins'.
        settings = validate_file(project_file_model(), raw_project, raw_project.location, "project", problems)

    flows = []
    for flow_path in sorted(p for p in flows_dir.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        known = len(problems)
        flow_file = _settings_file(flow_path, FLOW_FILE_NAMES, display, problems)
        if flow_file is None:
            if len(problems) == known and _holds_flow_files(flow_path):
                name = display(flow_path)
                problems.append(ConfigProblem(f"{name}/flow.yml", 1, flow_path.name,
                                              f"folder {name} holds entities but no flow.yml -> add {name}/flow.yml "
                                              "(home:, store:), or start the folder's name with _ to keep it out"))
            continue
        flow = _load_flow(flow_path, flow_file, display, problems)
        if flow is not None:
            flows.append(flow)

    if raw_project is None or settings is None:
        return None, problems  # the flows were still read, so their problems are reported too
    project = LoadedProject(
        root=root,
        flows_dir=flows_dir,
        environment=selected,
        settings=settings,
        raw=raw_project,
        location=raw_project.location,
        flows=tuple(flows),
    )
    return project, problems


def _load_flow(
    flow_path: Path, flow_file: Path, display: Callable[[Path], str], problems: list[ConfigProblem]
) -> LoadedFlow | None:
    raw_flow = parse_file(flow_file, display(flow_file), problems)
    if raw_flow is None:
        flow_name = flow_path.name
        settings = None
    else:
        flow_name = str(raw_flow.get("name") or flow_path.name)
        if not raw_flow.get("name"):
            check_name_from_path(flow_name, "folder", raw_flow.location, flow_name, problems)
        settings = validate_file(FlowFile, raw_flow, raw_flow.location, flow_name, problems)

    entities: list[LoadedEntity] = []
    if raw_flow is not None and settings is not None:
        raw_inline = raw_flow.get("entities") or []
        for index, entity_settings in enumerate(settings.entities):
            assert isinstance(raw_inline, LocatedList), "settings.entities validated it as a YAML list"
            raw_entity = raw_inline[index]
            location = Location(raw_flow.location.file, raw_inline.line_of(index))
            if entity_settings.name is None:
                problems.append(
                    ConfigProblem(location.file, location.line, f"{flow_name}.entities[{index}]",
                                  "missing required setting 'name' -> add 'name:' to the entity")
                )
                continue
            entities.append(LoadedEntity(entity_settings.name, entity_settings, raw_entity, location))

    # Entity files are checked even when flow.yml is invalid, so one run reports every problem.
    for path, entity_settings, raw_entity in load_named_files(flow_path / "entities", EntityFile, flow_name,
                                                              display, problems):
        name = entity_settings.name or path.stem
        entities.append(LoadedEntity(name, entity_settings, raw_entity, raw_entity.location))

    if raw_flow is None or settings is None:
        return None
    return LoadedFlow(flow_name, settings, raw_flow, raw_flow.location, tuple(entities))


def load_named_files(
    folder: Path, model: type[ModelT], flow_name: str, display: Callable[[Path], str], problems: list[ConfigProblem]
) -> Iterator[tuple[Path, ModelT, LocatedDict]]:
    """Each valid `*.yml`/`*.yaml` file of `folder` as (path, settings, raw); one without `name:` is named
    by its file, which must then be a valid name, and one ending in other letters (`.YML`) is refused.

    Entity files and derived-asset files share these rules; a file with problems records them and is skipped.
    """
    if not folder.is_dir():
        return
    for path in sorted(folder.iterdir()):
        if not _is_yaml(path) or not path.is_file():
            continue
        if path.suffix not in YAML_SUFFIXES:
            problems.append(ConfigProblem(display(path), 1, f"{flow_name}.{path.stem}",
                                          f"the file ends in {path.suffix!r}, not .yml or .yaml -> rename it "
                                          f"{path.stem}{path.suffix.lower()}"))
            continue
        raw = parse_file(path, display(path), problems)
        if raw is None:
            continue
        label = f"{flow_name}.{raw.get('name') or path.stem}"
        if not raw.get("name"):
            check_name_from_path(path.stem, "file", raw.location, label, problems)
        settings = validate_file(model, raw, raw.location, label, problems)
        if settings is not None:
            yield path, settings, raw


def check_name_from_path(
    name: str, source: str, location: Location, label: str, problems: list[ConfigProblem]
) -> None:
    """A flow named by its folder, or an entity by its file, follows the same rules as `name:`."""
    if not is_valid_name(name):
        problems.append(ConfigProblem(
            location.file, location.line, label,
            f"name {name!r} (from the {source} name) is not a valid name -> rename the {source} or set 'name:' "
            "using letters, digits and underscores, starting with a letter (it becomes part of a Dagster asset key)",
        ))


def parse_file(path: Path, name: str, problems: list[ConfigProblem]) -> LocatedDict | None:
    """A YAML file as a located mapping, or None with its problem recorded."""
    try:
        data = load_yaml(path, name)
    except FileTextError as error:  # invalid YAML, too large, not UTF-8
        problems.append(ConfigProblem(error.location.file, error.location.line, "yaml", str(error)))
        return None
    if not isinstance(data, LocatedDict):
        line = data.location.line if isinstance(data, LocatedList) else 1
        problems.append(
            ConfigProblem(name, line, "yaml", f"the file holds {_kind(data)} -> it must be a mapping of settings")
        )
        return None
    return data


def _kind(data: Any) -> str:
    if isinstance(data, list):
        return "a list"
    if isinstance(data, bool):
        return "true/false"
    if isinstance(data, (int, float)):
        return "a number"
    if isinstance(data, str):
        return "text"
    return f"a {type(data).__name__}"


def validate_file(
    model: type[ModelT], raw: LocatedDict, location: Location, entity: str, problems: list[ConfigProblem]
) -> ModelT | None:
    """`raw` as `model`, or None with every problem recorded at its file and line."""
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        problems.extend(problems_from_validation(error, raw, model, location, entity))
        return None


def _is_yaml(path: Path) -> bool:
    # `.YML` too: such a file is refused, never left out unsaid (nor read here and skipped by a `*.yml` glob).
    return path.suffix.lower() in YAML_SUFFIXES


def _holds_flow_files(folder: Path) -> bool:
    """Whether a folder without a flow file looks like a flow (entity or derived files, YAML at its top)."""
    return any((folder / part).is_dir() for part in ("entities", "derived")) or any(
        _is_yaml(path) for path in folder.iterdir())


def _settings_file(folder: Path, names: tuple[str, ...], display: Callable[[Path], str],
                   problems: list[ConfigProblem]) -> Path | None:
    """The folder's one settings file of `names` (`flow.yml` or `flow.yaml`); two of them, or one named in
    other letters (`Flow.YML`), are a problem rather than a silent choice."""
    found = sorted(path for path in folder.iterdir() if path.name.lower() in names and path.is_file())
    if len(found) > 1:
        shown = " and ".join(display(path) for path in found)
        problems.append(ConfigProblem(display(found[0]), 1, "project",
                                      f"{shown} are both there -> keep one of them"))
        return None
    if found and found[0].name not in names:
        problems.append(ConfigProblem(display(found[0]), 1, "project",
                                      f"the file must be named {' or '.join(names)} -> rename it"))
        return None
    return found[0] if found else None


def _apply_environment(
    raw: LocatedDict, selected: str | None, source: str, problems: list[ConfigProblem]
) -> tuple[LocatedDict, str | None]:
    """Merge the selected environment's overrides into `connections` and `options`."""
    environments = raw.get("environments") or {}
    if selected is None:
        selected, source = raw.get("default_environment"), "default_environment"
    if selected is None:
        return raw, None
    if not isinstance(environments, dict) or selected not in environments:
        names = ", ".join(sorted(environments)) if isinstance(environments, dict) else ""
        problems.append(
            ConfigProblem(
                raw.location.file,
                raw.line_of("environments") if "environments" in raw else raw.line_of("default_environment"),
                "project",
                f"environment {selected!r} (from {source}) is not defined "
                f"-> one of: {names or 'none defined; add an environments: section'}",
            )
        )
        return raw, selected
    overrides = environments[selected]
    if not isinstance(overrides, dict):
        return raw, selected  # the model validation reports the wrong type
    merged = _copy_located(raw)
    for section in ("connections", "options"):
        if section in overrides and isinstance(overrides[section], dict):
            merged[section] = deep_merge(raw.get(section) or _empty_like(overrides[section]), overrides[section])
    return merged, selected


def deep_merge(base: Any, override: Any) -> Any:
    """Merge mappings key by key (override wins), keeping each key's YAML location."""
    if not (isinstance(base, dict) and isinstance(override, dict)):
        return override
    merged = _copy_located(base) if isinstance(base, LocatedDict) else dict(base)
    for key, value in override.items():
        merged[key] = deep_merge(base[key], value) if key in base else value
        if isinstance(merged, LocatedDict) and isinstance(override, LocatedDict):
            merged.key_lines[key] = override.line_of(key)
    return merged


def _copy_located(source: LocatedDict) -> LocatedDict:
    copy = LocatedDict(source)
    copy.location = source.location
    copy.key_lines = dict(source.key_lines)
    return copy


def _empty_like(other: Any) -> LocatedDict:
    empty = LocatedDict()
    empty.location = other.location if isinstance(other, LocatedDict) else Location("", 1)
    empty.key_lines = {}
    return empty
