"""Crash safety of the open_mirroring publish: the process is killed at every mutating storage
operation of a load, and the landing zone it leaves behind must never show a sequence gap, a reused
sequence number or a partial file under a final name; the next run must complete the table.

How: a load runs in a subprocess (`_main`) over `CrashingStorage`, which counts the mutating calls
(upload, write_bytes, rename, delete, delete_folder, make_folder) and at call N exits with
`os._exit(137)` (no cleanup, no `finally`, like SIGKILL). A crash at an upload or write_bytes of a
new file first leaves HALF of its bytes at the target name (a torn upload, as a non-atomic backend
would); the wrapper asserts that such a target is a staged name (`_`-prefixed, or under
`_scratchPad/`), which is all the store ever uploads to. An overwrite of an existing file (the
journal's checkpoint) is not torn: every backend replaces a file atomically (local: temporary +
os.replace; Blob: one put; DFS: temporary + rename), and the Storage protocol promises it. Some
crash points also tear a rename: the target is written as a full copy and the source is kept, as a
Blob copy-then-delete rename stopped between the two.

The scenario, on one table `customers` (key `id`), files of 10 rows so a load has several files:
1. initial: a replace into an empty landing zone (50 rows, 5 files);
2. merge with delete_missing (updates, inserts and 4 deletes: only the changed rows, in one file, and a
   delete file);
3. rebuild: a replace of the existing table (full_drop: delete the folder, wait 0 s, recreate);
4. upsert (updates and inserts, 3 files).
Every load is first run once without a crash to count its operations K (that run also gives the
state the next load starts from); then the load is crashed at points N in 1..K, each on its own copy
of the state before it (another mirror name): every operation except the middle ones of a run of
uploads or of data renames (at least 40 points in all, 20 of them after the commit point). A short version
runs the replace of an existing table on Blob storage (Azurite), where a rename is copy + delete.
Not covered: a kill inside one storage call beyond the simulated torn upload and torn rename. The
two such cases this test once found are fixed in the store: LocalStorage's temporary files are
`_`-prefixed and removed by the next run, and a replace deletes the old data files one by one, newest
first, before the folder (so a kill half-way leaves a shorter sequence, not a gap).

What is allowed after a crash (`check_crashed_zone`):
- No journal (`_scratchPad/ingest_assets/customers.journal.json`) left: the load never reached its
  commit point, so everything Fabric can see (all but `_scratchPad/` and staged `_<20 digits>.parquet`
  files) is byte for byte what it was before the load.
- A journal left: the load is committed and partly published. Every file under a 20-digit name is a
  complete Parquet file with rows, the numbers run 1..n with no gap and no duplicate, and:
  * a load into an existing folder (merge, upsert, and the first load whose folder starts empty):
    the numbers are the ones from before, unchanged in content, followed by the first j of this
    load's files (0 <= j <= its file count), because the journal renames them in sequence order;
  * a replace of an existing table: the old data files are deleted newest first, then the folder,
    which is recreated, so the numbers are either the old ones with the old bytes (all of them if the
    crash came before the deletes, 1..k during them), or 1..j of the new load (0 <= j <= its file count), holding only rows of the new load. Nothing in between: a
    mix of old and new numbers would be a reused number.
  * `_metadata.json` (valid, keyColumns ["id"]) is there whenever any data file is, and what is
    visible replays without an error.
Then (a) on a copy, only `store.recover(...)` (what opening a writer does first) must publish the
crashed load completely: the journal is the commit point; (b) the next run (the same load again, as
Dagster re-runs it when the cursor was not committed) must leave exactly the load's expected table.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingest_assets.connectors.open_mirroring import OpenMirroringResource
from ingest_assets.plan.model import WriteSpec
from ingest_assets.storage.base import Entry, Storage, join
from ingest_assets.storage.local import LocalStorage
from ingest_assets.stores import staging
from ingest_assets.stores.base import CommitResult, QualityRequest, TableLayout, WriteMode
from ingest_assets.stores.open_mirroring.layout import (
    METADATA_FILE,
    PARTNER_EVENTS_FILE,
    ROW_MARKER,
    RowMarker,
    sequence_number,
)
from ingest_assets.stores.open_mirroring.options import MirroredTableOptions
from ingest_assets.stores.open_mirroring.replay import data_files, replay_table
from ingest_assets.stores.open_mirroring.store import OpenMirroringStore

REPOSITORY = Path(__file__).resolve().parents[2]
CRASH_EXIT = 137
MUTATING = ("upload", "write_bytes", "rename", "delete", "delete_folder", "make_folder")
FILE_ROWS = 10  # rows per staged file (and row group): a load of 50 rows is 5 files
MIRROR = "mirror"
TARGET = WriteSpec(table="customers", store_options=MirroredTableOptions(key_columns=("id",)))
SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string()), ("amount", pa.float64()), ("tag", pa.string())])
_STAGED_DATA = re.compile(r"^_\d{20}\.parquet$")
SUBPROCESS_SECONDS = 60


def zone_of(mirror: str) -> str:
    return f"{mirror}.MountedRelationalDatabase/Files/LandingZone"


def table_of(mirror: str) -> str:
    return f"{zone_of(mirror)}/customers"


def journal_of(mirror: str) -> str:
    return f"{zone_of(mirror)}/_scratchPad/ingest_assets/customers.journal.json"


# ---- the scenario -------------------------------------------------------------------------------


def _row(i: int, name: str, amount: float, tag: str | None) -> dict[str, object]:
    return {"id": i, "name": name, "amount": amount, "tag": tag}


@dataclass(frozen=True)
class Load:
    name: str
    kind: str
    rows: tuple[dict[str, object], ...] = field(repr=False)
    delete_missing: bool = False


LOADS = {load.name: load for load in (
    Load("initial", "replace", tuple(_row(i, f"n{i}", i * 1.5, "a" if i % 3 else None) for i in range(1, 51))),
    # 3, 17, 40 and 41 leave the snapshot (deletes), every fifth row changes, 51..58 are new.
    Load("merge", "merge", tuple(
        _row(i, f"m{i}" if i % 5 == 0 else f"n{i}", i * 1.5, "a" if i % 3 else None)
        for i in range(1, 59) if i not in (3, 17, 40, 41)
    ), delete_missing=True),
    Load("rebuild", "replace", tuple(_row(i, f"r{i}", i * 2.0, "r") for i in range(5, 50))),
    Load("upsert", "upsert", tuple(_row(i, f"u{i}", -float(i), None) for i in range(40, 65))),
)}
SCENARIO = ("initial", "merge", "rebuild", "upsert")


def apply_load(rows: list[dict[str, object]], load_name: str) -> list[dict[str, object]]:
    """The table after `load_name` applies to a table of `rows`, sorted by id."""
    load = LOADS[load_name]
    table = {} if load.kind == "replace" or load.delete_missing else {row["id"]: row for row in rows}
    table.update({row["id"]: row for row in load.rows})
    return sorted(table.values(), key=lambda row: row["id"])  # type: ignore[arg-type, return-value]


def scenario_table(load_name: str) -> list[dict[str, object]]:
    """The table after the scenario's loads up to `load_name`."""
    rows: list[dict[str, object]] = []
    for name in SCENARIO[: SCENARIO.index(load_name) + 1]:
        rows = apply_load(rows, name)
    return rows


