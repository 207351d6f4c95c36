"""The asset check specs of every entity: what its loads are checked for, by what its store can measure."""

from __future__ import annotations

import dagster as dg

from ingest_assets.connectors import registry
from ingest_assets.plan.model import EntityPlan
from ingest_assets.runtime.check_results import (
    DESTINATION_ROW_COUNT,
    FILES_MATCH_ROWS,
    KEYS_NOT_NULL_UNIQUE,
    MIN_ROWS,
    NOT_NULL,
    ROWS_READ_EQUAL_WRITTEN,
    SCHEMA_UNCHANGED,
    SEQUENCE_WITHOUT_GAPS,
    UNIQUE,
)


def check_specs(plan: EntityPlan, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    """The checks of an entity's asset (`key`, as the translator made it), by what its store can measure."""
    store = registry.connector(plan.store.type)
    specs = [
        dg.AssetCheckSpec(ROWS_READ_EQUAL_WRITTEN, asset=key, blocking=True,
                          description="Rows read from the home equal the rows written to the store; checked "
                                      "before the commit, which does not happen otherwise."),
        dg.AssetCheckSpec(SCHEMA_UNCHANGED, asset=key,
                          description="The source's columns and types are those of the destination's previous "
                                      "load; otherwise the differences and what the load did about them "
                                      f"(schema_changes: {plan.schema_changes})."),
    ]
    if store.publish_step:
        specs += [
            dg.AssetCheckSpec(FILES_MATCH_ROWS, asset=key,
                              description="Every file of this load is published under its final name with the "
                                          "size it was staged with, and their rows are the rows written (and "
                                          "deleted)."),
            dg.AssetCheckSpec(SEQUENCE_WITHOUT_GAPS, asset=key,
                              description="The table's file sequence has no gap (Fabric stops at a gap)."),
        ]
    if not store.counts_table:
        return specs  # the store cannot count or query its table: the checks below measure it
    specs.insert(1, dg.AssetCheckSpec(
        DESTINATION_ROW_COUNT, asset=key,
        description="The destination's row count after the load is what the load implies: the rows written "
                    "for a full load, the previous count plus the rows written (less those replaced or "
                    "deleted) otherwise."))
    if plan.keys:
        specs.append(dg.AssetCheckSpec(KEYS_NOT_NULL_UNIQUE, asset=key, blocking=True,
                                       description=f"Key columns {', '.join(plan.keys)} are never null and "
                                                   "unique together in the destination."))
    if plan.checks.not_null:
        specs.append(dg.AssetCheckSpec(NOT_NULL, asset=key,
                                       description=f"No nulls in {', '.join(plan.checks.not_null)}."))
    if plan.checks.unique:
        specs.append(dg.AssetCheckSpec(UNIQUE, asset=key,
                                       description=f"Each of {', '.join(plan.checks.unique)} is unique."))
    if plan.checks.min_rows is not None:
        specs.append(dg.AssetCheckSpec(MIN_ROWS, asset=key,
                                       description=f"The destination holds at least {plan.checks.min_rows} rows."))
    return specs
