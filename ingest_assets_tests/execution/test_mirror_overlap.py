"""Two loads of one mirrored table at once, and recovery from a journal whose staged files are gone.

The loads run through the real store API (`writer`, `prepare`, `complete`) in threads, on a local
landing zone (and the overlap and the lock's timeout on Blob storage too, in Azurite); the landing
zone is read back with the replayer. A load is held at a chosen point by a storage whose upload
waits (the second load's thread runs meanwhile): the same files and locks, only slower.

- A full_drop that starts while another one uploads, or while another one's journal is pending or
  being run, waits for it: both loads publish, one after the other, and the table is the second
  load's source. (Before the table lock, the second load's recovery deleted the first one's uploads;
  the first load's journal then deleted the table and failed at its first rename, for ever.)
- A journal that can never finish (its staged files gone, or a final name another writer took) runs
  no step at all: a load that adds rows fails with the table as it was, and a load that replaces the
  whole table (full_drop, rebuild) discards the journal and loads the table completely.
- A load that waits longer than the lock's timeout is refused, naming the table and the load that
  holds it; the lock file is gone once its holder releases it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from ingest_assets.connectors.open_mirroring import OpenMirroringResource
from ingest_assets.errors import PublishTargetTaken, StagedFileLost, TableLoadInProgress
from ingest_assets.storage.base import Storage
from ingest_assets.storage.journal import JournalFile
from ingest_assets.storage.local import LocalStorage
from ingest_assets.stores import staging
from ingest_assets.stores.base import CommitResult, QualityRequest, TableLayout, WriteMode
from ingest_assets.stores.open_mirroring import store as mirror_store
from ingest_assets.stores.open_mirroring.replay import replay_table
from ingest_assets.stores.open_mirroring.store import OpenMirroringStore, PreparedPublish
from ingest_assets_tests.execution.test_mirror_crashes import (
    FILE_ROWS,
    MIRROR,
    SCHEMA,
    TARGET,
    check_complete,
    journal_of,
    rows_of,
    snapshot,
    table_of,
)


@pytest.fixture(autouse=True)
def _small_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files of a few rows, so a load has several: set once per test, not per load (the loads of a
    test run in threads at once, and a context per thread could restore another's value)."""
    monkeypatch.setattr(staging, "FILE_ROWS", FILE_ROWS)
    monkeypatch.setattr(staging, "ROW_GROUP_ROWS", FILE_ROWS)


THREAD_SECONDS = 15  # no load of these tests takes longer; a hang fails the test instead


def source(version: str, ids: range) -> list[dict[str, object]]:
    return [{"id": i, "name": f"{version}{i}", "amount": i * 1.5, "tag": version} for i in ids]


INITIAL, FIRST, SECOND = source("v0-", range(1, 51)), source("a-", range(1, 61)), source("b-", range(5, 45))


def store_on(storage: Storage, wait_seconds: int = 0) -> OpenMirroringStore:
    resource = OpenMirroringResource(local_path=storage.describe() if isinstance(storage, LocalStorage) else None,
                                     mirror_name=MIRROR, folder_deletion_wait_seconds=wait_seconds)
    return OpenMirroringStore(resource, storage=storage)


def prepare(storage: Storage, rows: list[dict[str, object]], kind: str = "replace",
            wait_seconds: int = 0) -> tuple[OpenMirroringStore, PreparedPublish]:
    """A load's extract step: stage `rows` and pass the commit point (the journal is written)."""
    store = store_on(storage, wait_seconds)
    mode = WriteMode(kind, keys=("id",))  # type: ignore[arg-type]
    token = f"{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:12]}"
    with store.writer(TARGET, mode, TableLayout.new(SCHEMA), token, QualityRequest()) as writer:
        writer.write(pa.RecordBatch.from_pylist(rows, schema=SCHEMA))
        writer.finish_staging()
        writer.resolve_duplicate_keys()
        return store, writer.prepare()


