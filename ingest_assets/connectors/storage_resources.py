"""The Dagster resource of an Azure storage connection (`adls`, `open_mirroring`).

Settings hold `${VAR}` references as written in the YAML; `open()` resolves them and imports the
Azure SDK only during a run, so loading definitions stays free of both.
"""

from __future__ import annotations

from pathlib import Path
from collections.abc import Iterator
from typing import TYPE_CHECKING, Optional

import dagster as dg
from pydantic import Field

from ingest_assets.config.references import resolve_references

if TYPE_CHECKING:
    from ingest_assets.connectors.probes.base import CheckLine, ConnectionUse
    from ingest_assets.storage.base import Storage


def _resolved(value: Optional[str]) -> Optional[str]:
    return None if value is None else resolve_references(value)


class StorageResource(dg.ConfigurableResource):
    project_root: str = Field(default=".", description="The folder a relative local_path is resolved against.")
    local_path: Optional[str] = Field(default=None, description="A local folder instead of an Azure account.")
    account_url: Optional[str] = None
    filesystem: Optional[str] = Field(default=None, description="Container, file system or Fabric workspace.")
    api: Optional[str] = Field(default=None, description="dfs (ADLS Gen2, OneLake) or blob (Blob storage, Azurite).")
    credential: Optional[str] = None
    account_key: Optional[str] = None
    sas_token: Optional[str] = None
    connection_string: Optional[str] = None
    tenant_id: Optional[str] = None
    client_id: Optional[str] = None
    client_secret: Optional[str] = None

    def local_folder(self) -> Path:
        assert self.local_path is not None
        path = Path(resolve_references(self.local_path)).expanduser()
        return path if path.is_absolute() else Path(self.project_root) / path

    def open(self) -> "Storage":
        if self.local_path is not None:
            from ingest_assets.storage.local import LocalStorage

            return LocalStorage(self.local_folder())
        from ingest_assets.storage.azure import AzureLocation, open_azure_storage

        assert self.filesystem is not None and self.credential is not None and self.api is not None
        return open_azure_storage(AzureLocation(
            account_url=_resolved(self.account_url), filesystem=resolve_references(self.filesystem),
            api=self.api, credential=self.credential,
            account_key=_resolved(self.account_key), sas_token=_resolved(self.sas_token),
            connection_string=_resolved(self.connection_string), tenant_id=_resolved(self.tenant_id),
            client_id=_resolved(self.client_id), client_secret=_resolved(self.client_secret),
        ))


    def check_connection(self, use: "ConnectionUse") -> Iterator["CheckLine"]:
        from ingest_assets.connectors.probes.storage import check_storage

        return check_storage(self, use, self._check_folder())

    def _check_folder(self) -> str:
        return ""


class AdlsResource(StorageResource):
    base_path: str = Field(default="", description="The folder below the file system that entity paths are in.")

    def _check_folder(self) -> str:
        return resolve_references(self.base_path).strip("/")


class OpenMirroringResource(StorageResource):
    mirror_name: str = Field(description="The mirrored database (item name or id) in the workspace.")
    schema_name: Optional[str] = Field(default=None, description="Tables go into <schema>.schema/ folders.")
    key_columns: list[str] = Field(default_factory=list)
    folder_deletion_wait_seconds: int = Field(default=120, description="Wait after deleting a table folder.")
    partner_name: str = "ingest_assets"
    source_type: str = Field(default="SQL", description="_partnerEvents.json: the kind of source database.")
    source_version: Optional[str] = None

    def _check_folder(self) -> str:
        from ingest_assets.stores.open_mirroring.layout import landing_zone

        return landing_zone(resolve_references(self.mirror_name))


class StorageBacked:
    """What the file stores share: their connection's storage, opened on first use (or given, by tests)."""

    def __init__(self, resource: StorageResource, storage: "Storage | None" = None):
        self._resource = resource
        self._storage = storage

    @property
    def storage(self) -> "Storage":
        if self._storage is None:
            self._storage = self._resource.open()
        return self._storage
