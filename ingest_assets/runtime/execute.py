"""Run one entity: decide the load window, stream home -> store, commit, report.

The order is what makes runs safe: the upper bound of an incremental read is fixed before reading;
rows are staged, counted back from disk and compared with the rows read before anything is
committed; the cursor is only recorded in the materialization that follows a successful commit.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Optional

from pydantic import Field

import dagster as dg

from ingest_assets import registry
from ingest_assets.errors import IngestError, TerminalError, TransientError, WatermarkSettingsChanged
from ingest_assets.homes.base import KeyBucket, ReadRequest, RowFilter
from ingest_assets.plan.build import parse_duration_seconds
from ingest_assets.config.models import RunType
from ingest_assets.plan.model import EntityPlan, LoadMode
from ingest_assets.runtime import checks, reporting
from ingest_assets.stores.base import QualityRequest, WriteMode
from ingest_assets.watermarks import CURSOR_METADATA_KEY, Cursor, subtract_lookback


class RunTypeOverride(str, Enum):
    full_drop = "full_drop"
    incremental = "incremental"


class RunOverrides(dg.Config):
    """Run config of every entity asset (launchpad, or `--config-json` on the CLI)."""

    run_type: Optional[RunTypeOverride] = Field(
        default=None, description="Run this once as full_drop (a full reload) or incremental."
    )
    reset_watermark: bool = Field(
        default=False, description="Forget the committed watermark: a full reload that starts a new cursor."
    )

    @property
    def run_type_name(self) -> RunType | None:
        return None if self.run_type is None else self.run_type.value


@dataclass(frozen=True)
class LoadDecision:
    mode: LoadMode
    row_filter: RowFilter | None
    write_mode: WriteMode
    cursor_after: Cursor | None  # what to record if the commit succeeds
    note: str
    bucket: KeyBucket | None = None  # the key partition read and replaced


def committed_cursor(instance: dg.DagsterInstance, asset_key: dg.AssetKey) -> Cursor | None:
    event = instance.get_latest_materialization_event(asset_key)
    if event is None or event.asset_materialization is None:
        return None
    entry = event.asset_materialization.metadata.get(CURSOR_METADATA_KEY)
    return Cursor.from_metadata(entry.value) if entry is not None else None


def decide_load(
    plan: EntityPlan,
    overrides: RunOverrides,
    committed: Cursor | None,
    source_max: object | None,
    partition_window: tuple[object, object] | KeyBucket | None,
) -> LoadDecision:
    """Pure: the rows to read and how to write them, from the plan, the run config and the state."""
    mode = plan.mode(overrides.run_type_name)
    if isinstance(partition_window, KeyBucket):
        return LoadDecision(mode, None, WriteMode("replace_window", window=partition_window), None,
                            f"key partition {partition_window.describe()}", bucket=partition_window)
    if mode.read == "window":
        assert plan.partition is not None and partition_window is not None
        window = RowFilter(plan.partition.column, partition_window[0], True, partition_window[1], False)
        return LoadDecision(mode, window, WriteMode("replace_window", window=window), None,
                            f"partition window {window.describe()}")

    watermark = plan.watermark
    if watermark is None:
        return LoadDecision(mode, None, WriteMode(mode.write), None, mode.describe())

    if committed is not None and committed.column != watermark.column and not overrides.reset_watermark:
        raise WatermarkSettingsChanged(
            f"the watermark column changed from {committed.column!r} (cursor {committed.value}) to "
            f"{watermark.column!r} -> nothing was read; to reset deliberately, run once with run config "
            "{reset_watermark: true} (a full reload that starts a new cursor)"
        )
    # Reading only up to the maximum seen at the start leaves rows committed during the read to the
    # next run instead of losing them behind a cursor that has already moved past.
    cursor_after = Cursor(watermark.column, source_max) if source_max is not None else committed
    upper = source_max
    if mode.read == "cursor" and committed is not None and not overrides.reset_watermark:
        lower = committed.value
        note = f"rows after the committed watermark {committed.value}"
        if watermark.lookback is not None:
            lower = subtract_lookback(lower, watermark.lookback, _seconds(watermark.lookback))
            note += f", re-reading a lookback of {watermark.lookback}"
        window = RowFilter(watermark.column, lower, False, upper, True)
        if source_max is None or source_max <= committed.value:
            cursor_after = committed  # nothing new (or rows deleted at the source): never move back
        return LoadDecision(mode, window, WriteMode("append", replace_keys=plan.keys),
                            cursor_after, note)

    # A full read: first run of an incremental entity, a reset, or a full_drop run type.
    lower = watermark.start if mode.read == "cursor" else None
    # Rows without a watermark value are part of a full load (unless a `start` bounds it).
    window = RowFilter(watermark.column, lower, True, upper, True, include_nulls=lower is None) if upper is not None else None
    write = WriteMode("replace") if mode.read == "cursor" else WriteMode(mode.write)
    note = "first load of the watermark: everything up to the source's maximum" if mode.read == "cursor" else mode.describe()
    return LoadDecision(LoadMode("full", write.kind) if mode.read == "cursor" else mode, window, write, cursor_after, note)


def _seconds(lookback: str | int) -> int | None:
    return parse_duration_seconds(lookback) if isinstance(lookback, str) else None


def materialize_entity(
    context: dg.AssetExecutionContext,
    plan: EntityPlan,
    overrides: RunOverrides,
    home_resource: dg.ConfigurableResource,
    store_resource: dg.ConfigurableResource,
    retries: int,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    try:
        yield from _materialize(context, plan, overrides, home_resource, store_resource)
    except TransientError as error:
        context.log.warning(f"{plan.label}: {error}")
        raise dg.RetryRequested(max_retries=retries, seconds_to_wait=10) from error
    except IngestError as error:
        raise dg.Failure(
            description=f"{plan.label} (declared at {plan.declared_at}): {error}",
            metadata={"entity": plan.label, "declared_at": str(plan.declared_at)},
            allow_retries=False,
        ) from error


def _materialize(context, plan: EntityPlan, overrides, home_resource, store_resource):
    started = time.monotonic()
    asset_key = dg.AssetKey(list(plan.key_path))
    home = registry.open_home(plan.home.type, home_resource)
    store = registry.open_store(plan.store.type, store_resource)

    committed = committed_cursor(context.instance, asset_key) if plan.watermark else None
    source_max = home.max_value(plan.read, plan.watermark.column) if plan.watermark else None
    window: tuple[object, object] | KeyBucket | None = None
    if plan.key_partitions is not None:
        window = KeyBucket(plan.key_partitions.column, plan.key_partitions.partitions, int(context.partition_key))
    elif plan.partition is not None and plan.mode(overrides.run_type_name).read == "window":
        time_window = context.partition_time_window
        # Naive wall-clock bounds in the partition's time zone, comparable with naive columns.
        window = (time_window.start.replace(tzinfo=None), time_window.end.replace(tzinfo=None))
    decision = decide_load(plan, overrides, committed, source_max, window)
    if decision.write_mode.kind == "append" and committed is not None and not store.exists(plan.write):
        # Appending only the rows past the cursor to a missing table would silently lose the rest.
        raise TerminalError(
            f"the destination {store.describe(plan.write)} does not exist, but the committed watermark says "
            f"rows up to {committed.value} were loaded -> run once with run config {{reset_watermark: true}} "
            "to reload everything"
        )
    context.log.info(f"{plan.label}: {decision.note}; writing to {store.describe(plan.write)} ({decision.write_mode.kind})")

    quality = QualityRequest(
        not_null=tuple(dict.fromkeys([*plan.keys, *plan.checks.not_null])),
        unique_sets=tuple([plan.keys] if plan.keys else []) + tuple((c,) for c in plan.checks.unique),
    )
    rows_read = 0
    with home.read(ReadRequest(plan.read, decision.row_filter, decision.bucket)) as reader:
        _require_columns(plan, reader.schema)
        token = f"{context.run.run_id[:8]}-{uuid.uuid4().hex[:12]}"
        with store.writer(plan.write, decision.write_mode, reader.schema, token, quality) as writer:
            for batch in reader:
                writer.write(batch)
                rows_read += batch.num_rows
            rows_staged = writer.finish_staging()
            if rows_staged != rows_read:
                yield checks.rows_read_result(plan, rows_read, rows_staged)
                raise TerminalError(
                    f"{rows_read} rows were read but {rows_staged} were staged -> nothing was committed; "
                    "run again, and report this if it repeats"
                )
            commit = writer.commit()

    yield checks.rows_read_result(plan, rows_read, commit.rows_written)
    yield from checks.post_commit_results(plan, decision.write_mode, commit, rows_read)
    yield dg.MaterializeResult(
        asset_key=asset_key,
        metadata=reporting.materialization_metadata(
            plan, decision, commit, reader.schema, rows_read, time.monotonic() - started
        ),
    )


def _require_columns(plan: EntityPlan, schema) -> None:
    needed = {*plan.keys, *plan.checks.not_null, *plan.checks.unique}
    if plan.watermark:
        needed.add(plan.watermark.column)
    if plan.partition:
        needed.add(plan.partition.column)
    if plan.key_partitions:
        needed.add(plan.key_partitions.column)
    missing = sorted(needed - set(schema.names))
    if missing:
        raise TerminalError(
            f"columns {missing} named in the entity's settings are not in the source -> source columns: "
            f"{', '.join(schema.names)}"
        )
