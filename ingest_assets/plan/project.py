"""The frozen plan of a whole project: its flows with their entities and automation, and its derived assets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ingest_assets.config.project_files import AutomationStatus, ExecutorKind
from ingest_assets.plan.derived import DerivedPlan
from ingest_assets.plan.model import ConnectionPlan, EntityPlan


@dataclass(frozen=True)
class ScheduleDef:
    cron: str
    timezone: str
    status: AutomationStatus


@dataclass(frozen=True)
class SensorDef:
    status: AutomationStatus
    interval_seconds: int


@dataclass(frozen=True)
class FlowPlan:
    name: str
    description: str
    entities: tuple[EntityPlan, ...]
    schedule: ScheduleDef | None
    sensor: SensorDef | None


@dataclass(frozen=True)
class ProjectPlan:
    root: Path
    environment: str | None
    connections: tuple[ConnectionPlan, ...]
    concurrency: int
    retries: int
    flows: tuple[FlowPlan, ...]
    sensor_status: AutomationStatus = "stopped"  # options.sensor_status: sensors start as this says
    entities_per_step: int = 50  # options.entities_per_step (see defs/steps.py)
    executor: ExecutorKind = "multiprocess"  # options.executor (see defs/executor.py)
    # SQL over other assets (see plan/derived.py), planned after the entities they read.
    derived: tuple[DerivedPlan, ...] = ()

    @property
    def entities(self) -> tuple[EntityPlan, ...]:
        return tuple(entity for flow in self.flows for entity in flow.entities)
