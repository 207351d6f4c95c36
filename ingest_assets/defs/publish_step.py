"""An entity asset in two steps, for stores that publish after extraction (Open Mirroring).

`<entity>_extract` reads, stages and prepares the publish (the store's commit point) inside the
extraction limit; `<entity>_publish` publishes and reports. A full_drop into a mirrored table waits
minutes for Fabric to drop the old table: that wait happens in the publish step, which is outside
the extraction limit, so other entities keep extracting meanwhile (hygge's "releases its slot").

The run config is the same as a one-step entity's (`ops: {<flow>__<entity>: {config: ...}}`): the
graph maps it to its extract step.
"""

# No `from __future__ import annotations`: Dagster reads the op functions' annotations.

from collections.abc import Iterator

import dagster as dg

from ingest_assets.defs.checks import check_specs
from ingest_assets.defs.partitions import backfill_policy
from ingest_assets.plan.model import EntityPlan
from ingest_assets.runtime.materialize import PendingPublish, extract_for_publish, publish_prepared
from ingest_assets.runtime.overrides import run_config_schema, run_overrides
from ingest_assets.runtime.project_guard import ProjectIdentity, check_step_project

STEP_TAG = "ingest/step"  # extract | publish: the executor limits each kind on its own
SOURCE = "source"  # the graph's input of the entity's source asset (see defs/sources.py)
RESULT = "result"


def publish_step_asset(plan: EntityPlan, spec: dg.AssetSpec, retries: int, extract_tags: dict[str, str],
                   pool: str | None, identity: ProjectIdentity) -> dg.AssetsDefinition:
    entity_checks = check_specs(plan, spec.key)
    # A graph asset takes its upstream assets (the entity's source) as inputs, not as its out's deps.
    upstream = [dep.asset_key for dep in spec.deps]
    sources = {SOURCE: dg.AssetIn(key=upstream[0], dagster_type=dg.Nothing)} if upstream else {}
    spec = spec.replace_attributes(deps=[])
    # The graph's output for a check is named after the asset key and the check.
    check_outputs = {f"{spec.key.to_python_identifier()}_{c.name}": c.name for c in entity_checks}

    @dg.op(name=f"{plan.op_name}_extract", required_resource_keys={plan.home.name, plan.store.name},
           ins={name: dg.In(dg.Nothing) for name in sources},
           tags={**extract_tags, STEP_TAG: "extract"}, pool=pool, config_schema=run_config_schema().as_field())
    def extract(context: dg.OpExecutionContext) -> PendingPublish:
        check_step_project(context, identity)
        return extract_for_publish(context, plan, spec.key, run_overrides(context.op_config),
                                   getattr(context.resources, plan.home.name),
                                   getattr(context.resources, plan.store.name), retries)

    @dg.op(name=f"{plan.op_name}_publish", required_resource_keys={plan.store.name},
           tags={STEP_TAG: "publish", **identity.tags()},
           out={RESULT: dg.Out(dg.Nothing), **{name: dg.Out(dg.Nothing, is_required=False) for name in check_outputs}})
    def publish(context: dg.OpExecutionContext, pending: PendingPublish
                ) -> Iterator[dg.Output[None] | dg.AssetCheckResult]:
        check_step_project(context, identity)
        yield from publish_prepared(context, plan, spec.key, pending, getattr(context.resources, plan.store.name), retries,
                                    RESULT)

    def run_config(value: dict[str, object]) -> dict[str, dict[str, dict[str, object]]]:
        return {f"{plan.op_name}_extract": {"config": value}}

    def outputs(results: tuple[object, ...]) -> dict[str, object]:  # more than one: not typed by Dagster
        return {RESULT: results[0], **{name: results[index + 1] for index, name in enumerate(check_outputs)}}

    def from_source(source: None) -> dict[str, object]:
        return outputs(publish(extract(source)))

    def alone() -> dict[str, object]:
        return outputs(publish(extract()))

    return dg.graph_multi_asset(
        name=plan.op_name,
        ins=sources,
        outs={RESULT: dg.AssetOut.from_spec(spec)},
        group_name=spec.group_name,  # from_spec leaves the group to the graph
        check_specs=entity_checks,
        config=dg.ConfigMapping(config_fn=run_config, config_schema=run_config_schema()),
        backfill_policy=backfill_policy(plan),
    )(from_source if sources else alone)
