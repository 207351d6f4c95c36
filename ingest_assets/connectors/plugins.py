"""Connection types added by other distributions, through the entry point group `ingest_assets.connectors`.

Each entry point is named like the type it adds and points at a `ConnectorType` (see
`ingest_assets.plugins`). They are discovered once per process and merged into the registry, which
stays the one place that knows every type. The entry point's module is imported when the project
loads, so it must stay light: its home and store are named by import path, like the built-in ones.
"""

from __future__ import annotations

import functools
import typing
from importlib.metadata import EntryPoint, entry_points
from typing import Annotated, Union

from pydantic import BaseModel, Field, create_model

from ingest_assets.config.models import Connection, ProjectFile
from ingest_assets.errors import IngestError, first_line
from ingest_assets.connectors.registry import CONNECTOR_TYPES, ConnectorType

ENTRY_POINT_GROUP = "ingest_assets.connectors"


class PluginError(IngestError):
    """An installed connector plugin cannot be used (it fails to import, or registers a bad type)."""


@functools.cache
def plugin_connector_types() -> dict[str, ConnectorType]:
    found: dict[str, ConnectorType] = {}
    for entry_point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        found[entry_point.name] = _load(entry_point)
    return found


def _origin(entry_point: EntryPoint) -> str:
    dist = entry_point.dist
    where = f"distribution {dist.name} {dist.version}" if dist is not None else "an unknown distribution"
    return f"connector plugin {entry_point.name!r} ({entry_point.value}, from {where})"


def _fix(entry_point: EntryPoint) -> str:
    dist = entry_point.dist
    return f"fix the plugin, or uninstall it (pip uninstall {dist.name if dist is not None else '<its distribution>'})"


def _load(entry_point: EntryPoint) -> ConnectorType:
    origin = _origin(entry_point)
    if entry_point.name in CONNECTOR_TYPES:
        raise PluginError(f"{origin} registers type {entry_point.name!r}, which is built in -> "
                          "give the entry point another name")
    try:
        connector = entry_point.load()
    except Exception as error:  # any import-time failure of foreign code is the plugin's
        raise PluginError(f"{origin} failed to import: {type(error).__name__}: {first_line(error)} -> "
                          f"{_fix(entry_point)}") from error
    if not isinstance(connector, ConnectorType):
        raise PluginError(f"{origin} is a {type(connector).__name__}, not an ingest_assets.plugins.ConnectorType "
                          f"-> point the entry point at one; {_fix(entry_point)}")
    if connector.name != entry_point.name:
        raise PluginError(f"{origin} registers a ConnectorType named {connector.name!r} -> name the entry point "
                          "like the type")
    if connector.model is None or _type_tags(connector.model) != [connector.name]:
        raise PluginError(f"{origin} needs a settings model with `type: Literal[{connector.name!r}]` -> set "
                          "ConnectorType(model=...) to a subclass of ingest_assets.plugins.ConnectionSettings")
    return connector


def _type_tags(model: type[BaseModel]) -> list[str]:
    field = model.model_fields.get("type")
    return list(typing.get_args(field.annotation)) if field is not None else []


@functools.cache
def project_file_model() -> type[ProjectFile]:
    """`ProjectFile` whose `connections` accept the plugins' types too, validated by their own models.

    The same discriminated union as the built-in one, so a plugin's settings get the same located
    messages, and an unknown `type` lists every installed type.
    """
    plugins = [connector.model for connector in plugin_connector_types().values()]
    if not plugins:
        return ProjectFile
    built_in = typing.get_args(typing.get_args(Connection)[0])
    union = Annotated[Union[(*built_in, *plugins)], Field(discriminator="type")]  # type: ignore[valid-type]
    return create_model("ProjectFile", __base__=ProjectFile,
                        connections=(dict[str, union], Field(default_factory=dict)))