def load(storage: Storage, rows: list[dict[str, object]], kind: str = "replace", wait_seconds: int = 0) -> CommitResult:
    """A whole load: the extract step, then the publish step."""
    store, prepared = prepare(storage, rows, kind, wait_seconds)
    return store.complete(prepared)


class HeldUploads:
    """A landing zone's storage whose `at`-th upload (1-based) first signals `reached`, then waits
    until `release` is set or `hold_seconds` pass; everything else (locks too) is the storage's own."""

    def __init__(self, inner: Storage, at: int, hold_seconds: float):
        self.inner, self.at, self.hold_seconds = inner, at, hold_seconds
        self.reached, self.release = threading.Event(), threading.Event()
        self._uploads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def upload(self, path: str, source: Path) -> None:
        self._uploads += 1
        if self._uploads == self.at:
            self.reached.set()
            self.release.wait(self.hold_seconds)
        self.inner.upload(path, source)


class WithoutLock:
    """A storage that cannot lock, as the DFS backend (ADLS Gen2, OneLake)."""

    def __init__(self, inner: Storage):
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        if name in ("try_lock", "lock_holder"):
            raise AttributeError(name)
        return getattr(self.inner, name)


def expect_table(storage: Storage, rows: list[dict[str, object]], where: str) -> None:
    """The replayed table is `rows`, and nothing of any load is left staged or pending."""
    check_complete(storage, MIRROR, sorted(rows, key=lambda row: row["id"]), where)  # type: ignore[arg-type, return-value]


def finished(future: Future[CommitResult], where: str) -> CommitResult:
    result = future.result(timeout=THREAD_SECONDS)
    assert result.files is not None and result.files.missing == () and result.files.sequence_gaps == (), (
        f"{where}: {result.files}")
    return result


@dataclass(frozen=True)
class Zone:
    """Where the landing zone is: `open()` gives each load a storage of its own on it."""

    open: Callable[[], Storage]


@pytest.fixture(params=["local", "blob"])
def zone(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Zone]:
    """A landing zone (local, or an Azurite container) holding the table's initial load."""
    if request.param == "local":
        (tmp_path / "onelake").mkdir()
        found = Zone(lambda: LocalStorage(tmp_path / "onelake"))
        load(found.open(), INITIAL)
        yield found
        return
    from ingest_assets.storage.azure import open_azure_storage

    azurite = request.getfixturevalue("azurite")
    container = azurite.create_container("overlap")
    found = Zone(lambda: open_azure_storage(azurite.location(container)))
    load(found.open(), INITIAL)
    yield found
    azurite.delete_container(container)


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    root = tmp_path / "onelake"
    root.mkdir()
    load(LocalStorage(root), INITIAL)
    return root


# ---- overlapping loads ----------------------------------------------------------------------------


def test_a_full_drop_that_starts_while_another_uploads_waits_for_it(zone: Zone) -> None:
    held = HeldUploads(zone.open(), at=2, hold_seconds=3)
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(lambda: load(held, FIRST))  # type: ignore[arg-type]
        assert held.reached.wait(THREAD_SECONDS), "the first load never uploaded"
        second = pool.submit(lambda: load(zone.open(), SECOND))
        # The second load must not get past the first one's uploads; before the table lock it went
        # on, deleted them as leftovers and published.
        time.sleep(0.5)
        held.release.set()
        finished(first, "the first load")
        finished(second, "the second load")
    expect_table(zone.open(), SECOND, "after both loads")


def test_a_full_drop_between_another_ones_prepare_and_publish_publishes_both(landing: Path) -> None:
    storage = LocalStorage(landing)
    first_store, first = prepare(storage, FIRST)
    # The second load's extract step finds the first one's journal and publishes it first.
    second_store, second = prepare(storage, SECOND)
    assert rows_of(replay_table(storage, table_of(MIRROR))) == FIRST
    finished_first = first_store.complete(first)  # its journal was run by the second load: accepted
    assert finished_first.files is not None and finished_first.files.missing == ()
    second_store.complete(second)
    expect_table(storage, SECOND, "after both publish steps")


