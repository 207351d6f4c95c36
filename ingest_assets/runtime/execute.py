"""Run one entity: decide the load window, stream home -> store, commit, report.

The order is what makes runs safe: the upper bound of an incremental read is fixed before reading;
rows are staged, counted back from disk and compared with the rows read before anything is
committed; the cursor is only recorded in the materialization that follows a successful commit.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Generator, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import TYPE_CHECKING, Optional, TypeVar

from pydantic import Field

import dagster as dg

from ingest_assets.connectors import registry
from ingest_assets.errors import IngestError, TerminalError, TransientError, WatermarkSettingsChanged
from ingest_assets.homes.base import ReadRequest
from ingest_assets.plan.window import KeyBucket, RowFilter
from ingest_assets.plan.build import parse_duration_seconds
from ingest_assets.config.models import RunType
from ingest_assets.plan.model import EntityPlan, LoadMode, WriteKind
from ingest_assets.runtime import metadata as reporting
from ingest_assets.runtime import access_plan, checks
from ingest_assets.stores.base import CommitResult, QualityRequest, WriteMode
from ingest_assets.plan.cursor import CURSOR_METADATA_KEY, Cursor, subtract_lookback

if TYPE_CHECKING:
    import pyarrow as pa

    from ingest_assets.homes.base import Home
    from ingest_assets.stores.schema_changes import SchemaDecision
    from ingest_assets.stores.base import Store, StoreWriter

T = TypeVar("T")


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
    rebuild: bool = Field(
        default=False,
        description="Drop the destination table and load everything again (a full reload that starts a new "
                    "cursor): for changes a store cannot follow, such as a new key or a type change in an Open "
                    "Mirroring table.",
    )
    sample_rows: Optional[int] = Field(
        default=None, ge=0,
        description="Sample mode: read at most this many rows, replace the destination with them and record no "
                    "watermark (the next normal run reloads everything). 0 turns off the environment's "
                    "options.sample_rows for this run.",
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
    sample_rows: int | None = None  # sample mode: the most rows read (and no cursor recorded)


@dataclass(frozen=True)
class PreviousLoad:
    """What the asset's latest materialization recorded: the cursor and the destination's columns."""

    cursor: Cursor | None = None
    schema: "pa.Schema | None" = None


def _latest_metadata(instance: dg.DagsterInstance, asset_key: dg.AssetKey) -> dict[str, dg.MetadataValue]:
    event = instance.get_latest_materialization_event(asset_key)
    if event is None or event.asset_materialization is None:
        return {}
    return dict(event.asset_materialization.metadata)


def previous_load(instance: dg.DagsterInstance, asset_key: dg.AssetKey) -> PreviousLoad:
    from ingest_assets.stores import schema_changes

    metadata = _latest_metadata(instance, asset_key)
    schema = metadata.get(schema_changes.SCHEMA_METADATA_KEY)
    return PreviousLoad(
        cursor=_cursor(metadata),
        schema=schema_changes.deserialize(schema.value) if schema is not None else None,
    )


def committed_cursor(instance: dg.DagsterInstance, asset_key: dg.AssetKey) -> Cursor | None:
    """The cursor alone (for the sensor's ticks, which need no schema)."""
    return _cursor(_latest_metadata(instance, asset_key))


def _cursor(metadata: dict[str, dg.MetadataValue]) -> Cursor | None:
    entry = metadata.get(CURSOR_METADATA_KEY)
    return Cursor.from_metadata(entry.value) if entry is not None else None


def _write_mode(plan: EntityPlan, mode: LoadMode, kind: WriteKind, window: RowFilter | KeyBucket | None = None
                ) -> WriteMode:
    if mode.read == "cursor" and (kind == "replace" or plan.delete_missing):
        raise TerminalError(
            f"this run reads only the rows past the watermark, but {kind}"
            f"{' with delete_missing' if plan.delete_missing else ''} needs every row -> run without "
            "run config {run_type: incremental}"
        )
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
    partition_window: tuple[object, object] | KeyBucket | None,
) -> LoadDecision:
    """Pure: the rows to read and how to write them, from the plan, the run config and the state."""
    sample = sample_rows(plan, overrides)
    if sample is not None:
        return _sample(plan, overrides, sample, partition_window)
    if overrides.rebuild:
        return _rebuild(plan, source_max, partition_window)
    mode = plan.mode(overrides.run_type_name)
    if isinstance(partition_window, KeyBucket):
        return LoadDecision(mode, None, _write_mode(plan, mode, mode.write, partition_window), None,
                            f"key partition {partition_window.describe()}", bucket=partition_window)
    if mode.read == "window":
        assert plan.partition is not None and partition_window is not None
        window = RowFilter.half_open(plan.partition.column, partition_window[0], partition_window[1])
        return LoadDecision(mode, window, _write_mode(plan, mode, mode.write, window), None,
                            f"partition window {window.describe()}")

    watermark = plan.watermark
    if watermark is None:
        return LoadDecision(mode, None, _write_mode(plan, mode, mode.write), None, mode.describe())

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
        window = RowFilter.past(watermark.column, lower, upper)
        if source_max is None or source_max <= committed.value:
            cursor_after = committed  # nothing new (or rows deleted at the source): never move back
        return LoadDecision(mode, window, _write_mode(plan, mode, mode.write), cursor_after, note)

    # A full read: first run of an incremental entity, a reset, or a full run type.
    lower = watermark.start if mode.read == "cursor" else None
    # Rows without a watermark value are part of a full load (unless a `start` bounds it).
    window = RowFilter.closed(watermark.column, lower, upper, include_nulls=lower is None) if upper is not None else None
    if mode.read == "cursor":
        # The first load of a cursor (or a reset) replaces whatever the destination held.
        full = LoadMode("full", "replace")
        return LoadDecision(full, window, _write_mode(plan, full, "replace"), cursor_after,
                            "first load of the watermark: everything up to the source's maximum")
    return LoadDecision(mode, window, _write_mode(plan, mode, mode.write), cursor_after, mode.describe())


