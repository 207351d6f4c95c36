"""Run the entities of one step: each on a thread of its own, reported the moment it commits.

A step of many entities saves what a step costs (a process, a code-location load, the step's own
events) while keeping each entity's asset, checks and failure its own:
- at most `threads` entities load at once (the step's share of the connection's pool);
- a transient error retries that entity alone, on its thread, up to the project's `retries`;
- a failed entity logs its error and the others go on; the step fails at the end, naming every
  entity that failed, so their assets show the failure and the committed ones their materialization.
Events are yielded by the step's own thread (Dagster reads them from the op's generator): the entity
threads hand them over through a queue.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import dagster as dg

from ingest_assets.connectors import registry
from ingest_assets.connectors.connector_type import AnyResource
from ingest_assets.errors import IngestError, TransientError
from ingest_assets.plan.model import EntityPlan
from ingest_assets.runtime.dead_runs import settle_dead_runs
from ingest_assets.runtime.failures import RETRY_WAIT_SECONDS, describe_failure, failure_metadata
from ingest_assets.runtime.materialize import load_entity
from ingest_assets.runtime.overrides import RunOverrides
from ingest_assets.runtime.state import PreviousLoad, previous_loads
from ingest_assets.stores.abandoned import Abandoned

StepEvent = dg.MaterializeResult[None] | dg.AssetCheckResult


@dataclass(frozen=True)
class BatchEntity:
    """An entity of the step and the asset key the translator gave it."""

    plan: EntityPlan
    key: dg.AssetKey


@dataclass(frozen=True)
class _Finished:
    """An entity thread's last word: None when its load committed, else why it failed."""

    entity: BatchEntity
    failure: str | None


def materialize_batch(
    context: dg.AssetExecutionContext,
    entities: Sequence[BatchEntity],
    overrides: RunOverrides,
    resources: Mapping[str, AnyResource],
    threads: int,
    retries: int,
) -> Iterator[StepEvent]:
    """Load `entities` (the step's selected ones) on up to `threads` threads, yielding their events.

    `resources` are the step's connections by name, read on the step's thread.
    """
    previous = previous_loads(context.instance, [entity.key for entity in entities])
    abandoned = settle_dead_runs(context, [entity.key for entity in entities])  # once, before the threads
    selected_checks = context.selected_asset_check_keys
    handed_over: queue.Queue[StepEvent | _Finished] = queue.Queue()
    stopping = threading.Event()

    def run(entity: BatchEntity) -> None:
        failure: str | None = "stopped before it started"
        try:
            if not stopping.is_set():
                failure = _load_with_retries(context, entity, overrides, resources, previous[entity.key], abandoned,
                                             retries, handed_over.put, stopping)
        finally:
            handed_over.put(_Finished(entity, failure))

    failures: dict[BatchEntity, str] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="ingest-entity")
    try:
        for entity in entities:
            pool.submit(run, entity)
        finished = 0
        while finished < len(entities):
            item = handed_over.get()
            if isinstance(item, _Finished):
                finished += 1
                if item.failure is not None:
                    failures[item.entity] = item.failure
            elif not isinstance(item, dg.AssetCheckResult) or _check_key(item) in selected_checks:
                yield item
    finally:
        # An interrupted step starts no further entity; the ones loading finish their (atomic) load.
        stopping.set()
        pool.shutdown(wait=True, cancel_futures=True)
    if failures:
        raise dg.Failure(
            description=f"{len(failures)} of {len(entities)} entities of this step failed (the others committed):\n"
                        + "\n".join(f"- {reason}" for reason in failures.values()),
            metadata={"failed_entities": [failure_metadata(entity.plan) for entity in failures]},
            allow_retries=False,
        )


def _load_with_retries(
    context: dg.AssetExecutionContext,
    entity: BatchEntity,
    overrides: RunOverrides,
    resources: Mapping[str, AnyResource],
    previous: PreviousLoad,
    abandoned: Abandoned,
    retries: int,
    emit: Callable[[StepEvent], None],
    stopping: threading.Event,
) -> str | None:
    """One entity's load, retried on transient errors; None when it committed, else the failure."""
    plan = entity.plan
    home_resource, store_resource = resources[plan.home.name], resources[plan.store.name]
    attempt = 0
    while True:
        try:
            for event in load_entity(context, plan, entity.key, overrides,
                                     lambda: registry.open_home(plan.home.type, home_resource), store_resource,
                                     previous, abandoned):
                emit(event)
            return None
        except TransientError as error:
            if attempt >= retries or stopping.is_set():
                context.log.error(describe_failure(plan, error))
                return describe_failure(plan, error)
            attempt += 1
            context.log.warning(f"{plan.label}: {error} (retry {attempt} of {retries} in {RETRY_WAIT_SECONDS} s)")
            if stopping.wait(RETRY_WAIT_SECONDS):
                return describe_failure(plan, error)
        except IngestError as error:
            context.log.error(describe_failure(plan, error))
            return describe_failure(plan, error)
        except Exception as error:  # a bug: the entity fails, with its traceback in the log; the others go on
            context.log.exception(f"{plan.label}: unexpected error")
            return describe_failure(plan, error)


def _check_key(result: dg.AssetCheckResult) -> dg.AssetCheckKey:
    assert result.asset_key is not None, "every check result names its asset"
    return dg.AssetCheckKey(result.asset_key, result.check_name or "")

