"""`delta`: a folder of Delta Lake tables (store only), written through delta-rs (`deltalake`).

Like the `parquet` store, a project-relative folder; each entity's table is `<path>/<store path>`, a
Delta table (Parquet files plus its `_delta_log`). Its check: the folder must be writable.
"""

from __future__ import annotations

from typing import Literal

from ingest_assets.connectors.connector_type import ConnectorType
from ingest_assets.connectors.files import FolderResource
from ingest_assets.connectors.settings import ConnectionSettings


class DeltaConnection(ConnectionSettings):
    """A folder of Delta tables (store only)."""

    type: Literal["delta"]
    path: str


DELTA = ConnectorType("delta", FolderResource.from_settings, None, "ingest_assets.stores.delta:DeltaStore",
                      frozenset(), "path", reads_back=True, model=DeltaConnection)
