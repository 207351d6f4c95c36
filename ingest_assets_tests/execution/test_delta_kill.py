"""SIGKILL during a Delta commit, and two writers at once, on real tables and real processes.

A child process stages a load of 200,000 rows into the Delta store and says so the moment the commit
starts; the test kills it with SIGKILL after a delay that lands at different points of the commit
(moving files in, writing Parquet, the MERGE, the log entry). Whatever the moment, the table must be
at the version before the load or the one after it, every reader (deltalake, Polars, DuckDB) must see
exactly that version's rows, and the next load must succeed on top of it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable

from ingest_assets.connectors.delta import DeltaResource
from ingest_assets.errors import TableCommitConflict
from ingest_assets.plan.model import WriteSpec
from ingest_assets.stores.base import QualityRequest, TableLayout, WriteMode
from ingest_assets.stores.delta import DeltaStore, DeltaTableWriter

REPOSITORY = Path(__file__).resolve().parents[2]
SPEC = WriteSpec(path="shop/t")
SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string()), ("version", pa.int64())])
BASE_ROWS = 100_000
LOAD_ROWS = 200_000  # ids BASE_ROWS/2 .. : half of them match the base rows' keys
MODES = {"append": WriteMode("append"), "replace": WriteMode("replace"),
         "upsert": WriteMode("upsert", keys=("id",))}

CHILD = textwrap.dedent("""
    import sys
    import pyarrow as pa
    from ingest_assets.connectors.delta import DeltaResource
    from ingest_assets.stores.delta import DeltaStore, DeltaTableWriter
    from ingest_assets_tests.execution.test_delta_kill import MODES, SPEC, load_rows, stage

    root, mode, token = sys.argv[1:4]
    store = DeltaStore(DeltaResource(local_path=root))
    with stage(store, MODES[mode], load_rows(), token) as writer:
        print("committing", flush=True)
        writer.commit()
    print("committed", flush=True)
""")


def rows(ids: range, version: int) -> pa.Table:
    return pa.table({"id": pa.array(ids, pa.int64()), "name": pa.array([f"n{i}" for i in ids]),
                     "version": pa.array([version] * len(ids), pa.int64())}, schema=SCHEMA)


def load_rows() -> pa.Table:
    return rows(range(BASE_ROWS // 2, BASE_ROWS // 2 + LOAD_ROWS), 2)


@contextmanager
def stage(store: DeltaStore, mode: WriteMode, table: pa.Table, token: str) -> Iterator[DeltaTableWriter]:
    """The store's writer with `table` staged, ready for `commit()`."""
    with store.writer(SPEC, mode, TableLayout.new(SCHEMA), token, QualityRequest()) as writer:
        for batch in table.to_batches(max_chunksize=50_000):
            writer.write(batch)
        writer.finish_staging()
        writer.resolve_duplicate_keys()
        yield writer


def expected(mode: str, committed: bool) -> tuple[int, int]:
    """(row count, sum of versions) of the table before the load, or after it."""
    if not committed:
        return BASE_ROWS, BASE_ROWS
    if mode == "append":
        return BASE_ROWS + LOAD_ROWS, BASE_ROWS + 2 * LOAD_ROWS
    if mode == "replace":
        return LOAD_ROWS, 2 * LOAD_ROWS
    untouched = BASE_ROWS // 2  # upsert: the base rows below the load's first id keep version 1
    return untouched + LOAD_ROWS, untouched + 2 * LOAD_ROWS


def seen_by_every_reader(uri: str) -> tuple[int, int]:
    table = DeltaTable(uri)
    by_deltalake = table.to_pyarrow_dataset().to_table(columns=["version"]).column("version")
    by_polars = pl.read_delta(uri, columns=["version"])["version"]
    with duckdb.connect() as connection:
        connection.register("t", table.to_pyarrow_dataset())
        duck = connection.execute("SELECT count(*), coalesce(sum(version), 0) FROM t").fetchone()
    assert duck is not None
    views = {(len(by_deltalake), int(pc.sum(by_deltalake).as_py() or 0)),
             (by_polars.len(), int(by_polars.sum())), (int(duck[0]), int(duck[1]))}
    assert len(views) == 1, f"readers disagree: {views}"
    return views.pop()


@pytest.mark.parametrize("mode", list(MODES))
def test_a_sigkill_anywhere_in_the_commit_leaves_the_version_before_or_after(tmp_path: Path, mode: str):
    root = tmp_path / "lake"
    store = DeltaStore(DeltaResource(local_path=str(root)))
    with stage(store, WriteMode("append"), rows(range(BASE_ROWS), 1), "base") as writer:
        writer.commit()
    uri = str(root / "shop" / "t")
    outcomes = set()
    for attempt, delay in enumerate((0.0, 0.02, 0.05, 0.1, 0.2, 0.4, 0.8)):
        before = DeltaTable(uri).version()
        log = tmp_path / f"child{attempt}.log"
        with open(log, "w") as errors, subprocess.Popen(
                [sys.executable, "-c", CHILD, str(root), mode, f"killed{attempt}"], stdout=subprocess.PIPE, stderr=errors, text=True,
                env={**os.environ, "PYTHONPATH": str(REPOSITORY)}) as child:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "committing", log.read_text()[-3000:]
            time.sleep(delay)
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=60)
        # Killed, or finished before the kill: a child that failed on its own tested nothing.
        assert child.returncode in (-signal.SIGKILL, 0), log.read_text()[-3000:]
        version = DeltaTable(uri).version()
        assert version in (before, before + 1)
        committed = version == before + 1
        assert committed or child.returncode != 0
        outcomes.add(committed)
        assert seen_by_every_reader(uri) == expected(mode, committed), f"attempt {attempt}, delay {delay}"
        if committed:  # back to the base rows, so every attempt starts from the same table
            with stage(store, WriteMode("replace"), rows(range(BASE_ROWS), 1), f"reset{attempt}") as writer:
                writer.commit()
    # The next load after the kills commits on top of what they left (locks and strays included).
    with stage(store, MODES[mode], load_rows(), "after") as writer:
        writer.commit()
    assert seen_by_every_reader(uri) == expected(mode, True)
    assert False in outcomes, "no kill landed before the commit finished: the test did not test a kill"


def test_two_writers_at_once_both_commit_or_one_conflicts_and_nothing_is_lost(tmp_path: Path):
    """Two writers' upserts (each its own store, staging and lock handle) committing at the same moment:
    the store's lock orders them on one host; each commit lands whole, together every row once."""
    root = tmp_path / "lake"
    store = DeltaStore(DeltaResource(local_path=str(root)))
    with stage(store, WriteMode("append"), rows(range(1000), 1), "base") as writer:
        writer.commit()
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def upsert(ids: range, token: str) -> None:
        try:
            with stage(DeltaStore(DeltaResource(local_path=str(root))), MODES["upsert"], rows(ids, 2), token) as writer:
                barrier.wait()
                writer.commit()
        except TableCommitConflict as error:  # a transient error: Dagster's retry loads it again
            errors.append(error)

    threads = [threading.Thread(target=upsert, args=(range(500, 800), "a")),
               threading.Thread(target=upsert, args=(range(800, 1300), "b"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, "one host's writers wait for each other's commit instead of conflicting"
    table = DeltaTable(str(root / "shop" / "t"))
    assert table.version() == 2
    ids = sorted(pl.read_delta(str(root / "shop" / "t"))["id"].to_list())
    assert ids == list(range(1300))
