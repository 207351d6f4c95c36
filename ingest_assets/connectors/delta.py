"""`delta`: Delta Lake tables, read and written through delta-rs (`deltalake`), in a local folder or
in Azure storage (ADLS Gen2, a OneLake Lakehouse, Blob storage, Azurite).

Local: `path:`, a project-relative folder like `parquet`'s. Azure: the settings `adls` has
(`account_url`, `filesystem`, `credential` and its secrets as `${VAR}` references) and `base_path`;
for a OneLake Lakehouse's tables, `filesystem` is the workspace and `base_path`
`<lakehouse>.Lakehouse/Tables` (plus `/<schema>` in a schema-enabled Lakehouse). As a store, each
entity's table is `<folder>/<store path>`; as a home (`homes/delta.py`), the entity's `home.path`
names a table below the folder; its watermark `_commit_version` reads a table's change data feed
(`homes/delta_changes.py`). Its check: a local folder must be writable (a home's paths must exist);
an account must list and take a probe file, as `adls`'s.

A store's housekeeping (`stores/delta_housekeeping.py`): `optimize` (compaction, Z-ordered by
`z_order` columns that every table of the store has) and `vacuum` with `vacuum_retention_hours`,
run after each load's commit; the connection's settings, which an entity's `store:` may override for
its own table.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import AliasChoices, Field

from ingest_assets.config.references import resolve_references
from ingest_assets.connectors.azure_storage import AzureStorageSettings, StorageResource
from ingest_assets.connectors.connector_type import ConnectorType
from ingest_assets.connectors.files import check_folder
from ingest_assets.connectors.probe import CheckLine, ConnectionUse
from ingest_assets.stores.delta_housekeeping import Housekeeping, housekeeping_of
from ingest_assets.stores.delta_options import (
    DEFAULT_RETENTION_HOURS,
    HOUSEKEEPING_SETTINGS,
    HousekeepingSettings,
    TableHousekeeping,
)

# The watermark that reads a home table's change data feed by commit version, not a column of its rows.
COMMIT_VERSION = "_commit_version"


class DeltaConnection(AzureStorageSettings, HousekeepingSettings):
    """Delta tables in a local folder (`path`) or below `base_path` in Azure storage; the housekeeping
    settings are `HousekeepingSettings`'."""

    LOCAL_SETTING: ClassVar[str] = "path"

    type: Literal["delta"]
    local_path: str | None = Field(default=None, validation_alias=AliasChoices("path", "local_path"))
    base_path: str = ""


class DeltaResource(StorageResource):
    base_path: str = Field(default="", description="The folder below the file system that entity tables are in.")
    optimize: bool = Field(default=False, description="Compact the table's small files after each load.")
    z_order: list[str] = Field(default_factory=list, description="Columns the compaction clusters rows by.")
    vacuum: bool = Field(default=False, description="Delete files no version within the retention needs.")
    vacuum_retention_hours: int = Field(default=DEFAULT_RETENTION_HOURS,
                                        description="How long files that left the table are kept.")

    @property
    def is_local(self) -> bool:
        return self.local_path is not None

    def folder(self) -> Path:
        """The local folder of the tables (`is_local` connections only)."""
        return self.local_folder()

    def remote_base(self) -> str:
        return resolve_references(self.base_path).strip("/")

    def housekeeping(self, table: TableHousekeeping | None = None) -> Housekeeping:
        """The connection's housekeeping, or an entity's own settings over it."""
        settings = HousekeepingSettings.model_validate({name: getattr(self, name) for name in HOUSEKEEPING_SETTINGS})
        return housekeeping_of(table.over(settings) if table is not None else settings)

    def check_connection(self, use: ConnectionUse) -> Iterator[CheckLine]:
        if self.is_local:  # a home's tables must exist, a store's folder be writable
            return check_folder(self.local_folder(), use)
        return super().check_connection(use)

    def _check_folder(self) -> str:
        return self.remote_base()


DELTA = ConnectorType("delta", DeltaResource.from_settings, "ingest_assets.homes.delta:delta_home",
                      "ingest_assets.stores.delta:DeltaStore", frozenset({"path"}), "path", reads_back=True,
                      store_settings=frozenset(HOUSEKEEPING_SETTINGS), change_feed_watermark=COMMIT_VERSION,
                      model=DeltaConnection, dagster_kind="deltalake")