# ---- running one load -----------------------------------------------------------------------------


@contextmanager
def small_files() -> Iterator[None]:
    saved = staging.FILE_ROWS, staging.ROW_GROUP_ROWS
    staging.FILE_ROWS = staging.ROW_GROUP_ROWS = FILE_ROWS
    try:
        yield
    finally:
        staging.FILE_ROWS, staging.ROW_GROUP_ROWS = saved


def mirror_store(storage: Storage, mirror: str = MIRROR) -> OpenMirroringStore:
    resource = OpenMirroringResource(local_path=storage.describe() if isinstance(storage, LocalStorage) else None,
                                     mirror_name=mirror, folder_deletion_wait_seconds=0)
    return OpenMirroringStore(resource, storage=storage)


def run_load(storage: Storage, load_name: str, mirror: str = MIRROR) -> CommitResult:
    """One load of the scenario through the store API, as the asset's run does it (a new run token)."""
    load = LOADS[load_name]
    store = mirror_store(storage, mirror)
    mode = WriteMode(load.kind, keys=("id",), delete_missing=load.delete_missing)  # type: ignore[arg-type]
    token = f"{load.name}-{uuid.uuid4().hex[:12]}"
    source = pa.Table.from_pylist(list(load.rows), schema=SCHEMA)
    with small_files(), store.writer(TARGET, mode, TableLayout.new(SCHEMA), token, QualityRequest()) as writer:
        for batch in source.to_batches(max_chunksize=FILE_ROWS):
            writer.write(batch)
        writer.finish_staging()
        writer.resolve_duplicate_keys()
        return writer.commit()


