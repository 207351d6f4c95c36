"""Asset check specs for every entity, and their results computed from one load's commit."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg

from ingest_assets.plan.model import EntityPlan
from ingest_assets.stores.base import CommitResult, WriteMode

ROWS_READ_EQUAL_WRITTEN = "rows_read_equal_written"
DESTINATION_ROW_COUNT = "destination_row_count"
KEYS_NOT_NULL_UNIQUE = "keys_not_null_unique"
NOT_NULL = "not_null"
UNIQUE = "unique"
MIN_ROWS = "min_rows"


def check_specs(plan: EntityPlan) -> list[dg.AssetCheckSpec]:
    key = dg.AssetKey(list(plan.key_path))
    specs = [
        dg.AssetCheckSpec(ROWS_READ_EQUAL_WRITTEN, asset=key, blocking=True,
                          description="Rows read from the home equal the rows written to the store; checked "
                                      "before the commit, which does not happen otherwise."),
        dg.AssetCheckSpec(DESTINATION_ROW_COUNT, asset=key,
                          description="The destination's row count after the load is what the load implies: "
                                      "the rows written for a full load, the previous count plus the rows "
                                      "written (less those replaced) for appends and windows."),
    ]
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


def rows_read_result(plan: EntityPlan, rows_read: int, rows_written: int) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=dg.AssetKey(list(plan.key_path)),
        check_name=ROWS_READ_EQUAL_WRITTEN,
        passed=rows_read == rows_written,
        metadata={"rows_read": rows_read, "rows_written": rows_written},
    )


def expected_rows_after(write_mode: WriteMode, commit: CommitResult) -> int:
    if write_mode.kind == "replace":
        return commit.rows_written
    return commit.rows_before - commit.rows_removed + commit.rows_written


def post_commit_results(
    plan: EntityPlan, write_mode: WriteMode, commit: CommitResult, rows_read: int
) -> Iterator[dg.AssetCheckResult]:
    key = dg.AssetKey(list(plan.key_path))
    expected = expected_rows_after(write_mode, commit)
    passed = commit.rows_after == expected
    if write_mode.kind == "replace_window":
        passed = passed and commit.window_rows == commit.rows_written
    yield dg.AssetCheckResult(
        asset_key=key,
        check_name=DESTINATION_ROW_COUNT,
        passed=passed,
        metadata={
            "rows_before": commit.rows_before,
            "rows_replaced": commit.rows_removed,
            "rows_written": commit.rows_written,
            "rows_after": commit.rows_after,
            "expected_rows_after": expected,
            **({"window_rows": commit.window_rows} if commit.window_rows is not None else {}),
        },
    )
    if plan.keys:
        nulls = {c: commit.null_counts.get(c, 0) for c in plan.keys}
        duplicates = commit.duplicate_counts.get(plan.keys, 0)
        yield dg.AssetCheckResult(
            asset_key=key, check_name=KEYS_NOT_NULL_UNIQUE,
            passed=not any(nulls.values()) and duplicates == 0,
            metadata={"null_keys": dg.MetadataValue.json(nulls), "duplicate_key_rows": duplicates},
        )
    if plan.checks.not_null:
        nulls = {c: commit.null_counts.get(c, 0) for c in plan.checks.not_null}
        yield dg.AssetCheckResult(asset_key=key, check_name=NOT_NULL, passed=not any(nulls.values()),
                                  metadata={"null_counts": dg.MetadataValue.json(nulls)})
    if plan.checks.unique:
        duplicates = {c: commit.duplicate_counts.get((c,), 0) for c in plan.checks.unique}
        yield dg.AssetCheckResult(asset_key=key, check_name=UNIQUE, passed=not any(duplicates.values()),
                                  metadata={"duplicate_rows": dg.MetadataValue.json(duplicates)})
    if plan.checks.min_rows is not None:
        yield dg.AssetCheckResult(asset_key=key, check_name=MIN_ROWS,
                                  passed=commit.rows_after >= plan.checks.min_rows,
                                  metadata={"rows": commit.rows_after, "min_rows": plan.checks.min_rows})
