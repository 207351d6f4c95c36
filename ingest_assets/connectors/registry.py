"""The one place that answers what a connection `type` can do, and opens its home and store.

The types themselves are registered as entry points (see `plugins`); homes and stores are named by
import path and imported only when a run needs them, so loading definitions imports no database
driver. Capabilities are data of each `ConnectorType`, not `if type == ...` elsewhere.
"""

from __future__ import annotations

import importlib
from typing import Any

from ingest_assets.connectors.connector_type import AnyResource, ConnectorType
from ingest_assets.connectors.plugins import plugin_connector_types
from ingest_assets.homes.base import Home
from ingest_assets.stores.base import PublishingStore, Store

__all__ = [
    "connector",
    "connector_types",
    "home_types",
    "open_home",
    "open_publishing_store",
    "open_store",
    "readable_store_types",
    "store_setting_readers",
    "store_types",
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


def store_setting_readers() -> dict[str, list[str]]:
    """Each entity `store:` setting that only some store types read, and those types (sorted)."""
    readers: dict[str, list[str]] = {}
    for name, connector_type in sorted(connector_types().items()):
        for setting in connector_type.store_settings:
            readers.setdefault(setting, []).append(name)
    return readers


def _import(target: str) -> Any:
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def open_home(type_name: str, resource: AnyResource) -> Home:
    """The type's `Home` over the connection's resource."""
    factory = connector(type_name).home
    assert factory is not None, f"{type_name} cannot be a home (validated when the project loads)"
    home: Home = _import(factory)(resource)
    return home


def open_store(type_name: str, resource: AnyResource) -> Store:
    """The type's `Store` over the connection's resource."""
    factory = connector(type_name).store
    assert factory is not None, f"{type_name} cannot be a store (validated when the project loads)"
    store: Store = _import(factory)(resource)
    return store


def open_publishing_store(type_name: str, resource: AnyResource) -> PublishingStore[Any]:
    """The `PublishingStore` of a type that publishes in a step of its own (`publish_step`)."""
    factory = connector(type_name).store
    assert factory is not None and connector(type_name).publish_step, f"{type_name} does not publish in a step"
    store: PublishingStore[Any] = _import(factory)(resource)
    return store
