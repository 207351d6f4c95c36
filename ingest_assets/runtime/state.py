"""What an entity's latest materialization recorded: its committed cursor and the destination's columns.

The Dagster instance is the only state: nothing is kept in side files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import dagster as dg

from ingest_assets.plan.cursor import Cursor

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class PreviousLoad:
    """What the asset's latest materialization recorded: the cursor and the destination's columns."""

    cursor: Cursor | None = None
    schema: pa.Schema | None = None


def _latest_metadata(instance: dg.DagsterInstance, asset_key: dg.AssetKey) -> dict[str, dg.MetadataValue]:
    event = instance.get_latest_materialization_event(asset_key)
    if event is None or event.asset_materialization is None:
        return {}
    return dict(event.asset_materialization.metadata)


def previous_load(instance: dg.DagsterInstance, asset_key: dg.AssetKey) -> PreviousLoad:
    # pyarrow (behind the schema's serialization) is imported when a run starts, never at definitions load.
    from ingest_assets.stores import schema_changes

    metadata = _latest_metadata(instance, asset_key)
    recorded = metadata.get(schema_changes.SCHEMA_METADATA_KEY)
    cursor = Cursor.in_materialization(metadata)
    schema = None
    if recorded is not None:
        text = recorded.value
        assert isinstance(text, str), "materializations record the schema as text"
        schema = schema_changes.deserialize(text)
    return PreviousLoad(cursor=cursor, schema=schema)


def committed_cursor(instance: dg.DagsterInstance, asset_key: dg.AssetKey) -> Cursor | None:
    """The cursor alone (for the sensor's ticks and the dry run, which need no schema)."""
    return Cursor.in_materialization(_latest_metadata(instance, asset_key))
