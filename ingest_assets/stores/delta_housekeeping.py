"""What Delta users run after their loads: `OPTIMIZE` (compaction) and `VACUUM`, as store settings.

Every load adds at least one file, so an incremental table read by many small loads gains many
small files; compaction rewrites them into fewer large ones (optionally Z-ordered by columns that
queries filter on) in a commit of its own that changes no row. Replaced and merged rows leave files
no current version needs; vacuum deletes those older than the retention, after which time travel to
the versions that used them stops working.

Both run after the load committed: the load's rows, version and record are already in the table, so
a failure here is reported in the materialization metadata (`ingest/delta_housekeeping`), never as a
failed load that a retry would load again.

The settings (`delta_options`) are the connection's; an entity's `store:` may give any of them for
its own table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingest_assets.errors import first_line
from ingest_assets.stores.base import StoreDetail
from ingest_assets.stores.delta_options import DEFAULT_RETENTION_HOURS, HousekeepingSettings

if TYPE_CHECKING:
    from deltalake import DeltaTable

HOUSEKEEPING_METADATA = "ingest/delta_housekeeping"


@dataclass(frozen=True)
class Housekeeping:
    optimize: bool = False
    z_order: tuple[str, ...] = ()  # compaction that also clusters rows by these columns
    vacuum: bool = False
    retention_hours: int = DEFAULT_RETENTION_HOURS

    @property
    def does_nothing(self) -> bool:
        return not (self.optimize or self.vacuum)


NO_HOUSEKEEPING = Housekeeping()


def housekeeping_of(settings: HousekeepingSettings) -> Housekeeping:
    return Housekeeping(optimize=settings.optimize or bool(settings.z_order), z_order=tuple(settings.z_order),
                        vacuum=settings.vacuum, retention_hours=settings.vacuum_retention_hours)


def tidy(table: DeltaTable, housekeeping: Housekeeping) -> dict[str, StoreDetail]:
    """Run the configured housekeeping on `table` (at its latest version); what it did, as metadata."""
    if housekeeping.does_nothing:
        return {}
    done: dict[str, int | float | str] = {}
    try:
        if housekeeping.optimize:
            done.update(_optimize(table, housekeeping.z_order))
        if housekeeping.vacuum:
            # The retention is the user's setting: delta-rs' check against the table property would
            # refuse a shorter one that the user chose on purpose (no reader keeps versions that long).
            deleted = table.vacuum(retention_hours=housekeeping.retention_hours, dry_run=False,
                                   enforce_retention_duration=False)
            done["vacuum_files_deleted"] = len(deleted)
            done["vacuum_retention_hours"] = housekeeping.retention_hours
    except Exception as error:  # delta-rs raises several unrelated types; the load itself committed
        done["failed"] = (f"{first_line(error)} -> the load committed; housekeeping runs again after the next "
                          "load, or run it by hand with deltalake's DeltaTable.optimize / vacuum")
    return {HOUSEKEEPING_METADATA: done}


def _optimize(table: DeltaTable, z_order: tuple[str, ...]) -> dict[str, int]:
    metrics = table.optimize.z_order(list(z_order)) if z_order else table.optimize.compact()
    return {"optimize_files_added": int(metrics.get("numFilesAdded", 0)),
            "optimize_files_removed": int(metrics.get("numFilesRemoved", 0)),
            "optimize_version": table.version()}
