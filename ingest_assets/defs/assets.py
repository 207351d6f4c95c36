"""An entity's asset: one `multi_asset` step that reads, stages, commits and reports (or two steps for
stores that publish after extraction, see `publish_step.py`)."""

# No `from __future__ import annotations` here: Dagster reads the asset function's annotations
# (the context and RunOverrides config types) at definition time.

from collections.abc import Iterator

import dagster as dg

from ingest_assets.connectors import registry
from ingest_assets.defs.checks import check_specs
from ingest_assets.defs.pools import POOL_TAG
from ingest_assets.defs.publish_step import STEP_TAG, publish_step_asset
from ingest_assets.defs.translator import ENTITY_METADATA_KEY, IngestTranslator
from ingest_assets.errors import TranslatorKeyMismatch
from ingest_assets.plan.model import EntityPlan
from ingest_assets.runtime.materialize import materialize_entity
from ingest_assets.runtime.overrides import RunOverrides


def entity_spec(plan: EntityPlan, translator: IngestTranslator, key: dg.AssetKey) -> dg.AssetSpec:
    """The translator's spec, marked with the entity it stands for (`ingest plan` maps keys back by it)."""
    spec = translator.get_asset_spec(plan)
    if spec.key != key:
        raise TranslatorKeyMismatch(translator=type(translator).__name__, entity=plan.label,
                                    spec_key=spec.key.to_user_string(), asset_key=key.to_user_string())
    return spec.merge_attributes(metadata={ENTITY_METADATA_KEY: plan.label})


def entity_asset(plan: EntityPlan, translator: IngestTranslator, key: dg.AssetKey, retries: int
                 ) -> dg.AssetsDefinition:
    spec = entity_spec(plan, translator, key)
    # The home's connection limit: Dagster's pool across runs, the executor's tag limit within one.
    pool = plan.home.name if plan.home.pool_size else None
    tags = {STEP_TAG: "extract", **({POOL_TAG: plan.home.name} if pool else {})}
    if registry.connector(plan.store.type).publish_step:
        return publish_step_asset(plan, spec, retries, tags, pool)

    @dg.multi_asset(
        name=plan.op_name,
        specs=[spec],
        check_specs=check_specs(plan, key),
        required_resource_keys={plan.home.name, plan.store.name},
        # A range of time partitions runs as one window in one run (`--partition-range` needs this);
        # key buckets run one per run, so a backfill spreads them over the executor's workers.
        backfill_policy=dg.BackfillPolicy.single_run() if plan.partition else None,
        pool=pool,
        op_tags=tags,
    )
    def _entity(context: dg.AssetExecutionContext, config: RunOverrides
                ) -> Iterator[dg.MaterializeResult[None] | dg.AssetCheckResult]:
        yield from materialize_entity(
            context, plan, key, config,
            getattr(context.resources, plan.home.name),
            getattr(context.resources, plan.store.name),
            retries,
        )

    return _entity
