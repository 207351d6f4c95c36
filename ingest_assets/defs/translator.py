"""Plan -> AssetSpec: the one override point for how an entity looks in Dagster.

Subclass `IngestTranslator` and pass it to `build_definitions(translator=...)` to change keys,
groups, tags or metadata for every entity at once. The translator is the only maker of asset keys:
everything else (checks, jobs, sensors, runs, `ingest plan`) asks `EntityKeys`, which asks it once.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import PurePosixPath

import dagster as dg

from ingest_assets.connectors import registry
from ingest_assets.defs.partitions import partitions_definition
from ingest_assets.errors import TranslatorError  # noqa: F401 -- re-exported from its old home
from ingest_assets.plan.model import EntityPlan, ReadSpec

# Written by the factory into every entity's spec, whatever the translator does: which entity an asset is.
ENTITY_METADATA_KEY = "ingest/entity"
# Every asset this tool makes carries it beside its home's and store's kinds (`kind:ingest_assets` selects them all).
TOOL_KIND = "ingest_assets"
# On partitioned entities, valueless so that `tag:ingest/partitioned` selects them: Dagster's CLI refuses
# a selection holding one without a `--partition`, so `--select '* and not tag:ingest/partitioned'`
# runs everything else.
PARTITIONED_TAG = "ingest/partitioned"
# The first part of a source asset's key: with the connection and the table after it, a source key has
# three parts or more, so it never takes an entity's (flow, entity) key whatever the names.
SOURCE_KEY_PREFIX = "source"


def yaml_code_reference(plan: EntityPlan) -> dict[str, dg.CodeReferencesMetadataValue]:
    """`dagster/code_references`: the entity's (or derived asset's) YAML file and line, the asset's
    source in the UI. Dagster marks its code references beta; they are what the UI links from, so
    their warning is accepted here, where the one reference is made."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        reference = dg.LocalFileCodeReference(file_path=str(plan.declared_at.path), line_number=plan.declared_at.line,
                                              label=plan.declared_at.file)
        return {"dagster/code_references": dg.CodeReferencesMetadataValue(code_references=[reference])}


def source_name(read: ReadSpec, entity: str) -> list[str]:
    """What an entity reads, as the last parts of its source asset's key: a table's schema and name, a
    path's folders and file (a glob's wildcards dropped), or the entity's own query."""
    if read.table:
        return read.table.split(".")
    if read.path:
        parts = [part for part in PurePosixPath(read.path).parts if part not in ("/", ".", "..")]
        kept = [part for part in parts if not any(c in part for c in "*?[")]
        return kept or [entity]
    return [f"{entity}_query"]


class IngestTranslator:
    def get_asset_key(self, plan: EntityPlan) -> dg.AssetKey:
        return dg.AssetKey(list(plan.key_path))

    def get_source_asset_key(self, plan: EntityPlan) -> dg.AssetKey | None:
        """The key of what the entity reads (its home's table, files or query), an external asset
        upstream of it in the lineage; entities that read one table share it. None leaves it out."""
        return dg.AssetKey([SOURCE_KEY_PREFIX, plan.home.name, *source_name(plan.read, plan.entity)])

    def get_source_asset_spec(self, plan: EntityPlan, key: dg.AssetKey) -> dg.AssetSpec:
        """The source asset's spec (of the first entity that reads it): the home's kind, a group per connection."""
        return dg.AssetSpec(
            key=key,
            group_name=plan.home.name,
            kinds={registry.connector(plan.home.type).kind},
            description=f"`{plan.read.describe()}` in `{plan.home.name}` ({plan.home.type}), read by ingest_assets.",
            metadata={"ingest/home": f"{plan.home.name} ({plan.home.type}): {plan.read.describe()}"},
        )

    def get_tags(self, plan: EntityPlan) -> dict[str, str]:
        partitioned = {PARTITIONED_TAG: ""} if plan.partitioned else {}
        return {**dict(plan.tags), "ingest/flow": plan.flow, "ingest/run_type": plan.run_type, **partitioned}

    def get_description(self, plan: EntityPlan) -> str:
        lines = [plan.description] if plan.description else []
        lines.append(
            f"Reads `{plan.read.describe()}` from `{plan.home.name}` ({plan.home.type}) and writes "
            f"`{plan.write.describe()}` in `{plan.store.name}` ({plan.store.type}): {plan.mode().describe()}."
        )
        return "\n\n".join(lines)

    def get_asset_spec(self, plan: EntityPlan) -> dg.AssetSpec:
        store_kind = registry.connector(plan.store.type).kind
        source = self.get_source_asset_key(plan)
        return dg.AssetSpec(
            key=self.get_asset_key(plan),
            deps=[source] if source is not None else [],
            group_name=plan.flow,
            kinds={registry.connector(plan.home.type).kind, store_kind, TOOL_KIND},
            tags=self.get_tags(plan),
            owners=list(plan.owners),
            description=self.get_description(plan),
            code_version=plan.code_version(),
            partitions_def=partitions_definition(plan),
            metadata={
                "ingest/home": f"{plan.home.name} ({plan.home.type}): {plan.read.describe()}",
                "ingest/store": f"{plan.store.name} ({plan.store.type}): {plan.write.describe()}",
                "ingest/load": plan.mode().describe(),
                "ingest/declared_at": str(plan.declared_at),
                **({"ingest/watermark_column": plan.watermark.column} if plan.watermark else {}),
                **({"ingest/keys": ", ".join(plan.keys)} if plan.keys else {}),
                # Dagster's own keys: the table as its store names it, and the UI's link to the YAML.
                **({"dagster/table_name": plan.write.table} if plan.write.table else {}),
                "dagster/storage_kind": store_kind,
                **yaml_code_reference(plan),
                # Last, where `entity_spec` would add it: one spec per entity instead of a copy.
                ENTITY_METADATA_KEY: plan.label,
            },
        )


class EntityKeys:
    """The translator's asset key of every entity (and derived asset) of a project, asked for once."""

    def __init__(self, translator: IngestTranslator, plans: Iterable[EntityPlan]):
        self._keys = {plan.label: translator.get_asset_key(plan) for plan in plans}

    def __getitem__(self, plan: EntityPlan) -> dg.AssetKey:
        return self._keys[plan.label]
