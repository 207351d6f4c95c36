"""What a Delta table's housekeeping is set to: the connection's settings (`DeltaConnection` inherits
them), and the ones an entity's `store:` gives for its own table, which the plan carries
(`WriteSpec.store_options`) and the store applies over the connection's (`delta_housekeeping`).

The entity's settings sit flat in its `store:` (as the Open Mirroring ones do), so the shared
`StoreSettings` takes them in; the plan refuses them for every other store type (see `plan.build`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

# Delta's own default retention (delta.deletedFileRetentionDuration): 7 days.
DEFAULT_RETENTION_HOURS = 168


class HousekeepingSettings(BaseModel):
    """Compaction (Z-ordered by `z_order`, which implies it) and vacuum after each load's commit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    optimize: bool = False
    z_order: list[str] = Field(default_factory=list)
    vacuum: bool = False
    vacuum_retention_hours: Annotated[int, Field(ge=0)] = DEFAULT_RETENTION_HOURS


# The settings an entity's `store:` may give for its own table (only a delta store reads them).
HOUSEKEEPING_SETTINGS = tuple(HousekeepingSettings.model_fields)


@dataclass(frozen=True)
class TableHousekeeping:
    """The housekeeping settings an entity's `store:` gives, over its connection's (the plan carries
    them in `WriteSpec.store_options`)."""

    given: tuple[tuple[str, object], ...]  # (setting, value), only the ones the entity sets

    @classmethod
    def of(cls, settings: HousekeepingSettings) -> TableHousekeeping | None:
        """The settings the entity set (a value equal to the default is set too); None without any."""
        given = {name: getattr(settings, name) for name in HOUSEKEEPING_SETTINGS if name in settings.model_fields_set}
        if not given:
            return None
        # z_order as a tuple, so the plan stays hashable.
        return cls(tuple((name, tuple(value) if isinstance(value, list) else value) for name, value in given.items()))

    def over(self, connection: HousekeepingSettings) -> HousekeepingSettings:
        return HousekeepingSettings.model_validate({**connection.model_dump(), **dict(self.given)})

    def fingerprint(self) -> dict[str, object]:
        return {"housekeeping": dict(self.given)}
