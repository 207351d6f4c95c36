"""Asset check results of one load, computed from its commit (the specs they answer are in defs/checks.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import dagster as dg

from ingest_assets.connectors import registry
from ingest_assets.plan.model import EntityPlan
from ingest_assets.stores.base import CommitResult, FilesPublished, WriteMode

if TYPE_CHECKING:
    from ingest_assets.stores.schema_decision import ChangeIdentity, SchemaDecision

# The check names: specs and results must use the same ones.
ROWS_READ_EQUAL_WRITTEN = "rows_read_equal_written"
DESTINATION_ROW_COUNT = "destination_row_count"
KEYS_NOT_NULL_UNIQUE = "keys_not_null_unique"
NOT_NULL = "not_null"
UNIQUE = "unique"
MIN_ROWS = "min_rows"
SCHEMA_UNCHANGED = "schema_unchanged"
FILES_MATCH_ROWS = "published_files_match_rows"
SEQUENCE_WITHOUT_GAPS = "sequence_without_gaps"


def rows_read_result(
    plan: EntityPlan, key: dg.AssetKey, rows_read: int, rows_written: int, duplicates_dropped: int = 0,
    rows_transformed: int | None = None,
) -> dg.AssetCheckResult:
    """Every row read (or, with a transform, produced by it) is written, or was an older row of a key that
    appeared again in the load."""
    loaded = rows_read if rows_transformed is None else rows_transformed
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=ROWS_READ_EQUAL_WRITTEN,
        passed=loaded == rows_written + duplicates_dropped,
        metadata={"rows_read": rows_read, "rows_written": rows_written,
                  "duplicate_key_rows_dropped": duplicates_dropped,
                  **({"rows_after_transform": rows_transformed} if rows_transformed is not None else {})},
    )


def schema_result(plan: EntityPlan, key: dg.AssetKey, decision: SchemaDecision,
                  reported: frozenset[ChangeIdentity] = frozenset()) -> dg.AssetCheckResult:
    """Passes when nothing changed since the last load; a warning for changes the load applied (once, on
    the load that met them: a column the destination keeps after the source dropped it is a change of
    every later load too), an error for refused ones."""
    new = [change for change in decision.changes if change.refused or change.identity not in reported]
    if new or not decision.changes:
        description = "; ".join(change.describe() for change in new) or "no change"
    else:
        description = "no new change; as before: " + "; ".join(change.describe() for change in decision.changes)
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=SCHEMA_UNCHANGED,
        passed=not new,
        severity=dg.AssetCheckSeverity.ERROR if decision.refused else dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={"changes": dg.MetadataValue.json([change.as_json() for change in decision.changes])},
    )


def post_commit_results(
    plan: EntityPlan, key: dg.AssetKey, write_mode: WriteMode, commit: CommitResult, rows_read: int
) -> Iterator[dg.AssetCheckResult]:
    if commit.files is not None:
        yield from _files_results(key, commit.files)
    if not registry.connector(plan.store.type).counts_table:
        return
    expected = commit.expected_rows_after
    passed = commit.rows_after == expected
    if write_mode.kind == "replace" and write_mode.window is not None:
        passed = passed and commit.window_rows == commit.rows_written
    yield dg.AssetCheckResult(
        asset_key=key,
        check_name=DESTINATION_ROW_COUNT,
        passed=passed,
        metadata={
            "rows_before": commit.rows_before,
            "rows_replaced": commit.rows_replaced,
            "rows_deleted": commit.rows_deleted,
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
        duplicate_rows = {c: commit.duplicate_counts.get((c,), 0) for c in plan.checks.unique}
        yield dg.AssetCheckResult(asset_key=key, check_name=UNIQUE, passed=not any(duplicate_rows.values()),
                                  metadata={"duplicate_rows": dg.MetadataValue.json(duplicate_rows)})
    if plan.checks.min_rows is not None:
        assert commit.rows_after is not None, "a store that counts its table counts it after the commit"
        yield dg.AssetCheckResult(asset_key=key, check_name=MIN_ROWS,
                                  passed=commit.rows_after >= plan.checks.min_rows,
                                  metadata={"rows": commit.rows_after, "min_rows": plan.checks.min_rows})


def _files_results(key: dg.AssetKey, files: FilesPublished) -> Iterator[dg.AssetCheckResult]:
    yield dg.AssetCheckResult(
        asset_key=key, check_name=FILES_MATCH_ROWS,
        passed=not files.missing and files.rows_found == files.rows_expected,
        metadata={"files": dg.MetadataValue.json(list(files.names)), "rows_expected": files.rows_expected,
                  "rows_in_published_files": files.rows_found, "rows_unchanged_not_republished": files.rows_unchanged,
                  "missing_or_wrong_size": dg.MetadataValue.json(list(files.missing))},
    )
    yield dg.AssetCheckResult(
        asset_key=key, check_name=SEQUENCE_WITHOUT_GAPS, passed=not files.sequence_gaps,
        metadata={"last_number": files.last_number, "missing_numbers": dg.MetadataValue.json(list(files.sequence_gaps))},
    )