class Recorded(LocalStorage):
    """The landing zone, noting which load renames what: `(label, source)` into `log`."""

    def __init__(self, root: Path, label: str, log: list[tuple[str, str]]):
        super().__init__(root)
        self.label, self.log = label, log

    def rename(self, source: str, target: str) -> None:
        self.log.append((self.label, source))
        super().rename(source, target)


def test_a_full_drop_that_starts_while_another_waits_for_fabric_waits_for_it(landing: Path) -> None:
    log: list[tuple[str, str]] = []
    first_store, first = prepare(Recorded(landing, "first", log), FIRST, wait_seconds=2)
    with ThreadPoolExecutor(max_workers=2) as pool:
        publishing = pool.submit(lambda: first_store.complete(first))
        time.sleep(0.5)  # the first publish step has deleted the table folder and waits
        second = pool.submit(lambda: load(Recorded(landing, "second", log), SECOND, wait_seconds=2))
        finished(publishing, "the first publish step")
        finished(second, "the second load")
    # The second load ran no step of the first one's journal while its publish step ran it (before the
    # lock it did, and the checkpoint of one runner wrote back a journal the other had finished).
    assert {label for label, source in log if f"/{first.load}/" in source} == {"first"}
    expect_table(LocalStorage(landing), SECOND, "after both loads")


def test_without_a_lock_as_on_dfs_the_overlap_fails_one_load_and_keeps_the_table(landing: Path) -> None:
    def unlocked() -> Storage:
        return WithoutLock(LocalStorage(landing))  # type: ignore[return-value]

    held = HeldUploads(unlocked(), at=2, hold_seconds=THREAD_SECONDS)
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(lambda: load(held, FIRST))  # type: ignore[arg-type]
        assert held.reached.wait(THREAD_SECONDS), "the first load never uploaded"
        finished(pool.submit(lambda: load(unlocked(), SECOND)), "the second load")  # removes the first's uploads
        held.release.set()
        with pytest.raises(StagedFileLost):  # before its first step
            first.result(timeout=THREAD_SECONDS)
    storage = LocalStorage(landing)
    assert rows_of(replay_table(storage, table_of(MIRROR))) == SECOND
    with pytest.raises(StagedFileLost):
        load(unlocked(), SECOND, kind="upsert")
    assert rows_of(replay_table(storage, table_of(MIRROR))) == SECOND
    load(unlocked(), FIRST)  # a full_drop discards the journal that cannot finish
    expect_table(storage, FIRST, "after the next full_drop")


# ---- a journal that can never finish ---------------------------------------------------------------


def lose_staged_files(storage: Storage, prepared: PreparedPublish) -> None:
    """Something other than the store removes a committed load's staged files."""
    storage.delete_folder(prepared.table.scratch)
    assert storage.exists(journal_of(MIRROR))


def take_a_final_name(storage: Storage, prepared: PreparedPublish) -> None:
    """Another writer publishes a file under a number a committed load's journal is to use."""
    storage.write_bytes(f"{prepared.table.folder}/{prepared.files[0].name}", b"another writer's file")


BREAKAGES = {"staged files lost": (lose_staged_files, StagedFileLost),
             "final name taken": (take_a_final_name, PublishTargetTaken)}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_a_load_refuses_a_journal_that_cannot_finish_and_keeps_the_table(landing: Path, breakage: str) -> None:
    storage = LocalStorage(landing)
    breaks, refusal = BREAKAGES[breakage]
    _, broken = prepare(storage, FIRST, kind="upsert")
    breaks(storage, broken)
    before = snapshot(storage, table_of(MIRROR))
    with pytest.raises(refusal, match="run with run config {rebuild: true}"):
        load(storage, SECOND, kind="upsert")
    assert snapshot(storage, table_of(MIRROR)) == before  # no step of the journal ran


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_a_rebuild_discards_a_journal_that_cannot_finish(landing: Path, breakage: str) -> None:
    storage = LocalStorage(landing)
    breaks, _ = BREAKAGES[breakage]
    _, broken = prepare(storage, FIRST, kind="upsert")
    breaks(storage, broken)
    finished_rebuild = load(storage, SECOND)  # rebuild and full_drop both replace the whole table
    assert finished_rebuild.files is not None and finished_rebuild.files.missing == ()
    expect_table(storage, SECOND, "after the rebuild")