def _rebuild(plan: EntityPlan, source_max: object | None, partition_window) -> LoadDecision:
    if partition_window is not None:
        raise TerminalError("rebuild replaces the whole table, and this run loads one partition -> rebuild "
                            "runs without a partition; run the entity's partitions afterwards")
    full = LoadMode("full", "replace")
    watermark = plan.watermark
    window, cursor_after = None, None
    if watermark is not None and source_max is not None:
        lower = watermark.start if plan.uses_cursor else None
        window = RowFilter.closed(watermark.column, lower, source_max, include_nulls=lower is None)
        cursor_after = Cursor(watermark.column, source_max)
    return LoadDecision(full, window, _write_mode(plan, full, "replace"), cursor_after,
                        "rebuild: drop the table and load everything up to the source's maximum")


def _sample(plan: EntityPlan, overrides: RunOverrides, rows: int,
            partition_window: tuple[object, object] | KeyBucket | None) -> LoadDecision:
    """Sample mode: whichever `rows` rows the source returns first replace the destination (or the
    partition's rows), and no cursor is recorded, so the next normal run is a first load again."""
    if registry.connector(plan.store.type).publish_step:
        raise TerminalError(
            f"sample_rows: {rows} would replace the mirrored table {plan.write.describe()} with a sample, which "
            f"Fabric replicates (dropping the table first) -> sample into a development store, or run with run "
            "config {sample_rows: 0}"
        )
    if overrides.rebuild:
        raise TerminalError(f"run config sets both rebuild (load everything) and sample_rows: {rows} -> keep one")
    if overrides.run_type is RunTypeOverride.incremental:
        raise TerminalError(
            f"run config sets both run_type: incremental (rows past the watermark) and sample_rows: {rows} (a "
            "sample that replaces the destination and records no watermark) -> keep one"
        )
    full = LoadMode("full", "replace")
    if isinstance(partition_window, KeyBucket):
        return LoadDecision(full, None, _write_mode(plan, full, "replace", partition_window), None,
                            f"sample of at most {rows} rows of key partition {partition_window.describe()}",
                            bucket=partition_window, sample_rows=rows)
    if partition_window is not None:
        assert plan.partition is not None
        window = RowFilter.half_open(plan.partition.column, partition_window[0], partition_window[1])
        return LoadDecision(full, window, _write_mode(plan, full, "replace", window), None,
                            f"sample of at most {rows} rows of partition window {window.describe()}",
                            sample_rows=rows)
    return LoadDecision(full, None, _write_mode(plan, full, "replace"), None,
                        f"sample of at most {rows} rows, replacing the destination; no watermark recorded",
                        sample_rows=rows)