def is_staged_name(path: str) -> bool:
    """A name Fabric ignores: the file's name starts with `_`, or it is below `_scratchPad/`."""
    return path.rsplit("/", 1)[-1].startswith("_") or "/_scratchPad/" in f"/{path}"


class CrashingStorage:
    """A Storage that counts mutating calls and kills the process at call `crash_at` (1-based)."""

    def __init__(self, inner: Storage, crash_at: int | None = None, tear_rename: bool = False,
                 report: Path | None = None):
        self.inner = inner
        self.crash_at = crash_at
        self.tear_rename = tear_rename
        self.report = report
        self.ops: list[dict[str, str]] = []

    # -- reads pass through
    def describe(self, path: str = "") -> str:
        return self.inner.describe(path)

    def list(self, folder: str) -> list[Entry]:
        return self.inner.list(folder)

    def exists(self, path: str) -> bool:
        return self.inner.exists(path)

    def read_bytes(self, path: str) -> bytes:
        return self.inner.read_bytes(path)

    def download(self, path: str, target: Path) -> None:
        self.inner.download(path, target)

    # -- mutations are counted, and the one at `crash_at` kills the process
    def write_bytes(self, path: str, data: bytes) -> None:
        self._operation("write_bytes", path, data=data)
        self.inner.write_bytes(path, data)

    def upload(self, path: str, source: Path) -> None:
        self._operation("upload", path, data=source.read_bytes())
        self.inner.upload(path, source)

    def rename(self, source: str, target: str) -> None:
        self._operation("rename", source, target)
        self.inner.rename(source, target)

    def delete(self, path: str) -> None:
        self._operation("delete", path)
        self.inner.delete(path)

    def delete_folder(self, folder: str) -> None:
        self._operation("delete_folder", folder)
        self.inner.delete_folder(folder)

    def make_folder(self, folder: str) -> None:
        self._operation("make_folder", folder)
        self.inner.make_folder(folder)

    def _operation(self, kind: str, path: str, target: str = "", data: bytes | None = None) -> None:
        self.ops.append({"kind": kind, "path": path, "target": target})
        if len(self.ops) != self.crash_at:
            return
        torn = ""
        if kind in ("upload", "write_bytes") and not self.inner.exists(path):
            assert data is not None
            # The store must only ever upload to names Fabric ignores; only there can a torn upload be.
            assert is_staged_name(path), f"{kind} to a name Fabric reads: {path}"
            self.inner.write_bytes(path, data[: len(data) // 2])
            torn = path
        elif kind == "rename" and self.tear_rename and not self.inner.exists(target):
            # A copy-then-delete rename (Blob) stopped between the two: both names hold the file.
            self.inner.write_bytes(target, self.inner.read_bytes(path))
            torn = target
        if self.report is not None:
            self.report.write_text(json.dumps({"crashed_at": len(self.ops), "kind": kind, "path": path,
                                               "target": target, "torn": torn}))
        sys.stdout.flush()
        os._exit(CRASH_EXIT)


def open_backend(spec: dict[str, object]) -> Storage:
    if "local" in spec:
        return LocalStorage(Path(str(spec["local"])))
    from ingest_assets.storage.azure import AzureLocation, open_azure_storage

    return open_azure_storage(AzureLocation(**spec["azure"]))  # type: ignore[arg-type]


def _main() -> None:
    """The subprocess: `python -c '...; _main()' <config.json>`: one load, killed at `crash_at`."""
    config = json.loads(Path(sys.argv[1]).read_text())
    report = Path(config["report"])
    storage = CrashingStorage(open_backend(config["backend"]), config["crash_at"], config["tear_rename"], report)
    run_load(storage, config["load"], config["mirror"])  # type: ignore[arg-type]
    report.write_text(json.dumps({"crashed_at": None, "ops": storage.ops}))


@dataclass(frozen=True)
class CrashPoint:
    load: str
    at: int
    tear_rename: bool = False

    @property
    def label(self) -> str:
        return f"{self.load}@{self.at}{'/torn-rename' if self.tear_rename else ''}"


def crash_in_subprocess(point: CrashPoint, backend: dict[str, object], mirror: str, work: Path) -> dict[str, str]:
    """Run the load in a new process killed at the point; the crash report (what it was doing)."""
    work.mkdir(parents=True, exist_ok=True)
    config, report = work / "config.json", work / "report.json"
    config.write_text(json.dumps({"backend": backend, "load": point.load, "crash_at": point.at,
                                  "tear_rename": point.tear_rename, "mirror": mirror, "report": str(report)}))
    result = subprocess.run(
        [sys.executable, "-c", "from ingest_assets_tests.execution.test_mirror_crashes import _main; _main()", str(config)],
        cwd=REPOSITORY, capture_output=True, text=True, timeout=SUBPROCESS_SECONDS,
    )
    assert result.returncode == CRASH_EXIT, (
        f"{point.label}: the load was to be killed (exit {CRASH_EXIT}), it exited {result.returncode}\n"
        f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return json.loads(report.read_text())


# ---- looking at a landing zone ----------------------------------------------------------------------


def snapshot(storage: Storage, folder: str) -> dict[str, bytes]:
    """Every file below `folder` (relative path -> bytes)."""
    files: dict[str, bytes] = {}
    pending = [""]
    while pending:
        relative = pending.pop()
        for entry in storage.list(join(folder, relative)):
            child = join(relative, entry.name)
            if entry.is_folder:
                pending.append(child)
            else:
                files[child] = storage.read_bytes(join(folder, child))
    return files


def visible(files: dict[str, bytes]) -> dict[str, bytes]:
    """What a reader of the landing zone acts on: all but `_scratchPad/` and staged data files."""
    return {path: data for path, data in files.items()
            if not path.startswith("_scratchPad/") and not _STAGED_DATA.match(path.rsplit("/", 1)[-1])}


def numbered(files: dict[str, bytes]) -> dict[int, bytes]:
    """The table folder's files under final 20-digit names (`files` relative to the table folder)."""
    found: dict[int, bytes] = {}
    for path, data in files.items():
        number = sequence_number(path.rsplit("/", 1)[-1])
        if number is not None:
            assert number not in found, f"sequence number {number} appears twice"
            found[number] = data
    return found


def parquet_rows(data: bytes) -> list[dict[str, object]]:
    table = pq.read_table(pa.BufferReader(data))
    return table.to_pylist()


def rows_of(table: pa.Table) -> list[dict[str, object]]:
    return sorted(table.to_pylist(), key=lambda row: row["id"])  # type: ignore[arg-type, return-value]


def under(files: dict[str, bytes], prefix: str) -> dict[str, bytes]:
    return {path[len(prefix) + 1:]: data for path, data in files.items() if path.startswith(prefix + "/")}


def check_crashed_zone(storage: Storage, mirror: str, point: CrashPoint, report: dict[str, str],
                       before: dict[str, bytes], before_rows: list[dict[str, object]], new_files: int) -> bool:
    """The invariants of a landing zone left by a killed load (see the module notes); committed?"""
    zone, where = zone_of(mirror), point.label
    table_prefix = "customers"
    after = snapshot(storage, zone)
    committed = storage.exists(journal_of(mirror))
    torn = report["torn"]
    if torn:
        assert is_staged_name(torn) or report["kind"] == "rename", f"{where}: torn {torn}"

    old = numbered(under(before, table_prefix))
    new = numbered(under(after, table_prefix))
    numbers = sorted(new)
    # Every file under a final name is complete Parquet with rows (the scenario never publishes an empty file).
    for number, data in new.items():
        try:
            rows = parquet_rows(data)
        except pa.ArrowException as error:
            raise AssertionError(f"{where}: file {number} is not complete Parquet: {error}") from error
        assert rows, f"{where}: file {number} has no rows"
    # No gap, no duplicate, starts at 1; and no file Fabric would misread in the table folder.
    assert [f.number for f in data_files(storage, table_of(mirror))] == numbers
    assert numbers == list(range(1, len(numbers) + 1)), f"{where}: sequence {numbers}"

    if not committed:
        # Before the commit point nothing a reader sees may change.
        assert visible(after) == visible(before), (
            f"{where}: no journal, yet the visible landing zone changed: "
            f"{sorted(set(visible(after).items()) ^ set(visible(before).items()))}"
        )
    else:
        load = LOADS[point.load]
        source_rows = {json.dumps(row, sort_keys=True) for row in load.rows}
        if load.kind == "replace" and old and new == old:
            # The crash came before the table folder was deleted: it is the old table, untouched.
            assert visible(under(after, table_prefix)) == visible(under(before, table_prefix)), where
        elif load.kind == "replace" and old and new and set(new) < set(old) and all(new[n] == old[n] for n in new):
            # The crash came while the old files were deleted, newest first: a shorter old sequence
            # 1..k with the old bytes, never a gap (checked above).
            assert sorted(new) == list(range(1, len(new) + 1)), f"{where}: {sorted(new)}"
        else:
            first = 1 if load.kind == "replace" else len(old) + 1
            if load.kind != "replace":
                assert {n: new[n] for n in old} == old, f"{where}: published files changed"
            added = [n for n in numbers if n >= first]
            assert added == list(range(first, first + len(added))) and len(added) <= new_files, (
                f"{where}: old {sorted(old)}, now {numbers}, the load has {new_files} files"
            )
            if load.kind == "replace":
                assert numbers == added, f"{where}: old and new numbers mixed after a replace: {numbers}"
            for number in added:
                for row in parquet_rows(new[number]):
                    if row.pop(ROW_MARKER, None) == RowMarker.DELETE:
                        continue
                    assert json.dumps(row, sort_keys=True) in source_rows, f"{where}: file {number} has {row}"
    metadata = after.get(f"{table_prefix}/{METADATA_FILE}")
    if new:
        assert metadata is not None, f"{where}: data files without {METADATA_FILE}"
        assert json.loads(metadata)["keyColumns"] == ["id"]
    partner = after.get(PARTNER_EVENTS_FILE)
    if partner is not None and join(zone, PARTNER_EVENTS_FILE) != torn:
        json.loads(partner)
    if new:
        # What is visible must be applicable (an intermediate table of a partly published load is fine).
        shown = rows_of(replay_table(storage, table_of(mirror)))
        if not committed:
            assert shown == before_rows, f"{where}: the table changed before the commit point"
    return committed


def check_complete(storage: Storage, mirror: str, expected: list[dict[str, object]], where: str) -> None:
    """The load is published: the expected table, a gap-free sequence, no journal, nothing staged left."""
    assert rows_of(replay_table(storage, table_of(mirror))) == expected, where
    assert not storage.exists(journal_of(mirror)), f"{where}: journal left"
    leftovers = [e.name for e in storage.list(table_of(mirror)) if _STAGED_DATA.match(e.name)]
    assert leftovers == [], f"{where}: staged files left: {leftovers}"
    # (An emptied folder may stay on disk until the next writer opens: only files count.)
    scratch = snapshot(storage, f"{zone_of(mirror)}/_scratchPad/ingest_assets/customers")
    assert scratch == {}, f"{where}: staged files left in the scratch pad: {sorted(scratch)}"


def check_result(result: CommitResult, where: str) -> None:
    assert result.files is not None
    assert result.files.missing == () and result.files.sequence_gaps == (), f"{where}: {result.files}"


# ---- crashing every load of the scenario ----------------------------------------------------------


def crash_points(load: str, operations: list[dict[str, str]]) -> list[CrashPoint]:
    """Where to kill a load: every operation except the middle ones of a run of like uploads or data
    renames (the first and last of each run stand for them), and the commit rename and the middle data
    rename once more with the rename torn."""
    uploads = [n for n, op in enumerate(operations, start=1) if op["kind"] == "upload"]
    renames = [n for n, op in enumerate(operations, start=1)
               if op["kind"] == "rename" and sequence_number(op["target"].rsplit("/", 1)[-1]) is not None]
    thinned = set(uploads[1:-1]) | set(renames[1:-1])
    points = [CrashPoint(load, n) for n in range(1, len(operations) + 1) if n not in thinned]
    commit = next(n for n, op in enumerate(operations, start=1)
                  if op["kind"] == "rename" and op["target"].endswith(".journal.json"))
    points += [CrashPoint(load, commit, tear_rename=True), CrashPoint(load, renames[len(renames) // 2], True)]
    return points


def copy_zone(storage: Storage, files: dict[str, bytes], mirror: str) -> None:
    for path, data in files.items():
        storage.write_bytes(join(zone_of(mirror), path), data)


@dataclass
class Coverage:
    points: list[str] = field(default_factory=list)
    after_commit: int = 0  # crash points that left a journal (recovery alone must publish the load)
    torn: int = 0  # crash points that left a torn upload or a half-done rename


def crash_load(storage: Storage, backend: dict[str, object], spare: Storage, work: Path, load_name: str,
               mirror: str, choose, coverage: Coverage) -> None:
    """Run `load_name` cleanly on `mirror` (leaving its result there for the next load), then kill it
    at the chosen points, each on its own copy of the zone as it was before (another mirror name), and
    check each. `spare` is a second, empty storage: a crashed zone is copied there under the same
    mirror name (the journal holds full paths) to prove that recovery alone publishes the load."""
    before = snapshot(storage, zone_of(mirror))
    before_rows = rows_of(replay_table(storage, table_of(mirror))) if numbered(under(before, "customers")) else []
    expected = apply_load(before_rows, load_name)
    counting = CrashingStorage(storage)
    result = run_load(counting, load_name, mirror)
    check_result(result, f"{load_name} clean")
    check_complete(storage, mirror, expected, f"{load_name} clean")
    assert result.files is not None
    new_files = len(result.files.names)
    operations = counting.ops
    assert operations and all(op["kind"] in MUTATING for op in operations)
    points: list[CrashPoint] = choose(load_name, operations)

    mirrors = {point: f"{mirror}-{load_name}-{index}" for index, point in enumerate(points)}
    for point in points:
        copy_zone(storage, before, mirrors[point])
    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(
            lambda point: crash_in_subprocess(point, backend, mirrors[point], work / mirrors[point]), points))

    for point, report in zip(points, reports, strict=False):
        crashed = mirrors[point]
        assert report["crashed_at"] == point.at
        op = operations[point.at - 1]
        assert report["kind"] == op["kind"], f"{point.label}: the crash run did {report}, the clean run {op}"
        coverage.torn += bool(report["torn"])
        if check_crashed_zone(storage, crashed, point, report, before, before_rows, new_files):
            # The journal is the commit point: recovery alone (opening a writer) publishes the load.
            copy_zone(spare, snapshot(storage, zone_of(crashed)), crashed)
            store = mirror_store(spare, crashed)
            assert store.recover(store.table(TARGET)) is not None, point.label
            check_complete(spare, crashed, expected, f"{point.label} recovered")
            coverage.after_commit += 1
        # The next run: the same load again (its cursor was never committed).
        check_result(run_load(storage, load_name, crashed), f"{point.label} next run")
        check_complete(storage, crashed, expected, f"{point.label} next run")
        coverage.points.append(point.label)


def test_killing_a_publish_anywhere_never_breaks_the_landing_zone(tmp_path: Path) -> None:
    started = time.monotonic()
    (tmp_path / "storage").mkdir()
    (tmp_path / "spare").mkdir()
    storage, spare = LocalStorage(tmp_path / "storage"), LocalStorage(tmp_path / "spare")
    coverage = Coverage()
    for load_name in SCENARIO:
        crash_load(storage, {"local": str(tmp_path / "storage")}, spare, tmp_path / "runs", load_name, MIRROR,
                   crash_points, coverage)
        assert rows_of(replay_table(storage, table_of(MIRROR))) == scenario_table(load_name)
    print(f"\nlocal: {len(coverage.points)} crash points ({coverage.after_commit} after the commit point, "
          f"{coverage.torn} torn) in {time.monotonic() - started:.1f} s: {', '.join(coverage.points)}")
    assert len(coverage.points) >= 40 and coverage.after_commit >= 20 and coverage.torn >= 15


# ---- a short version on Blob storage (Azurite) ------------------------------------------------------


def blob_points(load: str, operations: list[dict[str, str]]) -> list[CrashPoint]:
    """A replace of an existing table on Blob, where a rename is copy + delete and a folder is blobs."""
    def first(kind: str, test=lambda op: True) -> int:
        return next(n for n, op in enumerate(operations, start=1) if op["kind"] == kind and test(op))

    renames = [n for n, op in enumerate(operations, start=1)
               if op["kind"] == "rename" and sequence_number(op["target"].rsplit("/", 1)[-1]) is not None]
    commit = first("rename", lambda op: op["target"].endswith(".journal.json"))
    return [
        CrashPoint(load, first("upload")),  # torn upload of a staged file
        CrashPoint(load, commit),
        CrashPoint(load, commit, tear_rename=True),  # the journal copied, its temporary not yet deleted
        CrashPoint(load, first("delete_folder", lambda op: op["path"].endswith("/customers")
                               and "/_scratchPad/" not in op["path"])),  # the table folder
        CrashPoint(load, first("write_bytes", lambda op: op["path"].endswith(".journal.json"))),  # checkpoint
        CrashPoint(load, first("write_bytes", lambda op: op["path"].endswith(METADATA_FILE))),  # torn
        CrashPoint(load, renames[len(renames) // 2], tear_rename=True),
        CrashPoint(load, first("rename", lambda op: "_ingest_keys-" in op["target"])),
        CrashPoint(load, len(operations)),  # the journal's own delete
    ]


def test_killing_a_replace_on_blob_storage_never_breaks_the_landing_zone(azurite, tmp_path: Path) -> None:
    from ingest_assets.storage.azure import open_azure_storage

    started = time.monotonic()
    containers = [azurite.create_container("crash"), azurite.create_container("spare")]
    try:
        location = azurite.location(containers[0])
        storage, spare = open_azure_storage(location), open_azure_storage(azurite.location(containers[1]))
        check_result(run_load(storage, "initial"), "initial on blob")
        check_complete(storage, MIRROR, scenario_table("initial"), "initial on blob")
        coverage = Coverage()
        crash_load(storage, {"azure": dataclasses.asdict(location)}, spare, tmp_path, "rebuild", MIRROR,
                   blob_points, coverage)
    finally:
        for container in containers:
            azurite.delete_container(container)
    print(f"\nblob: {len(coverage.points)} crash points ({coverage.after_commit} after the commit point, "
          f"{coverage.torn} torn) in {time.monotonic() - started:.1f} s: {', '.join(coverage.points)}")
    assert len(coverage.points) >= 5 and coverage.after_commit >= 5 and coverage.torn >= 3
