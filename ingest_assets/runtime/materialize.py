"""Run one entity: decide the load window, stream home -> store, commit, report.

The order is what makes runs safe: the upper bound of an incremental read is fixed before reading;
rows are staged, counted back from disk and compared with the rows read before anything is
committed; the cursor is only recorded in the materialization that follows a successful commit.
The asset key is the translator's, passed in: nothing here makes keys.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from contextlib import AbstractContextManager, closing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol, TypeVar

import dagster as dg

from ingest_assets.connectors import registry
from ingest_assets.connectors.connector_type import AnyResource
from ingest_assets.errors import (
    DestinationMissing,
    EntityColumnsMissing,
    RowSelectionColumnsMissing,
    SchemaChangesRefused,
    StagedCountMismatch,
    TableMustBeRebuilt,
    TransformOutputColumnsMissing,
    first_line,
)
from ingest_assets.homes.base import Home, ReadRequest
from ingest_assets.plan.build_derived import QUERY_HOME
from ingest_assets.plan.model import EntityPlan, WriteSpec
from ingest_assets.plan.required_columns import selecting_columns, written_columns
from ingest_assets.plan.window import KeyBucket, TimeWindow
from ingest_assets.runtime import access_plan, check_results, dead_runs, metadata
from ingest_assets.runtime.decide import LoadDecision, PartitionWindow, decide_load, sample_rows
from ingest_assets.runtime.failures import StepContext, ingest_errors
from ingest_assets.runtime.metadata import RecordedValue
from ingest_assets.runtime.overrides import RunOverrides
from ingest_assets.runtime.progress import LoadProgress
from ingest_assets.runtime.reconcile import starting_cursor
from ingest_assets.runtime.state import PreviousLoad, previous_load
from ingest_assets.stores.abandoned import Abandoned
from ingest_assets.stores.base import (
    CommitResult,
    LoadRecord,
    QualityRequest,
    RemovesAbandonedStaging,
    Store,
    StoreWriter,
    WriteMode,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from ingest_assets.stores.schema_decision import ChangeIdentity, SchemaDecision, TableLayout

T = TypeVar("T")
W_co = TypeVar("W_co", bound=StoreWriter, covariant=True)


class _StoreWriting(Store, Protocol[W_co]):
    """A store, with the type of its writer: a publishing store's writer can also prepare."""

    def writer(
        self, target: WriteSpec, mode: WriteMode, layout: TableLayout, run_token: str, quality: QualityRequest,
        record: LoadRecord | None = None,
    ) -> AbstractContextManager[W_co]: ...


@dataclass(frozen=True)
class StagedLoad:
    """A load read and staged (and committed, or prepared for a publish step): what its report needs."""

    decision: LoadDecision
    schema: SchemaDecision
    rows_read: int
    duplicates_dropped: int
    started_at: float  # time.time(): the report may come from another process
    rows_transformed: int | None = None  # the rows the entity's transform produced (None: no transform)
    reported_changes: frozenset[ChangeIdentity] = frozenset()  # the schema changes the previous load found
    partition_range: str | None = None  # "first...last (n partitions)" for a run of several partitions
    source: dg.AssetKey | None = None  # the asset of what the entity reads, its columns' lineage


@dataclass(frozen=True)
class PendingPublish:
    """What an extract step hands its publish step: the staged load and the store's prepared commit."""

    staged: StagedLoad
    prepared: object


def materialize_entity(
    context: dg.AssetExecutionContext,
    plan: EntityPlan,
    asset_key: dg.AssetKey,
    overrides: RunOverrides,
    home_resource: AnyResource,
    store_resource: AnyResource,
    retries: int,
) -> Iterator[dg.MaterializeResult[None] | dg.AssetCheckResult]:
    """Read, stage, commit and report in one step."""
    yield from materialize_from_home(context, plan, asset_key, overrides,
                                     lambda: registry.open_home(plan.home.type, home_resource), store_resource, retries)


def materialize_from_home(
    context: dg.AssetExecutionContext,
    plan: EntityPlan,
    asset_key: dg.AssetKey,
    overrides: RunOverrides,
    open_home: Callable[[], Home],
    store_resource: AnyResource,
    retries: int,
) -> Iterator[dg.MaterializeResult[None] | dg.AssetCheckResult]:
    """`materialize_entity` for any home (a derived asset's query is one)."""
    with ingest_errors(context, plan, retries):
        yield from load_entity(context, plan, asset_key, overrides, open_home, store_resource,
                               previous_load(context.instance, asset_key),
                               dead_runs.settle_dead_runs(context, [asset_key]))


def load_entity(
    context: StepContext,
    plan: EntityPlan,
    asset_key: dg.AssetKey,
    overrides: RunOverrides,
    open_home: Callable[[], Home],
    store_resource: AnyResource,
    previous: PreviousLoad,
    abandoned: Abandoned,
) -> Iterator[dg.MaterializeResult[None] | dg.AssetCheckResult]:
    """One entity's load and its report; a failed load raises (the caller decides what the step does).
    `abandoned`: the step's `dead_runs.settle_dead_runs`."""
    store: Store = registry.open_store(plan.store.type, store_resource)
    staged, commit = yield from _stage(context, plan, asset_key, overrides, open_home(), store, previous,
                                       abandoned, lambda w: w.commit())
    for event in _report(plan, asset_key, staged, commit):
        yield (dg.MaterializeResult(asset_key=asset_key, metadata=event)
               if isinstance(event, dict) else event)


