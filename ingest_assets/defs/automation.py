"""Jobs, schedules and new-data sensors built from the plan.

- a job per flow (its unpartitioned entities) and per partitioned entity;
- a job per YAML tag, selecting by Dagster's tag selection (unpartitioned entities; partitioned ones
  run per partition through their own job or a backfill);
- a schedule per flow with a cron, and a partition schedule per partitioned entity of that flow;
- a sensor per flow that requests a run of the incremental entities whose home has rows past the
  committed watermark.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import dagster as dg

from ingest_assets.connectors import registry
from ingest_assets.defs.translator import EntityKeys
from ingest_assets.plan.cursor import encode_value
from ingest_assets.plan.model import EntityPlan
from ingest_assets.plan.project import FlowPlan, ProjectPlan
from ingest_assets.runtime.dead_runs import has_dead_worker
from ingest_assets.runtime.state import committed_cursor

if TYPE_CHECKING:
    # What `build_schedule_from_partitioned_job` returns for an asset job (resolved by `dg.Definitions`).
    from dagster._core.definitions.partitions.partitioned_schedule import (
        UnresolvedPartitionedAssetScheduleDefinition,
    )

    Schedule = dg.ScheduleDefinition | UnresolvedPartitionedAssetScheduleDefinition

_STATUS = {"running": dg.DefaultScheduleStatus.RUNNING, "stopped": dg.DefaultScheduleStatus.STOPPED}
_SENSOR_STATUS = {"running": dg.DefaultSensorStatus.RUNNING, "stopped": dg.DefaultSensorStatus.STOPPED}


@dataclass(frozen=True)
class Automation:
    jobs: list[dg.UnresolvedAssetJobDefinition]
    schedules: list[Schedule]
    sensors: list[dg.SensorDefinition]


def _job_name(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", "_".join(p for p in parts if p)) + "_job"


def build_automation(plan: ProjectPlan, keys: EntityKeys) -> Automation:
    jobs: list[dg.UnresolvedAssetJobDefinition] = []
    schedules: list[Schedule] = []
    sensors: list[dg.SensorDefinition] = []
    for flow in plan.flows:
        plain = [e for e in flow.entities if not e.partitioned]
        if plain:
            job = dg.define_asset_job(
                _job_name(flow.name), selection=dg.AssetSelection.assets(*(keys[e] for e in plain)),
                description=f"Every unpartitioned entity of flow {flow.name}.",
            )
            jobs.append(job)
            if flow.schedule is not None:
                schedules.append(dg.ScheduleDefinition(
                    name=f"{flow.name}_schedule", job=job, cron_schedule=flow.schedule.cron,
                    execution_timezone=flow.schedule.timezone, default_status=_STATUS[flow.schedule.status],
                ))
        for entity in (e for e in flow.entities if e.partitioned):
            job = dg.define_asset_job(
                _job_name(flow.name, entity.entity), selection=dg.AssetSelection.assets(keys[entity]),
                description=f"Partitioned entity {entity.label}, one partition per run.",
            )
            jobs.append(job)
            # Key buckets have no time to schedule by: they are loaded by a backfill.
            if flow.schedule is not None and entity.partition is not None:
                schedules.append(dg.build_schedule_from_partitioned_job(
                    job, name=f"{flow.name}_{entity.entity}_schedule",
                    default_status=_STATUS[flow.schedule.status],
                ))
        watched = [e for e in flow.entities if e.uses_cursor and e.sensor]
        if flow.sensor is not None and watched:
            sensors.append(new_data_sensor(flow, watched, keys))
    jobs.extend(_tag_jobs(plan, keys))
    return Automation(jobs, schedules, sensors)


def _tag_jobs(plan: ProjectPlan, keys: EntityKeys) -> list[dg.UnresolvedAssetJobDefinition]:
    tags = sorted({tag for entity in plan.entities for tag in entity.tags})
    partitioned = [keys[e] for e in plan.entities if e.partitioned]
    jobs = []
    for key, value in tags:
        selection = dg.AssetSelection.tag(key, value)
        if partitioned:
            selection = selection - dg.AssetSelection.assets(*partitioned)
        label = f"{key}={value}" if value else key
        jobs.append(dg.define_asset_job(
            _job_name("tag", key, value), selection=selection,
            description=f"Every unpartitioned entity tagged {label} (select: tag:{label}).",
        ))
    return jobs


def new_data_sensor(flow: FlowPlan, entities: list[EntityPlan], keys: EntityKeys) -> dg.SensorDefinition:
    assert flow.sensor is not None

    @dg.sensor(
        name=f"{flow.name}_new_data_sensor",
        target=dg.AssetSelection.assets(*(keys[e] for e in entities)),
        minimum_interval_seconds=flow.sensor.interval_seconds,
        default_status=_SENSOR_STATUS[flow.sensor.status],
        required_resource_keys={e.home.name for e in entities},
        description=f"Requests a run of the incremental entities of {flow.name} whose home has rows past "
                    "the committed watermark and that no run is materializing (one max() query per entity).",
    )
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason | dg.SensorResult:
        # Decided from the committed cursors and the runs in the instance, never from a memo of what
        # was requested: a requested run that dies leaves the cursor where it was, and is asked again.
        wanted: dict[str, list[Any]] = {}
        ready: list[dg.AssetKey] = []
        waiting: list[str] = []
        for entity in entities:
            assert entity.watermark is not None
            home = registry.open_home(entity.home.type, getattr(context.resources, entity.home.name))
            latest = home.max_value(entity.read, entity.watermark.column)
            committed = committed_cursor(context.instance, keys[entity])
            if latest is None or (committed is not None and not committed.is_passed_by(latest)):
                continue
            attempt = _last_attempt(context.instance, keys[entity])
            # A run killed while STARTED stays so: its dead worker does not hold the entity back (the
            # requested run fails it, see runtime/dead_runs.py).
            if attempt is not None and not attempt.is_finished and not has_dead_worker(attempt):
                waiting.append(entity.label)  # queued or running: it reads up to the maximum it finds
                continue
            wanted[entity.label] = [encode_value(latest), attempt.run_id if attempt is not None else None]
            ready.append(keys[entity])
        if not ready:
            return dg.SkipReason(f"runs in progress for {', '.join(waiting)}" if waiting else
                                 f"no new rows past the committed watermarks of {flow.name}")
        # The run key names each maximum and the entity's last finished run: a repeated tick launches
        # once, and a request after a run that died is a new one.
        run_key = hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()[:16]
        return dg.SensorResult(run_requests=[dg.RunRequest(run_key=run_key, asset_selection=ready)])

    return _sensor


def _last_attempt(instance: dg.DagsterInstance, key: dg.AssetKey) -> dg.DagsterRun | None:
    """The latest run planned to materialize `key`, whoever launched it (None: there was none)."""
    planned = instance.get_latest_planned_materialization_info(key)
    return instance.get_run_by_id(planned.run_id) if planned is not None else None


AUTOMATION_SENSOR = "ingest_automation_sensor"


def automation_condition_sensors(project: ProjectPlan, assets: list[dg.AssetsDefinition],
                                 asset_checks: list[dg.AssetChecksDefinition]) -> list[dg.SensorDefinition]:
    """One sensor evaluates the project's automation conditions (derived assets, the Fabric pickup check).

    Dagster would add its `default_automation_condition_sensor` otherwise, always stopped at first;
    naming one here lets `options.sensor_status` decide, like every other sensor of the project.
    """
    automated = [a for a in assets if any(spec.automation_condition is not None for spec in a.specs)]
    checked = [key for check in asset_checks for key in check.check_keys]
    if not automated and not checked:
        return []
    return [dg.AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR,
        target=dg.AssetSelection.assets(*automated) | dg.AssetSelection.checks(*checked),
        default_status=_SENSOR_STATUS[project.sensor_status],
        description="Evaluates the project's automation conditions: derived assets refresh after an input was "
                    "updated (eager) or on their cron; the files_applied_by_fabric checks run on their cron.",
    )]
