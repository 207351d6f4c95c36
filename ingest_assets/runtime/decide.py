"""The load decision, pure: which rows a run reads and how it writes them.

From the plan, the run config and the state (the committed cursor, the source's maximum, the
partition) alone: no I/O, so every rule here is tested without a database.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest_assets.connectors import registry
from ingest_assets.errors import (
    IncrementalNeedsEveryRow,
    RebuildOfPartition,
    SampleOfMirroredTable,
    SampleWithIncremental,
    SampleWithRebuild,
    WatermarkSettingsChanged,
)
from ingest_assets.plan.cursor import Cursor
from ingest_assets.plan.model import EntityPlan, LoadMode, WriteKind
from ingest_assets.plan.window import KeyBucket, RowFilter, TimeWindow
from ingest_assets.runtime.overrides import RunOverrides, RunTypeOverride
from ingest_assets.stores.base import WriteMode

# The partition a run loads: a time window, or a key bucket (None: the entity is not partitioned).
PartitionWindow = TimeWindow | KeyBucket | None


@dataclass(frozen=True)
class LoadDecision:
    mode: LoadMode
    row_filter: RowFilter | None
    write_mode: WriteMode
    cursor_after: Cursor | None  # what to record if the commit succeeds
    note: str
    bucket: KeyBucket | None = None  # the key partition read and replaced
    sample_rows: int | None = None  # sample mode: the most rows read (and no cursor recorded)


def _write_mode(plan: EntityPlan, mode: LoadMode, kind: WriteKind, window: RowFilter | KeyBucket | None = None
                ) -> WriteMode:
    if mode.read == "cursor" and (kind == "replace" or plan.delete_missing):
        raise IncrementalNeedsEveryRow(write=kind, delete_missing=plan.delete_missing)
    # The write key travels with every write of an upsert/merge entity, also its replacing first
    # load, so a SQL store creates the key its later upserts rely on.
    by_key = plan.mode().write in ("upsert", "merge")
    return WriteMode(
        kind,
        window=window,
        keys=plan.write_key if by_key else (),
        delete_missing=plan.delete_missing and kind == "merge",
        latest_by=plan.watermark.column if plan.watermark else None,
    )


def sample_rows(plan: EntityPlan, overrides: RunOverrides) -> int | None:
    """The run's sample size: the run config's, else the environment's (0 in the run config: none)."""
    rows = overrides.sample_rows if overrides.sample_rows is not None else plan.sample_rows
    return rows or None