def test_a_rebuild_recovers_a_table_a_broken_journal_left_empty(landing: Path) -> None:
    """The state the overlap left before the fix: the journal past its checkpoint (the table folder
    deleted and recreated), its staged files gone, the table empty; every run failed."""
    storage = LocalStorage(landing)
    _, lost = prepare(storage, FIRST)
    lose_staged_files(storage, lost)
    journal_file = JournalFile(storage, journal_of(MIRROR))
    journal = journal_file.pending()
    assert journal is not None
    journal.done = next(i for i, step in enumerate(journal.steps) if step.kind == "wait") + 1
    storage.write_bytes(journal_of(MIRROR), journal.to_json())
    storage.delete_folder(table_of(MIRROR))
    storage.write_bytes(f"{table_of(MIRROR)}/_metadata.json", b'{"keyColumns": ["id"]}')
    assert replay_table(storage, table_of(MIRROR)).num_rows == 0
    with pytest.raises(StagedFileLost):
        load(storage, SECOND, kind="upsert")
    load(storage, SECOND)
    expect_table(storage, SECOND, "after the rebuild")


# ---- the lock's timeout -----------------------------------------------------------------------------


def test_a_load_that_waits_too_long_is_refused_naming_the_table_and_the_holder(
        zone: Zone, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mirror_store, "LOCK_WAIT_SECONDS", 0.5)
    storage = zone.open()
    store = store_on(storage)
    table = store.table(TARGET)
    with store.locked(table, "b01a8d8d-fdf1bb7954fa", "publishing"):
        started = time.monotonic()
        with pytest.raises(TableLoadInProgress) as refused:
            prepare(zone.open(), SECOND)
        assert time.monotonic() - started >= 0.5
    message = str(refused.value)
    assert message.startswith("customers: another load of this table (load b01a8d8d-fdf1bb7954fa publishing, on ")
    assert f"held its lock {storage.describe(table.lock)} for 0s" in message and "retrying later" in message
    assert not storage.exists(table.lock)  # released: no lock file is left for Fabric or a reader to see
    load(zone.open(), SECOND)  # the lock is free again
    expect_table(storage, SECOND, "after the lock was released")


def test_a_lock_whose_holder_died_is_taken_at_once(zone: Zone, monkeypatch: pytest.MonkeyPatch) -> None:
    """A killed holder's lock: an flock ends with its process; a Blob lease would hold the table until
    it lapses (60 s), so a waiter on the holder's host breaks it when the recorded process is gone."""
    import dataclasses
    import subprocess
    import sys

    from ingest_assets.storage import locks
    from ingest_assets.storage.processes import Process

    monkeypatch.setattr(mirror_store, "LOCK_WAIT_SECONDS", 0.0)  # only the table's own folder wait
    dead_child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                                text=True, check=True)
    dead = dataclasses.replace(Process.this_process(), pid=int(dead_child.stdout), started="1")
    storage = zone.open()
    table = store_on(storage).table(TARGET)
    storage.write_bytes(table.lock, f"{dead.tag()}\nload 0123abcd-000000000000 uploading".encode())
    if not isinstance(storage, LocalStorage):  # the dead holder's lease, never renewed nor released
        from azure.storage.blob import BlobLeaseClient

        BlobLeaseClient(storage._container.get_blob_client(table.lock)).acquire(lease_duration=60)

    started = time.monotonic()
    with locks.hold(storage, table.lock, locks.holder("load b01a8d8d-000000000000 uploading"), 5.0, table.name):
        assert "load b01a8d8d-000000000000 uploading" in storage.lock_holder(table.lock)  # type: ignore[attr-defined]
    assert time.monotonic() - started < 5.0
    load(zone.open(), SECOND)
    expect_table(storage, SECOND, "after the dead holder's lock was taken")
