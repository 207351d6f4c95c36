"""`adls` (alias `onelake`): Parquet files in ADLS Gen2, OneLake's Files area, or Blob storage (store only)."""

from __future__ import annotations

import dataclasses
from typing import Literal

from pydantic import Field

from ingest_assets.config.references import resolve_references
from ingest_assets.connectors.azure_storage import AzureStorageSettings, StorageResource
from ingest_assets.connectors.connector_type import ConnectorType


class AdlsConnection(AzureStorageSettings):
    """Parquet files in ADLS Gen2, OneLake's Files area, or Blob storage (store only).

    An entity's store `path` is a folder below `base_path` (default: flow/entity).
    """

    type: Literal["adls", "onelake"]
    base_path: str = ""


class AdlsResource(StorageResource):
    base_path: str = Field(default="", description="The folder below the file system that entity paths are in.")

    def _check_folder(self) -> str:
        return resolve_references(self.base_path).strip("/")


ADLS = ConnectorType("adls", AdlsResource.from_settings, None, "ingest_assets.stores.adls:AdlsStore", frozenset(),
                     "path", write_strategies=frozenset({"append", "replace"}), partitioned_writes=False,
                     counts_table=False, model=AdlsConnection, dagster_kind="azure")
ONELAKE = dataclasses.replace(ADLS, name="onelake", dagster_kind="onelake")
