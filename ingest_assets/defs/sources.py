"""The tables, files and queries the entities read, as external assets upstream of them.

Lineage then runs source -> entity -> derived, as dagster-sling and dagster-dlt draw it. One spec per
source key (the translator's `get_source_asset_key`: `source/<connection>/<schema>/<table>` by default),
however many entities or flows read it. A translator's source key that is also an entity's key is
refused: the asset graph cannot hold both.
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

from ingest_assets.defs.translator import EntityKeys, IngestTranslator
from ingest_assets.errors import ConfigError, ConfigProblem
from ingest_assets.plan.model import EntityPlan


def source_specs(entities: Iterable[EntityPlan], translator: IngestTranslator, keys: EntityKeys) -> list[dg.AssetSpec]:
    plans = list(entities)
    entity_keys = {keys[plan]: plan for plan in plans}
    specs: dict[dg.AssetKey, dg.AssetSpec] = {}
    problems, refused = [], set()
    for plan in plans:
        key = translator.get_source_asset_key(plan)
        if key is None or key in specs or key in refused:
            continue
        if key in entity_keys:
            refused.add(key)
            problems.append(ConfigProblem(
                plan.declared_at.file, plan.declared_at.line, plan.label,
                f"what it reads would be the source asset {key.to_user_string()!r}, which is the key of entity "
                f"{entity_keys[key].label} -> give sources other keys in the translator's get_source_asset_key"))
            continue
        specs[key] = translator.get_source_asset_spec(plan, key)
    if problems:
        raise ConfigError(problems)
    return list(specs.values())
