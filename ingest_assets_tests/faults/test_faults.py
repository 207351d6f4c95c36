"""The fault-injection suite: loads SIGKILLed at chosen points, on every store, recover to the source.

For each store and each kind of load (`full`: the whole table replaced; `incremental`: an upsert of
the rows past the watermark) a project of one entity is loaded, and then, round after round, the
source changes (inserts, updates, and deletes for the full load), the run is killed (SIGKILL of its
whole process group) at one point, and a normal run follows. The points (`kill_plan`):

- every named point of the store's commit path (`destinations._calls`: staging finished, the
  store's own step, the moment after the commit before Dagster records it),
- points spread over the events a run goes through (file-system changes under the store's folders,
  statements to its database, calls of the storage layer), counted in a run that was not killed,
- random moments of the run (fixed seed), between its start and the time a normal run takes.

About 70% of the points are deterministic, the rest random. After each kill, before anything else:
the destination is the table before the load or after it (never half-written; on ADLS and Open
Mirroring, while a committed load's publish journal is pending, it holds rows of the two only, and
the next run finishes it), and the cursor Dagster holds is not ahead of the data. After the next normal
run: the destination equals the source (row count, distinct keys, checksum, and row by row), the
cursor is the source's maximum, nothing staged is left (files, helper tables, temporary folders),
and no run is left in progress (the killed one is failed).

`--faults=long` raises the points per store from 20 (10 per kind of load) to 60.
"""

from __future__ import annotations

import functools
import json
import os
import random
import sqlite3
import subprocess
import sys
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES

from ingest_assets_tests.conftest import REPOSITORY, write_files
from ingest_assets_tests.faults.destinations import Destination, destination, normalized

pytestmark = pytest.mark.slow

STORES = ["parquet", "delta", "duckdb", "sqlite", "postgres", "open_mirroring", "adls"]
POINTS = {"short": 10, "long": 30}  # per store and kind of load: 20 and 60 per store
FIRST_ROWS = 2_000
BATCH_ROWS = 500  # several staged files per load
ASSET = "sales/orders"
SEED = 20261204
START = datetime(2026, 3, 1)
# A run killed between its start event and the record of its worker is failed by a later run once
# nothing happened for 30 s; the suite's next run comes at once (and no other run is in progress).
SETTINGS = {"ingest_assets.runtime.dead_runs:STALLED_START_SECONDS": 0.0}

FLOWS = {
    "full": """
        home: shop
        store: target
        run_type: full_drop
        """,
    "incremental": """
        home: shop
        store: target
        run_type: incremental
        """,
}
ENTITIES = {
    "full": """
        home: {{table: orders}}
        keys: [id]
        """,
    "incremental": """
        home: {{table: orders}}
        keys: [id]
        watermark: updated_at
        write_strategy: {strategy}
        """,
}


class Source:
    """The SQLite table the loads read; each change moves time forward, so updates pass the watermark."""

    def __init__(self, path: Path):
        self.path = path
        self._minute = 0
        self._next_id = 1
        self._random = random.Random(SEED)
        with self._connect() as connection:
            connection.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, "
                               "amount NUMERIC(10, 2), updated_at DATETIME NOT NULL)")
        self.insert(FIRST_ROWS)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path)

    def _now(self) -> str:
        self._minute += 1
        return (START + timedelta(minutes=self._minute)).isoformat(" ")

    def insert(self, count: int) -> None:
        ids = range(self._next_id, self._next_id + count)
        self._next_id += count
        with self._connect() as connection:
            connection.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", [
                (i, f"customer-{i % 7}", None if i % 11 == 0 else round(i * 1.25, 2), self._now()) for i in ids])

    def change(self, *, updates: bool, deletes: bool) -> None:
        """A round's changes: 200 inserts, and 100 updates and 50 deletes as asked."""
        with self._connect() as connection:
            ids = [i for (i,) in connection.execute("SELECT id FROM orders")]
            now = self._now()
            for i in self._random.sample(ids, 100) if updates else []:
                connection.execute("UPDATE orders SET amount = amount + 1, customer = 'changed', updated_at = ? "
                                   "WHERE id = ?", (now, i))
            if deletes:
                connection.executemany("DELETE FROM orders WHERE id = ?",
                                       [(i,) for i in self._random.sample(ids, 50)])
        self.insert(200)

    def rows(self) -> list[tuple[object, ...]]:
        with self._connect() as connection:
            rows = connection.execute("SELECT id, customer, amount, updated_at FROM orders").fetchall()
        return sorted(((i, customer, None if amount is None else f"{float(amount):.2f}", updated_at[:19])
                       for i, customer, amount, updated_at in rows), key=lambda row: row[0])


