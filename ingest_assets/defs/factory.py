"""`build_definitions`: a `flows/` project -> Dagster Definitions.

One asset per entity (each its own step, so one failing table never fails another), one resource
per connection, plus jobs, schedules and sensors. Loading opens no connection and imports no driver:
homes and stores are imported when a run needs them.
"""

# No `from __future__ import annotations` here: Dagster reads the asset function's annotations
# (the context and RunOverrides config types) at definition time.

import os
from pathlib import Path

import dagster as dg

from ingest_assets.connectors import registry
from ingest_assets.defs.automation import automation_condition_sensors, build_automation
from ingest_assets.config.loader import FLOWS_DIR_VARIABLE
from ingest_assets.defs.derived import derived_asset
from ingest_assets.defs.pickup_check import pickup_check
from ingest_assets.plan import EntityPlan, ProjectPlan, load_plan
from ingest_assets.defs.pools import POOL_TAG, pool_limits
from ingest_assets.runtime import checks
from ingest_assets.runtime.execute import RunOverrides, materialize_entity
from ingest_assets.defs.translator import IngestTranslator
from ingest_assets.defs.publish_step import STEP_TAG, two_step_asset


def entity_asset(plan: EntityPlan, translator: IngestTranslator, retries: int) -> dg.AssetsDefinition:
    spec = translator.get_asset_spec(plan)
    # The home's connection limit: Dagster's pool across runs, the executor's tag limit within one.
    pool = plan.home.name if plan.home.pool_size else None
    tags = {STEP_TAG: "extract", **({POOL_TAG: plan.home.name} if pool else {})}
    if registry.connector(plan.store.type).publish_step:
        return two_step_asset(plan, spec, retries, tags, pool)

    @dg.multi_asset(
        name=plan.op_name,
        specs=[spec],
        check_specs=checks.check_specs(plan),
        required_resource_keys={plan.home.name, plan.store.name},
        # A range of time partitions runs as one window in one run (`--partition-range` needs this);
        # key buckets run one per run, so a backfill spreads them over the executor's workers.
        backfill_policy=dg.BackfillPolicy.single_run() if plan.partition else None,
        pool=pool,
        op_tags=tags,
    )
    def _entity(context: dg.AssetExecutionContext, config: RunOverrides):
        yield from materialize_entity(
            context, plan, config,
            getattr(context.resources, plan.home.name),
            getattr(context.resources, plan.store.name),
            retries,
        )

    return _entity


def build_definitions(
    flows_dir: Path | str | None = None,
    environment: str | None = None,
    translator: IngestTranslator | None = None,
) -> dg.Definitions:
    """Definitions for the project in `flows_dir` (default: $INGEST_FLOWS_DIR, else ./flows)."""
    project = load_plan(Path(flows_dir or os.environ.get(FLOWS_DIR_VARIABLE, "flows")), environment)
    translator = translator or IngestTranslator()
    automation = build_automation(project)
    derived = [derived_asset(plan, translator, project.retries) for plan in project.derived]
    asset_checks = [check for entity in project.entities if (check := pickup_check(entity)) is not None]
    return dg.Definitions(
        assets=[entity_asset(entity, translator, project.retries) for entity in project.entities] + derived,
        asset_checks=asset_checks,
        jobs=automation.jobs,
        schedules=automation.schedules,
        sensors=automation.sensors + automation_condition_sensors(project, derived, asset_checks),
        resources={
            connection.name: registry.connector(connection.type).make_resource(connection.settings, project.root)
            for connection in project.connections
        },
        executor=_executor(project),
    )


def _executor(project: ProjectPlan) -> dg.ExecutorDefinition:
    limits = [{"key": POOL_TAG, "value": name, "limit": size} for name, size in pool_limits(project).items()]
    steps = project.concurrency
    if any(registry.connector(entity.store.type).publish_step for entity in project.entities):
        # `concurrency` bounds extraction; publish steps (which may wait minutes for Fabric) get as
        # many slots again, so waiting never stops other entities from extracting.
        limits += [{"key": STEP_TAG, "value": kind, "limit": project.concurrency} for kind in ("extract", "publish")]
        steps = 2 * project.concurrency
    return dg.multiprocess_executor.configured({"max_concurrent": steps, "tag_concurrency_limits": limits})
