"""`delta`: Delta Lake tables, read and written through delta-rs (`deltalake`), in a local folder or
in Azure storage (ADLS Gen2, a OneLake Lakehouse, Blob storage, Azurite).

Local: `path:`, a project-relative folder like `parquet`'s. Azure: the settings `adls` has
(`account_url`, `filesystem`, `credential` and its secrets as `${VAR}` references) and `base_path`;
for a OneLake Lakehouse's tables, `filesystem` is the workspace and `base_path`
`<lakehouse>.Lakehouse/Tables` (plus `/<schema>` in a schema-enabled Lakehouse). As a store, each
entity's table is `<folder>/<store path>`; as a home (`homes/delta.py`), the entity's `home.path`
names a table below the folder. Its check: a local folder must be writable (a home's paths
must exist); an account must list and take a probe file, as `adls`'s.

A store's housekeeping (`stores/delta_housekeeping.py`) is the connection's: `optimize` (compaction,
Z-ordered by `z_order` columns that every table of the store has) and `vacuum` with
`vacuum_retention_hours`, run after each load's commit.
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
from ingest_assets.stores.delta_housekeeping import DEFAULT_RETENTION_HOURS, Housekeeping


class DeltaConnection(AzureStorageSettings):
    """Delta tables in a local folder (`path`) or below `base_path` in Azure storage."""

    LOCAL_SETTING: ClassVar[str] = "path"

    type: Literal["delta"]
    local_path: str | None = Field(default=None, validation_alias=AliasChoices("path", "local_path"))
    base_path: str = ""
    optimize: bool = False
    z_order: list[str] = Field(default_factory=list)
    vacuum: bool = False
    vacuum_retention_hours: int = Field(default=DEFAULT_RETENTION_HOURS, ge=0)


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

    def housekeeping(self) -> Housekeeping:
        return Housekeeping(optimize=self.optimize or bool(self.z_order), z_order=tuple(self.z_order),
                            vacuum=self.vacuum, retention_hours=self.vacuum_retention_hours)

    def check_connection(self, use: ConnectionUse) -> Iterator[CheckLine]:
        if self.is_local:  # a home's tables must exist, a store's folder be writable
            return check_folder(self.local_folder(), use)
        return super().check_connection(use)

    def _check_folder(self) -> str:
        return self.remote_base()


DELTA = ConnectorType("delta", DeltaResource.from_settings, "ingest_assets.homes.delta:delta_home",
                      "ingest_assets.stores.delta:DeltaStore", frozenset({"path"}), "path", reads_back=True,
                      model=DeltaConnection, dagster_kind="deltalake")
