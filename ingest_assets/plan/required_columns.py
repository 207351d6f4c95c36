"""The columns an entity names, by where they must be: the one list a run and `ingest check` hold a source to.

- Selecting columns (watermark, time partition, key partitions) pick rows at the source: they must be in
  what the home reads.
- Written-by-name columns (keys, write key, checked columns, and the selecting ones, which a store
  replaces a window or keeps a key's latest row by) must be in what is written: the transform's output
  where there is one, else the source.
"""

from __future__ import annotations

from ingest_assets.plan.model import EntityPlan


def selecting_columns(plan: EntityPlan) -> set[str]:
    return {c for c in (plan.watermark and plan.watermark.column, plan.partition and plan.partition.column,
                        plan.key_partitions and plan.key_partitions.column) if c}


def written_columns(plan: EntityPlan) -> set[str]:
    return {*plan.keys, *plan.write_key, *plan.checks.not_null, *plan.checks.unique, *selecting_columns(plan)}


def source_columns(plan: EntityPlan) -> set[str]:
    """What must be in the source itself (without running a transform)."""
    return selecting_columns(plan) if plan.transform else written_columns(plan)
