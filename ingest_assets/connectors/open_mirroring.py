"""`open_mirroring`: a Fabric mirrored database's landing zone (store only), published in a step of its own."""

from __future__ import annotations

from typing import Annotated, Literal

from dagster._utils.schedules import is_valid_cron_string
from pydantic import AliasChoices, Field, PositiveInt, field_validator

from ingest_assets.config.project_files import Model
from ingest_assets.config.references import resolve_references
from ingest_assets.config.store_names import outside_the_store
from ingest_assets.connectors.azure_storage import AzureStorageSettings, StorageResource
from ingest_assets.connectors.connector_type import ConnectorType
from ingest_assets.connectors.settings import PlanOnly
from ingest_assets.stores.open_mirroring.layout import landing_zone
from ingest_assets.stores.open_mirroring.options import MIRRORED_TABLE_SETTINGS


class ProcessedCheckSettings(Model):
    """When to look whether Fabric has applied a load's files, and how long it may take."""

    within_minutes: PositiveInt = 30  # files still waiting after this fail the check
    cron: str = "*/15 * * * *"  # Dagster's automation runs the check on this schedule

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if not is_valid_cron_string(value):
            raise ValueError(f"{value!r} is not a cron expression -> e.g. '*/15 * * * *' (every 15 minutes)")
        return value


class OpenMirroringConnection(AzureStorageSettings):
    """A Fabric mirrored database's landing zone (store only), as hygge configures it.

    The landing zone is `<mirror_name>/Files/LandingZone` in the workspace; a bare name gets Fabric's
    item suffix `.MountedRelationalDatabase` (give an item id or a name with a suffix to use it as is).
    """

    type: Literal["open_mirroring"]
    mirror_name: str = Field(min_length=1)
    schema_name: str | None = Field(default=None, validation_alias=AliasChoices("schema", "schema_name"))
    key_columns: list[str] = Field(default_factory=list)  # default key of entities that name none
    folder_deletion_wait_seconds: Annotated[int, Field(ge=0)] = 120
    # `_partnerEvents.json`: who writes the landing zone, and what kind of database the data comes from.
    partner_name: str = "ingest_assets"
    source_type: str = "SQL"
    source_version: str | None = None
    # Opt-in, for a real mirrored database: an asset check that Fabric has applied each load's files
    # (defs/pickup_check.py reads it from the plan).
    processed_check: Annotated[ProcessedCheckSettings | None, PlanOnly()] = None

    @field_validator("schema_name")
    @classmethod
    def _schema_inside(cls, value: str | None) -> str | None:
        # The schema is a folder of the landing zone (`<schema>.schema/`), as an entity's is (plan.build).
        outside = None if value is None else outside_the_store(value)
        if outside is not None:
            raise ValueError(outside)
        return value


class OpenMirroringResource(StorageResource):
    mirror_name: str = Field(description="The mirrored database (item name or id) in the workspace.")
    schema_name: str | None = Field(default=None, description="Tables go into <schema>.schema/ folders.")
    key_columns: list[str] = Field(default_factory=list)
    folder_deletion_wait_seconds: int = Field(default=120, description="Wait after deleting a table folder.")
    partner_name: str = "ingest_assets"
    source_type: str = Field(default="SQL", description="_partnerEvents.json: the kind of source database.")
    source_version: str | None = None

    def _check_folder(self) -> str:
        return landing_zone(resolve_references(self.mirror_name))


OPEN_MIRRORING = ConnectorType(
    "open_mirroring", OpenMirroringResource.from_settings, None,
    "ingest_assets.stores.open_mirroring.store:OpenMirroringStore", frozenset(), "table", partitioned_writes=False,
    counts_table=False, publish_step=True, store_settings=frozenset(MIRRORED_TABLE_SETTINGS), model=OpenMirroringConnection,
    dagster_kind="fabric",
)