@dataclass(frozen=True)
class Run:
    killed: bool
    seconds: float
    counts: dict[str, int]
    log: str


class RunServer:
    """`runner.py` over one project: runs `dagster asset materialize --select sales/orders`, killed on cue."""

    def __init__(self, root: Path, target: Destination):
        self._root = root
        self._target = target
        self._runs = 0
        env = {**os.environ, "DAGSTER_HOME": str(root / ".dagster"), "INGEST_FLOWS_DIR": str(root / "flows"),
               "TMPDIR": str(root / "tmp"), "PYTHONPATH": str(REPOSITORY), **target.env}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "ingest_assets_tests.faults.runner", *target.preload], cwd=root, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._answer() == {"ready": True}

    def _answer(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        assert line, "the run server stopped"
        answer: dict[str, Any] = json.loads(line)
        return answer

    def run(self, kill: dict[str, Any] | None = None) -> Run:
        self._runs += 1
        log = self._root / "logs" / f"run-{self._runs:03d}.log"
        request = {"select": ASSET, "kill": kill, "watch": self._target.watch, "settings": SETTINGS, "log": str(log),
                   "counts": str(self._root / "logs" / "counts.json")}
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        answer = self._answer()
        return Run(answer["killed"], answer["seconds"], answer["counts"], log.read_text())

    def close(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(timeout=30)
        assert self._process.stdout is not None
        self._process.stdout.close()


@contextmanager
def run_server(root: Path, target: Destination) -> Iterator[RunServer]:
    server = RunServer(root, target)
    try:
        yield server
    finally:
        server.close()


def kill_plan(probe: Run, target: Destination, wanted: int, seed: str) -> Iterator[dict[str, Any]]:
    """The kills of one store and kind, deterministic ones first; random moments for ever after."""
    named = [{"kind": point, "nth": 1} for point in target.watch.get("calls", [])]
    spread = max(0, wanted * 7 // 10 - len(named))  # most of the points deterministic, the rest random
    kinds = [kind for kind in ("fs", "sql", "storage") if probe.counts.get(kind)]
    for kind in kinds:
        total = probe.counts[kind]
        share = max(2, spread // len(kinds))
        named += [{"kind": kind, "nth": n} for n in sorted({1 + (i * (total - 1)) // max(1, share - 1)
                                                            for i in range(min(share, total))})]
    yield from named
    chance = random.Random(seed)
    while True:
        yield {"kind": "delay", "seconds": round(chance.uniform(0.05, probe.seconds), 3)}


def summary(rows: list[tuple[object, ...]]) -> tuple[int, int, int]:
    """(rows, distinct keys, checksum): what the suite compares first, and says when it differs."""
    checksum = sum(zlib.crc32(repr(row).encode()) for row in rows) % (1 << 64)
    return len(rows), len({row[0] for row in rows}), checksum


def instance(root: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(root / ".dagster")))


def committed_cursor(root: Path) -> str | None:
    with instance(root) as current:
        event = current.get_latest_materialization_event(dg.AssetKey(ASSET.split("/")))
    if event is None or event.asset_materialization is None:
        return None
    cursor = event.asset_materialization.metadata.get("ingest/cursor")
    return None if cursor is None else str(cursor.value["value"])[:19].replace("T", " ")  # type: ignore[index]


def runs_in_progress(root: Path) -> list[str]:
    with instance(root) as current:
        runs = current.get_runs(filters=dg.RunsFilter(statuses=IN_PROGRESS_RUN_STATUSES))
        return [f"{run.run_id} {run.status.value}" for run in runs]


def leftovers(root: Path, target: Destination) -> list[str]:
    return target.staged() + sorted(str(path) for path in (root / "tmp").glob("ingest-*"))


def check_recovered(root: Path, target: Destination, source: Source, kind: str, after: str) -> None:
    expected = source.rows()
    found = normalized(target.read())
    assert summary(found) == summary(expected), f"after {after}: (rows, keys, checksum) differ"
    assert found == expected, f"after {after}: the destination differs from the source"
    if kind == "incremental":
        assert committed_cursor(root) == max(row[3] for row in expected), after  # type: ignore[type-var]
    assert leftovers(root, target) == [], f"after {after}: staging left behind"
    assert runs_in_progress(root) == [], f"after {after}: a run is left in progress"


def check_killed(root: Path, target: Destination, before: list[tuple[object, ...]],
                 source: Source, kind: str, kill: dict[str, Any]) -> None:
    """Right after a kill: the table is the one before the load or the one after, and the cursor is not ahead."""
    found, after = normalized(target.read()), source.rows()
    if target.publishing():  # committed, partly published: the next run finishes it
        assert set(found) <= set(before) | set(after), f"killed at {kill}: rows of neither load"
    else:
        assert found in (before, after), f"killed at {kill}: the table is half-written: {summary(found)}"
    cursor = committed_cursor(root)
    if kind == "incremental" and cursor is not None:
        newest = max((row[3] for row in found), default="")
        assert cursor <= newest, f"killed at {kill}: the cursor {cursor} is ahead of the data ({newest})"  # type: ignore[operator]


@pytest.mark.parametrize("kind", ["full", "incremental"])
@pytest.mark.parametrize("store", STORES)
def test_loads_killed_anywhere_recover_to_the_source(store: str, kind: str, tmp_path: Path,
                                                     request: pytest.FixtureRequest) -> None:
    wanted = POINTS[request.config.getoption("--faults")]
    root = tmp_path
    for folder in (".dagster", "tmp", "logs", "source"):
        (root / folder).mkdir()
    target = destination(store, root, request)
    (root / "flows").mkdir()
    (root / "flows/ingest.yml").write_text(f"options: {{batch_size: {BATCH_ROWS}}}\nconnections:\n"
                                           f"  shop: {{type: sqlite, path: source/shop.sqlite}}\n"
                                           f"  target: {target.connection}\n")
    write_files(root, {"flows/sales/flow.yml": FLOWS[kind],
                       "flows/sales/entities/orders.yml": ENTITIES[kind].format(strategy=target.incremental)})
    source = Source(root / "source/shop.sqlite")
    killed = 0
    hits: Counter[str] = Counter()  # kills by kind of point, and planned kills the run finished before
    with run_server(root, target) as server:
        first = server.run()
        assert not first.killed and "the run failed" not in first.log, first.log[-3000:]
        check_recovered(root, target, source, kind, "the first load")
        change = functools.partial(source.change, updates=kind == "full" or target.incremental == "upsert",
                                   deletes=kind == "full")  # what the load carries over exactly
        change()
        probe = server.run()
        check_recovered(root, target, source, kind, "the probe")
        for attempt, kill in enumerate(kill_plan(probe, target, wanted, f"{SEED}-{store}-{kind}")):
            if killed >= wanted or attempt >= 3 * wanted:
                break
            before = normalized(target.read())
            change()
            run = server.run(kill)
            killed += run.killed
            hits[kill["kind"].partition(":")[0] if run.killed else f"missed {kill['kind']}"] += 1
            if run.killed:
                check_killed(root, target, before, source, kind, kill)
            recovery = server.run()
            assert not recovery.killed and "the run failed" not in recovery.log, \
                f"the run after the kill at {kill} failed:\n{recovery.log[-3000:]}"
            check_recovered(root, target, source, kind, f"the kill at {kill}")
    print(f"{store} {kind}: {killed} kills ({', '.join(f'{k} {n}' for k, n in sorted(hits.items()))})")
    assert killed >= wanted, f"only {killed} of the planned kills hit a run"