def _seconds(lookback: str | int) -> int | None:
    return parse_duration_seconds(lookback) if isinstance(lookback, str) else None


@dataclass(frozen=True)
class StagedLoad:
    """A load read and staged (and committed, or prepared for a publish step): what its report needs."""

    decision: LoadDecision
    schema: "SchemaDecision"
    rows_read: int
    duplicates_dropped: int
    started_at: float  # time.time(): the report may come from another process
    rows_transformed: int | None = None  # the rows the entity's transform produced (None: no transform)


@dataclass(frozen=True)
class PendingPublish:
    """What an extract step hands its publish step: the staged load and the store's prepared commit."""

    staged: StagedLoad
    prepared: object


def materialize_entity(
    context: dg.AssetExecutionContext,
    plan: EntityPlan,
    overrides: RunOverrides,
    home_resource: dg.ConfigurableResource,
    store_resource: dg.ConfigurableResource,
    retries: int,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Read, stage, commit and report in one step."""
    yield from materialize_from_home(context, plan, overrides,
                                     lambda: registry.open_home(plan.home.type, home_resource), store_resource, retries)


def materialize_from_home(
    context: dg.AssetExecutionContext,
    plan: EntityPlan,
    overrides: RunOverrides,
    open_home: Callable[[], "Home"],
    store_resource: dg.ConfigurableResource,
    retries: int,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """`materialize_entity` for any home (a derived asset's query is one)."""
    with _ingest_errors(context, plan, retries):
        store = registry.open_store(plan.store.type, store_resource)
        staged, commit = yield from _stage(context, plan, overrides, open_home(), store, lambda w: w.commit())
        for event in _report(plan, staged, commit):
            yield (dg.MaterializeResult(asset_key=dg.AssetKey(list(plan.key_path)), metadata=event)
                   if isinstance(event, dict) else event)


def extract_for_publish(
    context: dg.OpExecutionContext,
    plan: EntityPlan,
    overrides: RunOverrides,
    home_resource: dg.ConfigurableResource,
    store_resource: dg.ConfigurableResource,
    retries: int,
) -> PendingPublish:
    """The first of two steps: read, stage and prepare the publish (the store's commit point)."""
    with _ingest_errors(context, plan, retries):
        store = registry.open_store(plan.store.type, store_resource)
        home = registry.open_home(plan.home.type, home_resource)
        stage = _stage(context, plan, overrides, home, store, lambda w: w.prepare())
        # Check results of a failed load cannot be reported from this step; the failure says the same.
        while True:
            try:
                next(stage)
            except StopIteration as done:
                staged, prepared = done.value
                return PendingPublish(staged, prepared)


def publish_prepared(
    context: dg.OpExecutionContext,
    plan: EntityPlan,
    pending: PendingPublish,
    store_resource: dg.ConfigurableResource,
    retries: int,
    output_name: str,
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """The second step: publish (waiting, if the store must, without holding an extraction slot), report."""
    with _ingest_errors(context, plan, retries):
        store = registry.open_store(plan.store.type, store_resource)
        context.log.info(f"{plan.label}: publishing to {store.describe(plan.write)}")
        commit = store.complete(pending.prepared)
        for event in _report(plan, pending.staged, commit):
            yield dg.Output(None, output_name=output_name, metadata=event) if isinstance(event, dict) else event


@contextmanager
def _ingest_errors(context, plan: EntityPlan, retries: int) -> Iterator[None]:
    """Transient errors retry the step (Dagster's RetryRequested); the others fail it with the entity named."""
    try:
        yield
    except TransientError as error:
        context.log.warning(f"{plan.label}: {error}")
        raise dg.RetryRequested(max_retries=retries, seconds_to_wait=10) from error
    except IngestError as error:
        raise dg.Failure(
            description=f"{plan.label} (declared at {plan.declared_at}): {error}",
            metadata={"entity": plan.label, "declared_at": str(plan.declared_at)},
            allow_retries=False,
        ) from error


def _stage(context, plan: EntityPlan, overrides, home: "Home", store: "Store",
           finish: Callable[["StoreWriter"], T]) -> Generator[dg.AssetCheckResult, None, tuple[StagedLoad, T]]:
    """Decide the load, read and stage it, and `finish` the writer (commit or prepare)."""
    # pyarrow is imported when a run starts, never when definitions load.
    from ingest_assets.stores import schema_changes
    from ingest_assets.runtime.audit import AuditColumns
    from ingest_assets.transforms.stream import transformed

    started_at = time.time()
    asset_key = dg.AssetKey(list(plan.key_path))

    previous = previous_load(context.instance, asset_key)
    committed = previous.cursor if plan.watermark else None
    # A sample records no cursor, so it needs no upper bound (and skips the max() query).
    needs_max = plan.watermark is not None and sample_rows(plan, overrides) is None
    source_max = home.max_value(plan.read, plan.watermark.column) if needs_max else None
    window: tuple[object, object] | KeyBucket | None = None
    if plan.key_partitions is not None:
        window = KeyBucket(plan.key_partitions.column, plan.key_partitions.partitions, int(context.partition_key))
    elif plan.partition is not None and plan.mode(overrides.run_type_name).read == "window":
        time_window = context.partition_time_window
        # Naive wall-clock bounds in the partition's time zone, comparable with naive columns.
        window = (time_window.start.replace(tzinfo=None), time_window.end.replace(tzinfo=None))
    decision = decide_load(plan, overrides, committed, source_max, window)
    write_mode = decision.write_mode
    if write_mode.kind in ("append", "upsert", "merge") and committed is not None and not store.exists(plan.write):
        # Writing only the rows past the cursor to a missing table would silently lose the rest.
        raise TerminalError(
            f"the destination {store.describe(plan.write)} does not exist, but the committed watermark says "
            f"rows up to {committed.value} were loaded -> run once with run config {{reset_watermark: true}} "
            "to reload everything"
        )
    request = ReadRequest(plan.read, decision.row_filter, decision.bucket, decision.sample_rows)
    context.log.info(access_plan.render_text(access_plan.explain(
        plan, decision, home, request, store.describe(plan.write), committed, source_max)))

    quality = QualityRequest(
        not_null=tuple(dict.fromkeys([*plan.keys, *plan.checks.not_null])),
        unique_sets=tuple([plan.keys] if plan.keys else []) + tuple((c,) for c in plan.checks.unique),
    )
    audit = AuditColumns(plan.audit, context.run.run_id, datetime.fromtimestamp(started_at, timezone.utc))
    with home.read(request) as source, closing(audit), \
            transformed(plan.transform, source, plan.read.batch_size) as reader:
        _require_columns(plan, source.schema, reader.schema)
        source_schema = audit.schema(reader.schema)
        # A rebuild starts the table over: the destination's old columns are no reference for it.
        reference = None if overrides.rebuild else (
            previous.schema if previous.schema is not None else store.current_schema(plan.write))
        schema = schema_changes.decide(reference, source_schema, plan.schema_changes,
                                       replaces_table=write_mode.kind == "replace" and write_mode.window is None,
                                       keys=write_mode.keys)
        if schema.refused:
            yield checks.schema_result(plan, schema)
            raise TerminalError(
                "the source's columns changed in a way schema_changes: "
                f"{plan.schema_changes} does not allow -> nothing was written; "
                + "; ".join(change.describe() for change in schema.refused)
            )
        unsupported = store.unsupported_changes(plan.write, write_mode, schema)
        if unsupported:
            raise TerminalError(
                f"{store.describe(plan.write)} cannot follow this load: {'; '.join(unsupported)}. The table must be "
                "rebuilt -> nothing was written; run once with run config {rebuild: true} to drop it and load "
                "everything again"
            )
        token = f"{context.run.run_id[:8]}-{uuid.uuid4().hex[:12]}"
        with store.writer(plan.write, write_mode, schema.layout, token, quality) as writer:
            for batch in reader:
                writer.write(schema_changes.conform(audit.apply(batch), schema.layout.staged))
            rows_read, rows_out = reader.rows_read, reader.rows_out
            rows_transformed = rows_out if plan.transform else None
            rows_staged = writer.finish_staging()
            if rows_staged != rows_out:
                yield checks.rows_read_result(plan, rows_read, rows_staged, rows_transformed=rows_transformed)
                raise TerminalError(
                    f"{rows_out} rows were {'transformed' if plan.transform else 'read'} but {rows_staged} were "
                    "staged -> nothing was committed; run again, and report this if it repeats"
                )
            duplicates_dropped = writer.resolve_duplicate_keys()
            result = finish(writer)
    return StagedLoad(decision, schema, rows_read, duplicates_dropped, started_at, rows_transformed), result


def _report(plan: EntityPlan, staged: StagedLoad, commit: CommitResult
            ) -> Iterator[dg.AssetCheckResult | dict[str, object]]:
    """The check results of a committed load, then its materialization metadata (a dict)."""
    write_mode = staged.decision.write_mode
    yield checks.rows_read_result(plan, staged.rows_read, commit.rows_written, staged.duplicates_dropped,
                                  staged.rows_transformed)
    yield checks.schema_result(plan, staged.schema)
    yield from checks.post_commit_results(plan, write_mode, commit, staged.rows_read)
    yield reporting.materialization_metadata(
        plan, staged.decision, commit, staged.schema, staged.rows_read, staged.duplicates_dropped,
        time.time() - staged.started_at, staged.rows_transformed,
    )


def _require_columns(plan: EntityPlan, source, output) -> None:
    # The home selects rows by these on the source; they are also written (a store replaces a window, or
    # keeps the latest row of a key, by them), so a transform passes them through.
    selecting = {c for c in (plan.watermark and plan.watermark.column, plan.partition and plan.partition.column,
                             plan.key_partitions and plan.key_partitions.column) if c}
    needed = {*plan.keys, *plan.write_key, *plan.checks.not_null, *plan.checks.unique, *selecting}
    if plan.transform:
        missing = sorted(selecting - set(source.names))
        if missing:
            raise TerminalError(
                f"columns {missing} select the rows to read but are not in the source -> source columns: "
                f"{', '.join(source.names)}"
            )
        missing = sorted(needed - set(output.names))
        if missing:
            raise TerminalError(
                f"columns {missing} named in the entity's settings are not in the transform's output -> keep or "
                f"compute them in the transform (its columns: {', '.join(output.names)})"
            )
        return
    missing = sorted(needed - set(output.names))
    if missing:
        raise TerminalError(
            f"columns {missing} named in the entity's settings are not in the source -> source columns: "
            f"{', '.join(output.names)}"
        )