def extract_for_publish(
    context: dg.OpExecutionContext,
    plan: EntityPlan,
    asset_key: dg.AssetKey,
    overrides: RunOverrides,
    home_resource: AnyResource,
    store_resource: AnyResource,
    retries: int,
) -> PendingPublish:
    """The first of two steps: read, stage and prepare the publish (the store's commit point)."""
    with ingest_errors(context, plan, retries):
        store = registry.open_publishing_store(plan.store.type, store_resource)
        home: Home = registry.open_home(plan.home.type, home_resource)
        stage = _stage(context, plan, asset_key, overrides, home, store, previous_load(context.instance, asset_key),
                       dead_runs.settle_dead_runs(context, [asset_key]), lambda w: w.prepare())
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
    asset_key: dg.AssetKey,
    pending: PendingPublish,
    store_resource: AnyResource,
    retries: int,
    output_name: str,
) -> Iterator[dg.Output[None] | dg.AssetCheckResult]:
    """The second step: publish (waiting, if the store must, without holding an extraction slot), report."""
    with ingest_errors(context, plan, retries):
        store = registry.open_publishing_store(plan.store.type, store_resource)
        context.log.info(f"{plan.label}: publishing to {store.describe(plan.write)}")
        commit = store.complete(pending.prepared)
        for event in _report(plan, asset_key, pending.staged, commit):
            yield dg.Output(None, output_name=output_name, metadata=event) if isinstance(event, dict) else event


def _stage(context: StepContext, plan: EntityPlan, asset_key: dg.AssetKey, overrides: RunOverrides,
           home: Home, store: _StoreWriting[W_co], previous: PreviousLoad, abandoned: Abandoned,
           finish: Callable[[W_co], T]) -> Generator[dg.AssetCheckResult, None, tuple[StagedLoad, T]]:
    """Decide the load, read and stage it, and `finish` the writer (commit or prepare)."""
    # pyarrow is imported when a run starts, never when definitions load.
    from ingest_assets.runtime.audit import AuditColumns
    from ingest_assets.stores import schema_changes
    from ingest_assets.transforms.stream import transformed

    started_at = time.time()
    _remove_abandoned_staging(context, plan, store, abandoned)

    committed = previous.cursor if plan.watermark else None
    if plan.watermark is not None and not plan.partitioned:
        starting = starting_cursor(plan, previous, store.last_load(plan.write))
        if (note := starting.note(committed)) is not None:
            context.log.warning(f"{plan.label}: {note}")
        committed = starting.cursor
    # A sample records no cursor, so it needs no upper bound (and skips the max() query).
    source_max = None
    if plan.watermark is not None and sample_rows(plan, overrides) is None:
        source_max = home.max_value(plan.read, plan.watermark.column)
    window: PartitionWindow = None
    if plan.key_partitions is not None:
        window = KeyBucket(plan.key_partitions.column, plan.key_partitions.partitions, int(context.partition_key))
    elif plan.partition is not None and plan.mode(overrides.run_type_name).read == "window":
        time_window = context.partition_time_window
        # Naive wall-clock bounds in the partition's time zone, comparable with naive columns.
        window = TimeWindow(time_window.start.replace(tzinfo=None), time_window.end.replace(tzinfo=None))
    decision = decide_load(plan, overrides, committed, source_max, window)
    write_mode = decision.write_mode
    if write_mode.kind in ("append", "upsert", "merge") and committed is not None and not store.exists(plan.write):
        # Writing only the rows past the cursor to a missing table would silently lose the rest.
        raise DestinationMissing(destination=store.describe(plan.write), cursor_value=committed.value)
    request = ReadRequest(plan.read, decision.row_filter, decision.bucket, decision.sample_rows)
    context.log.info(access_plan.render_text(access_plan.explain(
        plan, asset_key.to_user_string(), decision, home, request, store.describe(plan.write), committed, source_max)))

    quality = QualityRequest(
        not_null=tuple(dict.fromkeys([*plan.keys, *plan.checks.not_null])),
        unique_sets=tuple([plan.keys] if plan.keys else []) + tuple((c,) for c in plan.checks.unique),
    )
    audit = AuditColumns(plan.audit, context.run.run_id, datetime.fromtimestamp(started_at, UTC))
    with home.read(request) as source, closing(audit), \
            transformed(plan.transform, source, plan.read.batch_size, plan.query_memory_limit) as reader:
        _require_columns(plan, source.schema, reader.schema)
        source_schema = audit.schema(reader.schema)
        # A rebuild starts the table over: the destination's old columns are no reference for it.
        reference = None if overrides.rebuild else (
            previous.schema if previous.schema is not None else store.current_schema(plan.write))
        schema = schema_changes.decide(reference, source_schema, plan.schema_changes,
                                       replaces_table=write_mode.kind == "replace" and write_mode.window is None,
                                       keys=write_mode.keys)
        if schema.refused:
            yield check_results.schema_result(plan, asset_key, schema, previous.changes)
            raise SchemaChangesRefused(policy=plan.schema_changes,
                                       changes=[change.describe() for change in schema.refused])
        unsupported = store.unsupported_changes(plan.write, write_mode, schema)
        if unsupported:
            raise TableMustBeRebuilt(destination=store.describe(plan.write), reasons=unsupported)
        token = dead_runs.run_token(context.run.run_id)
        record = LoadRecord(context.run.run_id, decision.cursor_after)  # committed with the rows
        progress = LoadProgress(context.log.info, plan.label)
        with store.writer(plan.write, write_mode, schema.layout, token, quality, record) as writer:
            for batch in reader:
                progress.read(reader.rows_read, batch)
                writer.write(schema_changes.conform(audit.apply(batch), schema.layout.staged))
            progress.finish()
            rows_read, rows_out = reader.rows_read, reader.rows_out
            rows_transformed = rows_out if plan.transform else None
            rows_staged = writer.finish_staging()
            if rows_staged != rows_out:
                yield check_results.rows_read_result(plan, asset_key, rows_read, rows_staged,
                                                     rows_transformed=rows_transformed)
                raise StagedCountMismatch(rows_out=rows_out, rows_staged=rows_staged,
                                          transformed=bool(plan.transform))
            duplicates_dropped = writer.resolve_duplicate_keys()
            result = finish(writer)
    return StagedLoad(decision, schema, rows_read, duplicates_dropped, started_at, rows_transformed,
                      previous.changes, _partition_range(context) if plan.partitioned else None,
                      _source_asset(context, plan, asset_key)), result


