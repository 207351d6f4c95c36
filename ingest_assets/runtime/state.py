"""What an entity's latest materialization recorded: its committed cursor and the destination's columns.

The Dagster instance is the only state: nothing is kept in side files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dagster as dg

from ingest_assets.plan.cursor import Cursor
from ingest_assets.stores.schema_decision import ChangeIdentity, ColumnChange

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class PreviousLoad:
    """What the asset's latest materialization recorded: the cursor and the destination's columns."""

    cursor: Cursor | None = None
    schema: pa.Schema | None = None
    changes: frozenset[ChangeIdentity] = frozenset()  # the schema changes it found (and so reported)
    run_id: str | None = None  # the run that recorded it (None: never materialized)


def _metadata(event: dg.EventLogEntry | None) -> dict[str, dg.MetadataValue]:
    if event is None or event.asset_materialization is None:
        return {}
    return dict(event.asset_materialization.metadata)


def _latest_metadata(instance: dg.DagsterInstance, asset_key: dg.AssetKey) -> dict[str, dg.MetadataValue]:
    return _metadata(instance.get_latest_materialization_event(asset_key))


def _previous_load(event: dg.EventLogEntry | None) -> PreviousLoad:
    # pyarrow (behind the schema's serialization) is imported when a run starts, never at definitions load.
    from ingest_assets.stores import schema_changes

    metadata = _metadata(event)

    recorded = metadata.get(schema_changes.SCHEMA_METADATA_KEY)
    schema = None if recorded is None else schema_changes.deserialize(recorded.value)
    found = metadata.get(schema_changes.CHANGES_METADATA_KEY)
    changes = found.value if found is not None else []
    assert isinstance(changes, list), "materializations record the schema changes as a JSON list"
    return PreviousLoad(cursor=Cursor.in_materialization(metadata), schema=schema,
                        changes=frozenset(ColumnChange.identity_in(change) for change in changes),
                        run_id=event.run_id if event is not None and event.asset_materialization is not None else None)


def previous_load(instance: dg.DagsterInstance, asset_key: dg.AssetKey) -> PreviousLoad:
    return _previous_load(instance.get_latest_materialization_event(asset_key))


def previous_loads(instance: dg.DagsterInstance, asset_keys: Sequence[dg.AssetKey]) -> dict[dg.AssetKey, PreviousLoad]:
    """`previous_load` of many assets in one query of the event log (a step of many entities)."""
    events = instance.get_latest_materialization_events(asset_keys)
    return {key: _previous_load(events.get(key)) for key in asset_keys}


def committed_cursor(instance: dg.DagsterInstance, asset_key: dg.AssetKey) -> Cursor | None:
    """The cursor alone (for the sensor's ticks and the dry run, which need no schema)."""
    return Cursor.in_materialization(_latest_metadata(instance, asset_key))
