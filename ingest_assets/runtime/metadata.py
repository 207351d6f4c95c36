"""The metadata every materialization records."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import dagster as dg

from ingest_assets.plan.cursor import CURSOR_METADATA_KEY
from ingest_assets.plan.model import EntityPlan
from ingest_assets.runtime.decide import LoadDecision
from ingest_assets.stores.base import CommitResult

if TYPE_CHECKING:
    import pyarrow as pa

    from ingest_assets.stores.schema_decision import SchemaDecision

PUBLISHED_FILES = "ingest/published_files"  # the final names of the files a load published

# A value a materialization records: the part of what Dagster accepts as metadata that loads use.
RecordedValue: TypeAlias = dg.MetadataValue | dg.TableSchema | str | int | float


def column_schema(schema: pa.Schema, keys: tuple[str, ...], descriptions: Mapping[str, str] | None = None
                  ) -> dg.TableSchema:
    described = descriptions or {}
    return dg.TableSchema(columns=[
        dg.TableColumn(
            name=field.name,
            type=str(field.type),
            description=described.get(field.name),
            constraints=dg.TableColumnConstraints(nullable=field.name not in keys and field.nullable,
                                                  unique=keys == (field.name,)),
        )
        for field in schema
    ])


def destination_uri(location: str) -> dict[str, RecordedValue]:
    """`dagster/uri`: where a file store's table is, as a URL (Azure's `https://`, `abfss://`) or the
    `file://` URI of its local folder; a database table has none beyond its name (`dagster/table_name`)."""
    if "://" in location:
        return {"dagster/uri": location}
    path = Path(location)
    return {"dagster/uri": path.as_uri()} if path.is_absolute() and path.exists() else {}


def column_lineage(plan: EntityPlan, table: pa.Schema, source: dg.AssetKey | None) -> dict[str, RecordedValue]:
    """`dagster/column_lineage`: each column from the source's column of its name (an entity copies
    columns 1:1; audit columns come from no source column). None known through a transform."""
    if source is None or plan.transform:
        return {}
    made_here = set(plan.audit.columns)
    return {"dagster/column_lineage": dg.MetadataValue.column_lineage(dg.TableColumnLineage(deps_by_column={
        field.name: [dg.TableColumnDep(asset_key=source, column_name=field.name)]
        for field in table if field.name not in made_here}))}


def materialization_metadata(
    plan: EntityPlan,
    decision: LoadDecision,
    commit: CommitResult,
    schema: SchemaDecision,
    rows_read: int,
    duplicates_dropped: int,
    duration_seconds: float,
    rows_transformed: int | None = None,
    partition_range: str | None = None,
    source: dg.AssetKey | None = None,
) -> dict[str, RecordedValue]:
    from ingest_assets.stores import schema_changes

    table = schema.layout.table
    metadata: dict[str, RecordedValue] = {
        "dagster/column_schema": column_schema(table, plan.keys, dict(plan.column_descriptions)),
        **column_lineage(plan, table, source),
        schema_changes.SCHEMA_METADATA_KEY: dg.MetadataValue.json(schema_changes.serialize(table)),
        "ingest/rows_read": rows_read,
        **({"ingest/rows_transformed": rows_transformed} if rows_transformed is not None else {}),
        "ingest/rows_written": commit.rows_written,
        "ingest/rows_replaced": commit.rows_replaced,
        "ingest/rows_deleted": commit.rows_deleted,
        "ingest/duplicate_key_rows_dropped": duplicates_dropped,
        schema_changes.CHANGES_METADATA_KEY: dg.MetadataValue.json([change.as_json() for change in schema.changes]),
        "ingest/load": f"{decision.mode.read} read, {decision.write_mode.kind} ({decision.note})",
        "ingest/rows_filter": decision.row_filter.describe() if decision.row_filter else "all rows",
        "ingest/destination": commit.location,
        **destination_uri(commit.location),
        "ingest/duration_seconds": round(duration_seconds, 3),
    }
    if plan.transform:
        metadata["ingest/transform"] = " -> ".join(step.describe() for step in plan.transform)
    if decision.sample_rows is not None:
        metadata["ingest/sample_rows"] = decision.sample_rows  # a development sample, not the full source
    if commit.rows_after is not None:
        metadata["dagster/row_count"] = commit.rows_after
    if commit.files is not None:
        metadata[PUBLISHED_FILES] = dg.MetadataValue.json(list(commit.files.names))
        metadata["ingest/last_file_number"] = commit.files.last_number
    for key, value in commit.details.items():
        metadata[key] = dg.MetadataValue.json(value) if isinstance(value, dict) else value
    if partition_range is not None:
        # Dagster gives a run's one materialization to every partition of its range: a per-partition
        # count would be the range's on each of them, so the range's figures say what they cover.
        metadata["ingest/partition_range"] = partition_range
        if commit.window_rows is not None:
            metadata["ingest/range_row_count"] = commit.window_rows
    elif commit.window_rows is not None:
        metadata["dagster/partition_row_count"] = commit.window_rows
    if decision.cursor_after is not None:
        metadata[CURSOR_METADATA_KEY] = dg.MetadataValue.json(decision.cursor_after.to_metadata())
        metadata["ingest/watermark"] = f"{decision.cursor_after.column} = {decision.cursor_after.value}"
    return metadata