def decide_load(
    plan: EntityPlan,
    overrides: RunOverrides,
    committed: Cursor | None,
    source_max: object | None,
    partition_window: PartitionWindow,
) -> LoadDecision:
    """Pure: the rows to read and how to write them, from the plan, the run config and the state."""
    sample = sample_rows(plan, overrides)
    if sample is not None:
        return _sample(plan, overrides, sample, partition_window)
    if overrides.rebuild:
        return _rebuild(plan, source_max, partition_window)
    mode = plan.mode(overrides.run_type_name)
    if overrides.run_type == RunTypeOverride.full_drop and not plan.partitioned:
        # "Reload one table completely, once": an upsert or merge strategy would keep the rows the
        # source deleted, so the reload replaces whatever the entity's strategy is.
        mode = LoadMode("full", "replace")
    if isinstance(partition_window, KeyBucket):
        return LoadDecision(mode, None, _write_mode(plan, mode, mode.write, partition_window), None,
                            f"key partition {partition_window.describe()}", bucket=partition_window)
    if mode.read == "window":
        assert plan.partition is not None and partition_window is not None
        window = partition_window.rows_of(plan.partition.column)
        return LoadDecision(mode, window, _write_mode(plan, mode, mode.write, window), None,
                            f"partition window {window.describe()}")

    watermark = plan.watermark
    if watermark is None:
        return LoadDecision(mode, None, _write_mode(plan, mode, mode.write), None, mode.describe())

    if committed is not None and committed.column != watermark.column and not overrides.reset_watermark:
        raise WatermarkSettingsChanged(committed_column=committed.column, cursor_value=committed.value,
                                       column=watermark.column)
    # Reading only up to the maximum seen at the start leaves rows committed during the read to the
    # next run instead of losing them behind a cursor that has already moved past.
    cursor_after = Cursor(watermark.column, source_max) if source_max is not None else committed
    if mode.read == "cursor" and committed is not None and not overrides.reset_watermark:
        note = f"rows after the committed watermark {committed.value}"
        lower = committed.lower_bound(watermark.lookback)  # also refuses a lookback that does not fit
        if not committed.is_passed_by(source_max):
            # Nothing newer (or rows deleted at the source): the cursor never moves back, and the
            # lookback is not re-read. It would re-merge rows already loaded (all of them, when a bulk
            # load gave them one value); a late row waits for the next run that finds newer rows,
            # whose lookback reaches back behind this same cursor.
            cursor_after, lower = committed, committed.value
            if watermark.lookback is not None:
                note += ", nothing newer: the lookback is not re-read"
        elif watermark.lookback is not None:
            note += f", re-reading a lookback of {watermark.lookback}"
        window = RowFilter.past(watermark.column, lower, source_max)
        return LoadDecision(mode, window, _write_mode(plan, mode, mode.write), cursor_after, note)

    # A full read: first run of an incremental entity, a reset, or a full run type.
    lower = watermark.start if mode.read == "cursor" else None
    # Rows without a watermark value are part of a full load (unless a `start` bounds it).
    full_window = (RowFilter.closed(watermark.column, lower, source_max, include_nulls=lower is None)
                   if source_max is not None else None)
    if mode.read == "cursor":
        # The first load of a cursor (or a reset) replaces whatever the destination held.
        full = LoadMode("full", "replace")
        return LoadDecision(full, full_window, _write_mode(plan, full, "replace"), cursor_after,
                            "first load of the watermark: everything up to the source's maximum")
    return LoadDecision(mode, full_window, _write_mode(plan, mode, mode.write), cursor_after, mode.describe())


def _rebuild(plan: EntityPlan, source_max: object | None, partition_window: PartitionWindow) -> LoadDecision:
    if partition_window is not None:
        raise RebuildOfPartition()
    full = LoadMode("full", "replace")
    watermark = plan.watermark
    window, cursor_after = None, None
    if watermark is not None and source_max is not None:
        lower = watermark.start if plan.uses_cursor else None
        window = RowFilter.closed(watermark.column, lower, source_max, include_nulls=lower is None)
        cursor_after = Cursor(watermark.column, source_max)
    return LoadDecision(full, window, _write_mode(plan, full, "replace"), cursor_after,
                        "rebuild: drop the table and load everything up to the source's maximum")


def _sample(plan: EntityPlan, overrides: RunOverrides, rows: int, partition_window: PartitionWindow) -> LoadDecision:
    """Sample mode: whichever `rows` rows the source returns first replace the destination (or the
    partition's rows), and no cursor is recorded, so the next normal run is a first load again."""
    if registry.connector(plan.store.type).publish_step:
        raise SampleOfMirroredTable(rows=rows, table=plan.write.describe())
    if overrides.rebuild:
        raise SampleWithRebuild(rows=rows)
    if overrides.run_type is RunTypeOverride.incremental:
        raise SampleWithIncremental(rows=rows)
    full = LoadMode("full", "replace")
    if isinstance(partition_window, KeyBucket):
        return LoadDecision(full, None, _write_mode(plan, full, "replace", partition_window), None,
                            f"sample of at most {rows} rows of key partition {partition_window.describe()}",
                            bucket=partition_window, sample_rows=rows)
    if partition_window is not None:
        assert plan.partition is not None
        window = partition_window.rows_of(plan.partition.column)
        return LoadDecision(full, window, _write_mode(plan, full, "replace", window), None,
                            f"sample of at most {rows} rows of partition window {window.describe()}",
                            sample_rows=rows)
    return LoadDecision(full, None, _write_mode(plan, full, "replace"), None,
                        f"sample of at most {rows} rows, replacing the destination; no watermark recorded",
                        sample_rows=rows)
