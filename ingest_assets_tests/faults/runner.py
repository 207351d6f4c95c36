"""The fault suite's run server: `dagster asset materialize`, run by Dagster's own CLI code, killed on cue.

Started once per project (`python -m ingest_assets_tests.faults.runner`, in the project's folder,
with its DAGSTER_HOME, INGEST_FLOWS_DIR and TMPDIR), it imports Dagster's CLI, the code location and
the modules a load needs, and then forks one child per request: the child becomes the leader of a
new session (so the run's process group is its own: step processes and the forkserver included)
and runs the CLI's command in process, exactly as a user's `dagster asset materialize -m
ingest_assets.definitions --select ...` would, without paying Python's start and imports for each
of the suite's hundreds of runs.

A request (one JSON line on stdin) names a kill: `{"kind": "delay", "seconds": s}` (this server kills
the child's process group after `s` seconds) or `{"kind": K, "nth": n}` (the child kills its own
process group at the `n`th event of kind K; see `points.py`), or none. The answer (one JSON line):
whether the run was killed, its exit status, and how many events of each kind a run that finished
went through (what the suite chooses its points from).

Forking is safe here: the server has started no thread of its own (checked before each fork; pyarrow's
one idle background thread is allowed, as Dagster's forkserver allows it) and imports no polars.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

# What every run of the suite's projects imports before it moves a row (polars is left out: its
# thread pool would not survive a fork).
PRELOADED = (
    "ingest_assets.definitions", "ingest_assets.runtime.materialize", "ingest_assets.runtime.batch",
    "ingest_assets.stores.staging", "ingest_assets.homes.sqlite", "sqlalchemy", "pyarrow.parquet",
    "ingest_assets_tests.faults.points",
)
MAX_THREADS_AT_FORK = 2  # this one and pyarrow's idle background thread
RUN_TIMEOUT_SECONDS = 240


def _threads() -> int:
    return len(os.listdir("/proc/self/task"))


def _child(request: dict[str, Any]) -> None:
    """The run: in a session of its own, its output in the request's log, the kill armed. Never returns."""
    os.setsid()
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    from dagster._cli import cli

    from ingest_assets_tests.faults import points

    points.override(request.get("settings", {}))
    counter = points.arm(request.get("kill"), request.get("watch", {}))
    code = 0
    try:
        cli.main(args=["asset", "materialize", "-m", "ingest_assets.definitions", "--select", request["select"]],
                 standalone_mode=False)
    except BaseException as error:  # the run's failure is the answer, not this server's
        print(f"the run failed: {error!r}", flush=True)
        code = 1
    Path(request["counts"]).write_text(json.dumps(counter.counts))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _wait(pid: int, kill_after: float | None) -> tuple[int, bool]:
    """The child's wait status, its process group killed after `kill_after` seconds if still running;
    and whether it ran past RUN_TIMEOUT_SECONDS (a hung run is a failure of the run, not a kill)."""
    deadline = time.monotonic() + (kill_after if kill_after is not None else RUN_TIMEOUT_SECONDS)
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status, False
        if time.monotonic() >= deadline:
            os.killpg(pid, signal.SIGKILL)
            return os.waitpid(pid, 0)[1], kill_after is None
        time.sleep(0.002)


def serve() -> None:
    for module in [*PRELOADED, *sys.argv[1:]]:
        importlib.import_module(module)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        if _threads() > MAX_THREADS_AT_FORK:
            raise RuntimeError(f"{_threads()} threads in the run server: a fork would not be safe")
        if os.path.exists(request["counts"]):
            os.unlink(request["counts"])
        kill = request.get("kill") or {}
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _child(request)
        status, timed_out = _wait(pid, kill.get("seconds") if kill.get("kind") == "delay" else None)
        if timed_out:
            raise RuntimeError(f"the run did not end within {RUN_TIMEOUT_SECONDS} s; its log: {request['log']}")
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        counts = json.loads(Path(request["counts"]).read_text()) if not killed else {}
        print(json.dumps({"killed": killed, "status": status, "seconds": time.monotonic() - started,
                          "counts": counts}), flush=True)


if __name__ == "__main__":
    serve()
