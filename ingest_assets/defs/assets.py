"""Entity assets: an entity's own `multi_asset` step that reads, stages, commits and reports (or two
steps for stores that publish after extraction, see `publish_step.py`), or a step shared by several
entities (`shared_step_asset`, see `steps.py`)."""

# No `from __future__ import annotations` here: Dagster reads the asset function's annotations
# (the context and RunOverrides config types) at definition time. Dagster derives the config schema
# of each step from the annotation (a multi_asset takes no prebuilt schema, only a dict that would
# lose its description); with entities sharing steps that is a few hundred times, about 1 ms each.

from collections.abc import Iterator

import dagster as dg

from ingest_assets.connectors import registry
from ingest_assets.defs.checks import check_specs
from ingest_assets.defs.partitions import backfill_policy
from ingest_assets.defs.pools import POOL_TAG
from ingest_assets.defs.publish_step import STEP_TAG, publish_step_asset
from ingest_assets.defs.steps import SharedStep
from ingest_assets.defs.translator import ENTITY_METADATA_KEY, EntityKeys, IngestTranslator
from ingest_assets.errors import TranslatorKeyMismatch
from ingest_assets.plan.model import EntityPlan
from ingest_assets.runtime.batch import BatchEntity, materialize_batch
from ingest_assets.runtime.materialize import materialize_entity
from ingest_assets.runtime.overrides import RunOverrides
from ingest_assets.runtime.project_guard import ProjectIdentity, check_step_project


def entity_spec(plan: EntityPlan, translator: IngestTranslator, key: dg.AssetKey) -> dg.AssetSpec:
    """The translator's spec, marked with the entity it stands for (`ingest plan` maps keys back by it)."""
    spec = translator.get_asset_spec(plan)
    if spec.key != key:
        raise TranslatorKeyMismatch(translator=type(translator).__name__, entity=plan.label,
                                    spec_key=spec.key.to_user_string(), asset_key=key.to_user_string())
    if spec.metadata.get(ENTITY_METADATA_KEY) == plan.label:
        return spec  # IngestTranslator marks it already; a copy of every spec costs ~10% of a load
    return spec.merge_attributes(metadata={ENTITY_METADATA_KEY: plan.label})


def _pool(plan: EntityPlan, identity: ProjectIdentity) -> tuple[str | None, dict[str, str]]:
    """The home's connection limit: Dagster's pool across runs, the executor's tag limit within one;
    and the project the step was built from (see runtime/project_guard.py)."""
    pool = plan.home.name if plan.home.pool_size else None
    return pool, {STEP_TAG: "extract", **({POOL_TAG: plan.home.name} if pool else {}),
                  **identity.tags()}


def entity_asset(plan: EntityPlan, translator: IngestTranslator, key: dg.AssetKey, retries: int,
                 identity: ProjectIdentity) -> dg.AssetsDefinition:
    spec = entity_spec(plan, translator, key)
    pool, tags = _pool(plan, identity)
    if registry.connector(plan.store.type).publish_step:
        return publish_step_asset(plan, spec, retries, tags, pool, identity)

    @dg.multi_asset(
        name=plan.op_name,
        specs=[spec],
        check_specs=check_specs(plan, key),
        required_resource_keys={plan.home.name, plan.store.name},
        backfill_policy=backfill_policy(plan),
        pool=pool,
        op_tags=tags,
    )
    def _entity(context: dg.AssetExecutionContext, config: RunOverrides
                ) -> Iterator[dg.MaterializeResult[None] | dg.AssetCheckResult]:
        check_step_project(context, identity)
        yield from materialize_entity(
            context, plan, key, config,
            getattr(context.resources, plan.home.name),
            getattr(context.resources, plan.store.name),
            retries,
        )

    return _entity


def shared_step_asset(step: SharedStep, translator: IngestTranslator, keys: EntityKeys, retries: int,
                      identity: ProjectIdentity) -> dg.AssetsDefinition:
    """One step for several entities (of one flow, home and store): subsettable, so a run of some of
    them loads only those, each with its own materialization, checks and failure."""
    entities = {keys[plan]: BatchEntity(plan, keys[plan]) for plan in step.entities}
    first = step.entities[0]
    pool, tags = _pool(first, identity)

    @dg.multi_asset(
        name=step.name,
        specs=[entity_spec(entity.plan, translator, key) for key, entity in entities.items()],
        check_specs=[spec for key, entity in entities.items() for spec in check_specs(entity.plan, key)],
        required_resource_keys={first.home.name, first.store.name},
        can_subset=True,
        backfill_policy=backfill_policy(first),  # the step's entities are unpartitioned
        pool=pool,
        op_tags=tags,
    )
    def _entities(context: dg.AssetExecutionContext, config: RunOverrides
                  ) -> Iterator[dg.MaterializeResult[None] | dg.AssetCheckResult]:
        check_step_project(context, identity)
        resources = {name: getattr(context.resources, name) for name in (first.home.name, first.store.name)}
        selected = [entity for key, entity in entities.items() if key in context.selected_asset_keys]
        yield from materialize_batch(context, selected, config, resources, step.threads, retries)

    return _entities
