"""Runs whose worker died: failed in Dagster, and what they staged removed, by the next run of an entity.

A run killed with SIGKILL (the kernel's OOM killer, a machine's restart, `kill -9` of a CLI run)
writes no failure: Dagster shows it STARTED for ever, and its staged files and helper tables stay
behind. Dagster's run monitoring (on in the shipped dagster.yaml) fails runs stuck STARTING or
CANCELING and runs past their `dagster/max_runtime`, but the default run launcher cannot tell
whether a STARTED run's worker still lives. So the project's executor records the worker
(`ingest/run_worker`: host, pid and the process's start time, so that a reused pid is not taken for
it), and the next run of an entity on the same host fails the runs of that asset whose worker is gone,
and those killed in the moment between their start event and that record (nothing after the start
for `STALLED_START_SECONDS`).
Then what runs no longer in progress staged for the entity's table is removed: stores name their
staging by the run token, whose first eight characters are the run id's (`run_token`).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Collection

import dagster as dg
from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES

from ingest_assets.errors import first_line
from ingest_assets.storage.processes import Process
from ingest_assets.stores.abandoned import Abandoned

WORKER_TAG = "ingest/run_worker"
# A run with no worker recorded and nothing after its start event for this long died as it started.
STALLED_START_SECONDS = 30.0
# A run token: the run id's first eight characters and twelve of a uuid, e.g. `b01a8d8d-fdf1bb7954fa`.
RUN_TOKEN = re.compile(r"(?P<run>[0-9a-f]{8})[-_](?P<load>[0-9a-f]{12})")
_RUN_PREFIX_CHARACTERS = 8


def run_token(run_id: str) -> str:
    """The name one load of run `run_id` gives what it stages (unique per load, the run readable in it)."""
    return f"{run_id[:_RUN_PREFIX_CHARACTERS]}-{uuid.uuid4().hex[:12]}"


def record_run_worker(instance: dg.DagsterInstance, run: dg.DagsterRun) -> None:
    """Tag the run with this process, its worker (called by the executor, in the run's own process)."""
    if WORKER_TAG not in run.tags:
        instance.add_run_tags(run.run_id, {WORKER_TAG: Process.this_process().tag()})


def runs_in_progress(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    return list(instance.get_runs(filters=dg.RunsFilter(statuses=IN_PROGRESS_RUN_STATUSES)))


def has_dead_worker(run: dg.DagsterRun) -> bool:
    """Whether the run's recorded worker is gone (False when none is recorded or it is elsewhere)."""
    worker = Process.from_tag(run.tags.get(WORKER_TAG, ""))
    return worker is not None and worker.is_gone()


def fail_dead_runs(instance: dg.DagsterInstance, runs: list[dg.DagsterRun], asset_keys: Collection[dg.AssetKey],
                   current_run_id: str) -> list[dg.DagsterRun]:
    """Report as failed the in-progress runs of any of `asset_keys` whose recorded worker is gone
    (each once); those runs."""
    failed = []
    for run in runs:
        if run.run_id == current_run_id or run.status != dg.DagsterRunStatus.STARTED:
            continue
        shared = set(asset_keys) if run.asset_selection is None else run.asset_selection & set(asset_keys)
        if not shared:
            continue
        death = _death(instance, run)
        if death is None:
            continue
        assets = ", ".join(sorted(key.to_user_string() for key in shared))
        instance.report_run_failed(run, message=f"{death}; marked failed by run {current_run_id[:8]} of {assets}")
        failed.append(run)
    return failed


def _death(instance: dg.DagsterInstance, run: dg.DagsterRun) -> str | None:
    """Why the STARTED `run` is known dead, or None while it may live."""
    worker = Process.from_tag(run.tags.get(WORKER_TAG, ""))
    if worker is not None:
        return (f"the run's worker process ({worker.pid} on {worker.host}) is gone: it was killed without "
                "writing a failure") if worker.is_gone() else None
    # No worker recorded: the executor records it right after the run's start event, so a run whose
    # last event is still that start, long after, died in between (a live run writes its next event
    # within milliseconds, whatever its executor).
    records = instance.get_records_for_run(run.run_id, limit=1, ascending=False).records
    if not records or records[0].event_log_entry.dagster_event_type != dg.DagsterEventType.RUN_START:
        return None
    if time.time() - records[0].event_log_entry.timestamp < STALLED_START_SECONDS:
        return None
    return (f"the run's process died as the run started: nothing happened in the {STALLED_START_SECONDS:g} s "
            "after its start event")


def settle_dead_runs(context: dg.AssetExecutionContext | dg.OpExecutionContext,
                     asset_keys: Collection[dg.AssetKey]) -> Abandoned:
    """Once per step, before its loads (a shared step's threads would otherwise fail a run twice): fail
    the runs of the step's assets whose worker is gone; then which run tokens are abandoned. Best
    effort: on the instance's trouble nothing is failed and nothing counts as abandoned."""
    try:
        runs = runs_in_progress(context.instance)
        failed = fail_dead_runs(context.instance, runs, asset_keys, context.run.run_id)
    except Exception as error:  # the instance's trouble: the next run tries again
        context.log.warning(f"could not check for runs that died: {first_line(error)}")
        return lambda token: False
    for run in failed:
        context.log.warning(f"run {run.run_id} had died without a failure; marked failed")
    return abandoned_by([run for run in runs if run not in failed])


def abandoned_by(runs_still_in_progress: list[dg.DagsterRun]) -> Abandoned:
    """Whether a run token's run is no longer in progress (a name that is no token: never abandoned)."""
    live = {run.run_id[:_RUN_PREFIX_CHARACTERS] for run in runs_still_in_progress}

    def abandoned(token: str) -> bool:
        match = RUN_TOKEN.search(token)
        return match is not None and match["run"] not in live

    return abandoned
