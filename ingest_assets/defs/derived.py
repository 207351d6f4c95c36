"""Derived plans -> Dagster assets (deps = inputs, group = flow) and the sensor that runs their automation."""

# No `from __future__ import annotations`: Dagster reads the asset function's annotations.

from collections.abc import Iterator

import dagster as dg

from ingest_assets.defs.assets import entity_spec
from ingest_assets.defs.checks import check_specs
from ingest_assets.defs.partitions import backfill_policy
from ingest_assets.defs.publish_step import STEP_TAG
from ingest_assets.defs.translator import EntityKeys, IngestTranslator
from ingest_assets.homes.derived import DerivedQueryHome
from ingest_assets.plan.derived import AutomationPlan, DerivedPlan
from ingest_assets.runtime.materialize import materialize_from_home
from ingest_assets.runtime.overrides import RunOverrides
from ingest_assets.runtime.project_guard import ProjectIdentity, check_step_project


def automation_condition(automation: AutomationPlan) -> dg.AutomationCondition[dg.AssetKey | dg.AssetCheckKey] | None:
    if automation.kind == "eager":
        return dg.AutomationCondition.eager()
    if automation.kind == "on_cron":
        assert automation.cron is not None
        return dg.AutomationCondition.on_cron(automation.cron, automation.timezone)
    return None


def derived_spec(derived: DerivedPlan, translator: IngestTranslator, keys: EntityKeys) -> dg.AssetSpec:
    """The translator's spec of the write side, with the inputs as deps and the automation condition."""
    plan = derived.entity
    spec = entity_spec(plan, translator, keys[plan])
    inputs = ", ".join(i.label for i in derived.inputs)
    description = "\n\n".join(filter(None, [
        plan.description,
        f"Derived with SQL over {inputs}, recomputed in full and written to `{plan.write.describe()}` in "
        f"`{plan.store.name}` ({plan.store.type}). Automation: {derived.automation.describe()}.",
        f"```sql\n{derived.sql}\n```",
    ]))
    metadata = {k: v for k, v in spec.metadata.items() if k != "ingest/home"}
    return spec.replace_attributes(
        deps=[keys[i] for i in derived.inputs],
        description=description,
        code_version=derived.code_version(),
        automation_condition=automation_condition(derived.automation),
        metadata={**metadata, "ingest/inputs": inputs, "ingest/sql": derived.sql,
                  "ingest/automation": derived.automation.describe()},
    )


def latest_metadata(instance: dg.DagsterInstance, key: dg.AssetKey) -> dict[str, object]:
    """The values of `key`'s latest materialization metadata (empty before the first)."""
    event = instance.get_latest_materialization_event(key)
    if event is None or event.asset_materialization is None:
        return {}
    return {name: value.value for name, value in event.asset_materialization.metadata.items()}


def derived_asset(derived: DerivedPlan, translator: IngestTranslator, keys: EntityKeys, retries: int,
                  identity: ProjectIdentity) -> dg.AssetsDefinition:
    plan = derived.entity
    key = keys[plan]

    @dg.multi_asset(
        name=plan.op_name,
        specs=[derived_spec(derived, translator, keys)],
        check_specs=check_specs(plan, key),
        required_resource_keys={plan.store.name, *(i.store.name for i in derived.inputs)},
        op_tags={STEP_TAG: "extract", **identity.tags()},
        backfill_policy=backfill_policy(plan),
    )
    def _derived(context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult[None] | dg.AssetCheckResult]:
        check_step_project(context, identity)
        home = DerivedQueryHome(derived, lambda name: getattr(context.resources, name),
                                lambda asset: latest_metadata(context.instance, keys[asset]))
        yield from materialize_from_home(context, plan, key, RunOverrides(), lambda: home,
                                         getattr(context.resources, plan.store.name), retries)

    return _derived
