"""`build_definitions`: a `flows/` project -> Dagster Definitions.

One asset per entity (small tables share a step, see `defs/steps.py`; a failing table fails only its
own asset), one resource per connection, plus jobs, schedules and sensors. Loading opens no connection and imports no driver:
homes and stores are imported when a run needs them.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from ingest_assets.config.loader import FLOWS_DIR_VARIABLE
from ingest_assets.connectors import registry
from ingest_assets.defs.assets import entity_asset, shared_step_asset
from ingest_assets.defs.automation import automation_condition_sensors, build_automation
from ingest_assets.defs.collector import collector_paused
from ingest_assets.defs.derived import derived_asset
from ingest_assets.defs.executor import project_executor
from ingest_assets.defs.instance_check import check_instance_storage
from ingest_assets.defs.pickup_check import pickup_check
from ingest_assets.defs.sources import source_specs
from ingest_assets.defs.steps import plan_steps
from ingest_assets.defs.translator import EntityKeys, IngestTranslator
from ingest_assets.plan.load import load_plan
from ingest_assets.runtime.project_guard import project_identity


def build_definitions(
    flows_dir: Path | str | None = None,
    environment: str | None = None,
    translator: IngestTranslator | None = None,
    executor: dg.ExecutorDefinition | None = None,
) -> dg.Definitions:
    """Definitions for the project in `flows_dir` (default: $INGEST_FLOWS_DIR, else ./flows).

    `executor` replaces the one `options.executor` chooses (`Definitions.merge` refuses two executors,
    so definitions merged with these pass theirs here).
    """
    check_instance_storage()  # a PostgreSQL instance whose URL cannot work fails here, not at a run's first event
    with collector_paused():  # everything built here lives as long as the definitions (see collector.py)
        return _build(Path(flows_dir or os.environ.get(FLOWS_DIR_VARIABLE, "flows")), environment,
                      translator or IngestTranslator(), executor)


def _build(flows_dir: Path, environment: str | None, translator: IngestTranslator,
           executor: dg.ExecutorDefinition | None) -> dg.Definitions:
    project = load_plan(flows_dir, environment)
    # Every step carries the project it was built from and refuses a run planned with another.
    identity = project_identity(project, flows_dir)
    keys = EntityKeys(translator, [*project.entities, *(derived.entity for derived in project.derived)])
    automation = build_automation(project, keys)
    sources = source_specs(project.entities, translator, keys)  # first: refuses a key an entity also has
    alone, shared = plan_steps(project)
    entities = [entity_asset(entity, translator, keys[entity], project.retries, identity) for entity in alone]
    entities += [shared_step_asset(step, translator, keys, project.retries, identity) for step in shared]
    derived = [derived_asset(plan, translator, keys, project.retries, identity) for plan in project.derived]
    asset_checks = [check for entity in project.entities if (check := pickup_check(entity, keys[entity])) is not None]
    return dg.Definitions(
        assets=[*sources, *entities, *derived],
        asset_checks=asset_checks,
        jobs=automation.jobs,
        schedules=automation.schedules,
        sensors=automation.sensors + automation_condition_sensors(project, derived, asset_checks),
        resources={
            connection.name: registry.connector(connection.type).make_resource(connection.settings, project.root)
            for connection in project.connections
        },
        executor=executor or project_executor(project),
    )
