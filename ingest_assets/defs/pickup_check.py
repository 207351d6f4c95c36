"""`files_applied_by_fabric`: the opt-in asset check that Fabric has applied the files of a load.

It runs apart from the load (Dagster's automation evaluates it on the connection's cron, or run it
from the UI), so a mirrored database that stopped replicating shows up as a failed check instead of
a quiet backlog. Files still waiting within `within_minutes` of their publish pass: Fabric is busy.
"""

# No `from __future__ import annotations`: Dagster reads the check function's annotations.

import time
from typing import TYPE_CHECKING, cast

import dagster as dg

from ingest_assets.connectors import registry
from ingest_assets.connectors.open_mirroring import ProcessedCheckSettings
from ingest_assets.plan.model import EntityPlan
from ingest_assets.runtime.metadata import PUBLISHED_FILES

if TYPE_CHECKING:
    from ingest_assets.stores.open_mirroring.store import OpenMirroringStore

FILES_APPLIED = "files_applied_by_fabric"
_LOADS_LOOKED_AT = 20  # the latest load that published files is among these materializations


def pickup_check(plan: EntityPlan, key: dg.AssetKey) -> dg.AssetChecksDefinition | None:
    """The check for an entity whose connection opts in with `processed_check`, else None."""
    settings: ProcessedCheckSettings | None = getattr(plan.store.settings, "processed_check", None)
    if settings is None:
        return None

    @dg.asset_check(
        asset=key, name=FILES_APPLIED, required_resource_keys={plan.store.name},
        # Subscripted so the condition is typed as a check's (the staticmethod cannot infer it).
        automation_condition=dg.AutomationCondition[dg.AssetCheckKey].cron_tick_passed(settings.cron),
        description=f"Fabric has applied every file of the latest load that published files (moved it to "
                    f"_ProcessedFiles or _FilesReadyToDelete) within {settings.within_minutes} minutes.",
    )
    def _files_applied(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        published, published_at = _latest_published(context.instance, key)
        if not published:
            return dg.AssetCheckResult(passed=True, description="no load has published files yet")
        # Only an Open Mirroring connection has `processed_check`, so this store is its landing zone.
        store = cast("OpenMirroringStore", registry.open_store(plan.store.type, getattr(context.resources, plan.store.name)))
        status = store.pickup(plan.write, published)
        minutes = (time.time() - published_at) / 60
        passed, description = status.assess(minutes, settings.within_minutes)
        return dg.AssetCheckResult(
            passed=passed,
            severity=dg.AssetCheckSeverity.ERROR,
            description=description,
            metadata={
                "applied": dg.MetadataValue.json(list(status.processed)),
                "waiting": dg.MetadataValue.json(list(status.waiting)),
                "left_in_place": status.left_in_place or "",
                "vanished": dg.MetadataValue.json(list(status.vanished)),
                "minutes_since_publish": round(minutes, 1),
                "within_minutes": settings.within_minutes,
            },
        )

    return _files_applied


def _latest_published(instance: dg.DagsterInstance, key: dg.AssetKey) -> tuple[list[str], float]:
    """The files of the latest materialization that published any, and when it was recorded."""
    for record in instance.fetch_materializations(key, limit=_LOADS_LOOKED_AT).records:
        materialization = record.asset_materialization
        entry = materialization.metadata.get(PUBLISHED_FILES) if materialization else None
        if entry is not None and entry.value:
            names = entry.value
            assert isinstance(names, list), "a load records its published files as a JSON list"
            return list(names), record.timestamp
    return [], 0.0
