"""What an entity says about its mirrored table: the `store:` settings only open_mirroring reads, and
the value the plan carries for them (`WriteSpec.store_options`).

The settings sit flat in the entity's `store:` (as hygge has them), so the shared `StoreSettings`
takes them in; the plan refuses them for every other store type (see `plan.build`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from pydantic import AliasChoices, BaseModel, ConfigDict, Field


class MirroredTableSettings(BaseModel):
    """The entity's own wait after deleting its table folder, its schema folder, and a source column
    that says per row whether it is an insert, update, upsert or delete."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    folder_deletion_wait_seconds: Annotated[int, Field(ge=0)] | None = None
    schema_name: str | None = Field(default=None, validation_alias=AliasChoices("schema", "schema_name"))
    row_marker_column: str | None = None


# Entity `store:` settings only open_mirroring reads: the plan refuses them for every other store type.
MIRRORED_TABLE_SETTINGS = tuple(MirroredTableSettings.model_fields)


@dataclass(frozen=True)
class MirroredTableOptions:
    """The schema folder, the table's keyColumns, the entity's own wait after deleting its table
    folder (None: the connection's), and the source column with each row's operation."""

    schema: str | None = None
    key_columns: tuple[str, ...] = ()
    wait_seconds: int | None = None
    row_marker_column: str | None = None

    @classmethod
    def of(cls, settings: MirroredTableSettings, connection_schema: str | None,
           key_columns: Sequence[str]) -> MirroredTableOptions:
        """The entity's settings over the connection's schema; the key is the entity's write key."""
        return cls(schema=settings.schema_name or connection_schema, key_columns=tuple(key_columns),
                   wait_seconds=settings.folder_deletion_wait_seconds, row_marker_column=settings.row_marker_column)

    def qualified(self, table: str) -> str:
        """The table as Fabric names it: `Schema.Table`, or the table alone without a schema."""
        return f"{self.schema}.{table}" if self.schema else table

    def fingerprint(self) -> dict[str, object]:
        """The fields that decide what is written (part of the asset's code version)."""
        return {"schema": self.schema, "key_columns": self.key_columns, "wait_seconds": self.wait_seconds,
                "row_marker_column": self.row_marker_column}
