"""The public API for connector plugins: a home, a store, or both, for a new connection `type`.

A plugin is a distribution with an entry point in the group `ingest_assets.connectors`, named like
its type and pointing at a `ConnectorType`:

    [project.entry-points."ingest_assets.connectors"]
    jsonl = "my_plugin.connector:JSONL"

The module it names is imported when a project loads, so it must stay light: it defines the
settings model (a `ConnectionSettings` with `type: Literal["jsonl"]`), the Dagster resource that
holds those settings, and the `ConnectorType`, whose `home` / `store` name their factories by
import path ("module:callable", called with the resource). Those modules, and any driver, are
imported only when an asset runs. The built-in types are registered the same way.

- A home implements `Home`: `read(request)` is a context manager yielding a `pyarrow.RecordBatchReader`
  of `request.spec` (its `path`, `table` or `query`, as the type's `read_kinds` allow), honouring
  `request.row_filter` for incremental reads; `max_value` serves the new-data sensor.
- A store implements `Store`: `writer(...)` stages batches and `commit()` makes them visible at once;
  leaving the writer without commit must leave the destination as it was. The writer gets the load's
  `LoadRecord`: a store that commits it with the rows and returns it from `last_load` never loads a
  run's rows twice when the run dies after the commit; one that cannot subclasses `KeepsNoLoadRecord`.
- The resource may offer `check_connection(use)` (see `Checkable`) for `ingest check`.
- Secrets are `${VAR}` references in the YAML; resolve them inside resource methods with
  `resolve_references`, never when the project loads. Mark secret settings
  `Annotated[str | None, Secret()]`: the model refuses them as plain text, `ingest check` never prints them.
- A resource subclassing `ConnectionResource` is made from the settings by `from_settings`, the rule
  the built-in types use: `ConnectorType(name, JsonLinesResource.from_settings, ...)`.
"""

from __future__ import annotations

from ingest_assets.config.references import resolve_references
from ingest_assets.connectors.connector_type import ConnectorType
from ingest_assets.connectors.plugins import ENTRY_POINT_GROUP
from ingest_assets.connectors.probe import Checkable, CheckLine, ConnectionUse, fail, note, ok, probe_name
from ingest_assets.connectors.resource import ConnectionResource
from ingest_assets.connectors.settings import ConnectionSettings, Secret
from ingest_assets.errors import IngestError, PluginError, TerminalError, TransientError
from ingest_assets.homes.base import Home, ReadRequest
from ingest_assets.plan.model import ReadSpec, WriteSpec
from ingest_assets.plan.window import RowFilter
from ingest_assets.stores.base import (
    CommitResult,
    FollowsSchemaChanges,
    KeepsNoLoadRecord,
    LoadRecord,
    QualityRequest,
    Store,
    StoreWriter,
    TableLayout,
    WriteMode,
)

__all__ = [
    "ENTRY_POINT_GROUP", "CheckLine", "Checkable", "CommitResult", "ConnectionResource", "ConnectionSettings",
    "ConnectionUse", "ConnectorType", "FollowsSchemaChanges", "Home", "IngestError", "KeepsNoLoadRecord",
    "LoadRecord", "PluginError",
    "QualityRequest", "ReadRequest", "ReadSpec", "RowFilter", "Secret", "Store", "StoreWriter", "TableLayout",
    "TerminalError", "TransientError", "WriteMode", "WriteSpec", "fail", "note", "ok", "probe_name",
    "resolve_references",
]
