"""The one place that answers what a connection `type` can do, and opens its home and store.

The types themselves are registered as entry points (see `plugins`); homes and stores are named by
import path and imported only when a run needs them, so loading definitions imports no database
driver. Capabilities are data of each `ConnectorType`, not `if type == ...` elsewhere.
"""

from __future__ import annotations

import importlib
from typing import Any

from ingest_assets.connectors.connector_type import STORE_ONLY_SETTINGS, AnyResource, ConnectorType
from ingest_assets.connectors.plugins import plugin_connector_types

__all__ = [
    "STORE_ONLY_SETTINGS", "connector", "connector_types", "home_types", "open_home", "open_store",
    "readable_store_types", "store_types",
]


def connector_types() -> dict[str, ConnectorType]:
    """Every connection type: the built-in ones, then the installed plugins' (discovered once)."""
    return plugin_connector_types()


def connector(type_name: str) -> ConnectorType:
    return connector_types()[type_name]


def home_types() -> list[str]:
    return sorted(name for name, c in connector_types().items() if c.home)


def store_types() -> list[str]:
    return sorted(name for name, c in connector_types().items() if c.store)


def readable_store_types() -> list[str]:
    return sorted(name for name, c in connector_types().items() if c.store and c.reads_back)


def _import(target: str) -> Any:
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


# Homes and stores are typed Any here: `homes.base.Home` and `stores.base.Store` are built on the plan,
# which uses this registry.
def open_home(type_name: str, resource: AnyResource) -> Any:
    """The type's `Home` over the connection's resource."""
    factory = connector(type_name).home
    assert factory is not None, f"{type_name} cannot be a home (validated when the project loads)"
    return _import(factory)(resource)


def open_store(type_name: str, resource: AnyResource) -> Any:
    """The type's `Store` over the connection's resource."""
    factory = connector(type_name).store
    assert factory is not None, f"{type_name} cannot be a store (validated when the project loads)"
    return _import(factory)(resource)
