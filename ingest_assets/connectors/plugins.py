"""Every connection type is a plugin: an entry point in the group `ingest_assets.connectors`, named
like the type it adds and pointing at a `ConnectorType` (see `ingest_assets.plugins`).

The built-in types are this distribution's entry points (pyproject.toml), other distributions add
theirs; all are discovered once per process and validated by the same code here. An entry point's
module is imported when the project loads, so it must stay light: its home and store are named by
import path.
"""

from __future__ import annotations

import functools
import re
import typing
from importlib.metadata import EntryPoint, entry_points
from typing import Annotated, Union

from pydantic import BaseModel, Field, create_model

from ingest_assets.config.project_files import ProjectFile
from ingest_assets.connectors.connector_type import ConnectorType
from ingest_assets.errors import (
    NoBuiltInConnectors,
    PluginAliasUnregistered,
    PluginError,
    PluginImportFailed,
    PluginModelMissing,
    PluginNameMismatch,
    PluginNotAConnectorType,
    PluginShadowsBuiltIn,
    first_line,
)

ENTRY_POINT_GROUP = "ingest_assets.connectors"
_DISTRIBUTION = "ingest_assets"
# The order `ingest` lists the built-in types in (after an unknown `type:`): by family, the way the
# README presents them, where entry points would come sorted by name. A built-in type missing here
# is listed after these, and plugins' types after all built-in ones, by name.
_LISTING_ORDER = ("parquet", "csv", "delta", "duckdb", "sqlite", "sqlalchemy", "postgres", "postgresql", "mssql",
                  "sqlserver", "mysql", "mariadb", "adls", "onelake", "open_mirroring")

__all__ = ["ENTRY_POINT_GROUP", "PluginError", "plugin_connector_types", "project_file_model"]


@functools.cache
def plugin_connector_types() -> dict[str, ConnectorType]:
    """Every registered connection type, the built-in ones first, each checked like any plugin."""
    registered = entry_points(group=ENTRY_POINT_GROUP)
    built_in = [e for e in registered if _is_built_in(e)]
    if not built_in:
        raise NoBuiltInConnectors(group=ENTRY_POINT_GROUP)
    built_in_names = {e.name for e in built_in}
    found: dict[str, tuple[EntryPoint, ConnectorType]] = {}
    for entry_point in sorted(built_in, key=_listing_key):
        found[entry_point.name] = (entry_point, _load(entry_point))
    for entry_point in sorted((e for e in registered if not _is_built_in(e)), key=lambda e: e.name):
        if entry_point.name in built_in_names:
            raise PluginShadowsBuiltIn(origin=_origin(entry_point), name=entry_point.name)
        found[entry_point.name] = (entry_point, _load(entry_point))
    _check_aliases(found)
    return {name: connector for name, (_, connector) in found.items()}


def _is_built_in(entry_point: EntryPoint) -> bool:
    dist = entry_point.dist
    return dist is not None and re.sub(r"[-_.]+", "_", dist.name).lower() == _DISTRIBUTION


def _listing_key(entry_point: EntryPoint) -> tuple[int, str]:
    name = entry_point.name
    return (_LISTING_ORDER.index(name) if name in _LISTING_ORDER else len(_LISTING_ORDER), name)


def _origin(entry_point: EntryPoint) -> str:
    dist = entry_point.dist
    where = f"distribution {dist.name} {dist.version}" if dist is not None else "an unknown distribution"
    return f"connector plugin {entry_point.name!r} ({entry_point.value}, from {where})"


def _distribution(entry_point: EntryPoint) -> str | None:
    dist = entry_point.dist
    return dist.name if dist is not None else None


def _load(entry_point: EntryPoint) -> ConnectorType:
    origin = _origin(entry_point)
    try:
        connector = entry_point.load()
    except Exception as error:  # any import-time failure of foreign code is the plugin's
        raise PluginImportFailed(origin=origin, error_type=type(error).__name__, reason=first_line(error),
                                 distribution=_distribution(entry_point)) from error
    if not isinstance(connector, ConnectorType):
        raise PluginNotAConnectorType(origin=origin, found_type=type(connector).__name__,
                                      distribution=_distribution(entry_point))
    if connector.name != entry_point.name:
        raise PluginNameMismatch(origin=origin, name=connector.name)
    if connector.model is None or connector.name not in _type_tags(connector.model):
        raise PluginModelMissing(origin=origin, name=connector.name)
    return connector


def _check_aliases(found: dict[str, tuple[EntryPoint, ConnectorType]]) -> None:
    """A model whose `type` accepts several names (postgres, postgresql) needs each registered, with it."""
    for entry_point, connector in found.values():
        assert connector.model is not None  # checked by _load
        for tag in _type_tags(connector.model):
            if tag not in found or found[tag][1].model is not connector.model:
                raise PluginAliasUnregistered(origin=_origin(entry_point), alias=tag)


def _type_tags(model: type[BaseModel]) -> list[str]:
    field = model.model_fields.get("type")
    return list(typing.get_args(field.annotation)) if field is not None else []


@functools.cache
def project_file_model() -> type[ProjectFile]:
    """`ProjectFile` whose `connections` are the registered types', each validated by its own model.

    One discriminated union on `type`, so every type's settings get the same located messages, and an
    unknown `type` lists every registered type.
    """
    models = list(dict.fromkeys(connector.model for connector in plugin_connector_types().values()))
    # A union built at run time, which no static checker can follow (nor spell with `|`).
    union = Annotated[Union[tuple(models)], Field(discriminator="type")]  # type: ignore[valid-type]  # noqa: UP007
    return create_model("ProjectFile", __base__=ProjectFile,
                        connections=(dict[str, union], Field(default_factory=dict)))  # type: ignore[valid-type]