def _source_asset(context: StepContext, plan: EntityPlan, asset_key: dg.AssetKey) -> dg.AssetKey | None:
    """The entity's one upstream asset: what it reads (defs/sources.py). None for a derived asset, whose
    upstream assets are its inputs, and where the translator leaves sources out."""
    if plan.home.name == QUERY_HOME.name:
        return None
    upstream = context.assets_def.asset_deps.get(asset_key, set())
    return next(iter(upstream)) if len(upstream) == 1 else None


def _partition_range(context: StepContext) -> str | None:
    """The partitions a run of several loads (a single-run backfill), as its metadata names them."""
    keys = context.partition_keys
    return f"{keys[0]}...{keys[-1]} ({len(keys)} partitions)" if len(keys) > 1 else None


def _remove_abandoned_staging(context: StepContext, plan: EntityPlan, store: Store, abandoned: Abandoned) -> None:
    """What runs no longer in progress staged for the entity's table (see `dead_runs`). Best effort:
    the load does not depend on it."""
    if not isinstance(store, RemovesAbandonedStaging):
        return
    try:
        removed = store.remove_abandoned_staging(plan.write, abandoned)
    except Exception as error:  # the store's trouble: the next run tries again
        context.log.warning(f"{plan.label}: could not remove what dead runs staged: {first_line(error)}")
        return
    if removed:
        context.log.info(f"{plan.label}: removed {removed} staging leftovers of runs no longer in progress")


def _report(plan: EntityPlan, asset_key: dg.AssetKey, staged: StagedLoad, commit: CommitResult
            ) -> Iterator[dg.AssetCheckResult | dict[str, RecordedValue]]:
    """The materialization metadata of a committed load (a dict), then its check results.

    The materialization comes first: Dagster attaches a check result to the asset's latest
    materialization, which must be the one the check measured, not the run before's.
    """
    write_mode = staged.decision.write_mode
    yield metadata.materialization_metadata(
        plan, staged.decision, commit, staged.schema, staged.rows_read, staged.duplicates_dropped,
        time.time() - staged.started_at, staged.rows_transformed, staged.partition_range, staged.source,
    )
    yield check_results.rows_read_result(plan, asset_key, staged.rows_read, commit.rows_written,
                                         staged.duplicates_dropped, staged.rows_transformed)
    yield check_results.schema_result(plan, asset_key, staged.schema, staged.reported_changes)
    yield from check_results.post_commit_results(plan, asset_key, write_mode, commit, staged.rows_read)


def _require_columns(plan: EntityPlan, source: pa.Schema, output: pa.Schema) -> None:
    # The home selects rows by these on the source; they are also written (a store replaces a window, or
    # keeps the latest row of a key, by them), so a transform passes them through.
    selecting, needed = selecting_columns(plan), written_columns(plan)
    if plan.transform:
        missing = sorted(selecting - set(source.names))
        if missing:
            raise RowSelectionColumnsMissing(columns=missing, available=source.names)
        missing = sorted(needed - set(output.names))
        if missing:
            raise TransformOutputColumnsMissing(columns=missing, available=output.names)
        return
    missing = sorted(needed - set(output.names))
    if missing:
        raise EntityColumnsMissing(columns=missing, available=output.names)
