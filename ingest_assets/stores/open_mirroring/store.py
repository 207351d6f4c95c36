"""The `open_mirroring` store: a Fabric mirrored database's landing zone, written to the contract.

A load is staged locally as Parquet (with `__rowMarker__` last), then published in two phases:

1. `prepare` (the extract step): uploads the files where Fabric never looks (the load's own folder
   in `_scratchPad/`), fixes their sequence numbers from what is in the folder, and writes the
   publish journal: the commit point.
2. `complete` (the publish step): runs the journal (renames to the final 20-digit names; for a
   replace first deletes the table folder and waits for Fabric to drop the table) and checks that
   every file is there with its size.

Whoever finds a journal finishes it, so a crash anywhere leaves either nothing published or a load
that the next run completes: never a gap, a reused number, or a partial file under a final name.

One load of a table at a time: opening a writer (which recovers), `prepare` and `complete` each hold
the table's lock (`_scratchPad/ingest_assets/<table>.lock`, see `storage.locks`), and each finishes
a pending journal of another load before its own work. The two steps of a load may run in different
processes, so no lock spans them; between them the pending journal stands for the load. So a load
that starts while another one uploads or publishes waits for it; one that starts between another's
two steps publishes that one first, whose publish step then accepts it and verifies its files. A
journal that can never finish (its staged files were removed by something else, or another writer
took a final name) runs no step: a load that replaces the whole table (full_drop, rebuild) discards
it and publishes the table anew, any other load fails (`StagedFileLost`, `PublishTargetTaken`).
The DFS backend (ADLS Gen2, OneLake) has no lock, so there the loads are not serialized: a load that
starts while another uploads removes that one's uploads (leftovers, as far as it can tell), and that
one then fails before its first step, the table as the other load left it; a concurrent runner of
a journal stops once the other has finished it.

Row markers: a first load (or a replace) is published without markers, so every row is an insert;
later loads mark rows as upserts (merge, upsert) or inserts (append), or take each row's marker from
the entity's `row_marker_column`. A merge with `delete_missing` adds delete rows for keys that left
the snapshot (see `snapshots.py`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from ingest_assets.connectors.azure_storage import StorageBacked
from ingest_assets.errors import KeySnapshotMissing, PartitionReplaceUnsupported
from ingest_assets.plan.model import WriteSpec
from ingest_assets.storage import locks
from ingest_assets.storage.base import join
from ingest_assets.storage.journal import Journal, JournalFile, Step, StepHook
from ingest_assets.stores.abandoned import Abandoned, owned_temporary_folder, remove_abandoned_temporary
from ingest_assets.stores.base import (
    CommitResult,
    FilesPublished,
    KeepsNoLoadRecord,
    LoadRecord,
    QualityRequest,
    TableLayout,
    WriteMode,
)
from ingest_assets.stores.open_mirroring import markers, snapshots
from ingest_assets.stores.open_mirroring.layout import (
    METADATA_FILE,
    PARTNER_EVENTS_FILE,
    PROCESSED_FOLDERS,
    ROW_MARKER,
    SCRATCH_PAD,
    RowMarker,
    TableMetadata,
    landing_zone,
    partner_events,
    sequence_name,
    table_folder,
)
from ingest_assets.stores.open_mirroring.options import MirroredTableOptions
from ingest_assets.stores.open_mirroring.pickup import Pickup, pickup
from ingest_assets.stores.open_mirroring.sequence import missing_numbers, next_number, published_numbers
from ingest_assets.stores.schema_decision import SchemaDecision
from ingest_assets.stores.staged_writer import StagedWriter
from ingest_assets.stores.staging import ParquetStage, parquet_rows

if TYPE_CHECKING:
    from ingest_assets.connectors.open_mirroring import OpenMirroringResource

TEMPORARY_PREFIX = "ingest-mirror-"  # a load's staged files before their upload
# Uploads that never reached a journal (where loads staged them before), and temporary files of
# writes a crash interrupted.
_LEFTOVER = re.compile(r"^_(\d{20}\.parquet|.*\.tmp)$")
# How long a load waits for the table's lock beyond the table's folder wait (another load uploads,
# or publishes and waits for Fabric); then it fails with `TableLoadInProgress`, which is retried.
LOCK_WAIT_SECONDS = 900.0


@dataclass(frozen=True)
class MirrorTable:
    name: str  # "Table" or "Schema.Table", for messages
    folder: str
    scratch: str  # this table's staging folder in _scratchPad
    journal: str
    zone: str
    lock: str
    lock_seconds: float  # how long a load waits for the lock


@dataclass(frozen=True)
class StagedFile:
    name: str  # the final 20-digit name
    size: int
    rows: int


@dataclass(frozen=True)
class PreparedPublish:
    """A load whose journal is written: all the publish step needs (it may run in another process)."""

    table: MirrorTable
    load: str
    files: tuple[StagedFile, ...]
    rows_written: int
    rows_deleted: int
    rows_unchanged: int  # rows of a snapshot equal to the last one's: staged, not published again
    replaces: bool
    location: str


def options(target: WriteSpec) -> MirroredTableOptions:
    """The target's mirrored-table options (the plan sets them for every open_mirroring entity)."""
    return target.store_options if isinstance(target.store_options, MirroredTableOptions) else MirroredTableOptions()


class OpenMirroringStore(StorageBacked, KeepsNoLoadRecord):
    """A `PublishingStore[PreparedPublish]` (see `stores.base`): its writer prepares, `complete` publishes."""

    _resource: OpenMirroringResource

    def table(self, target: WriteSpec) -> MirrorTable:
        assert target.table is not None
        schema = options(target).schema or self._resource.schema_name
        zone = landing_zone(self._resource.mirror_name)
        name = f"{schema}.{target.table}" if schema else target.table
        scratch = join(zone, SCRATCH_PAD, "ingest_assets", name)
        return MirrorTable(name, table_folder(zone, target.table, schema), scratch, f"{scratch}.journal.json", zone,
                           f"{scratch}.lock", self.wait_seconds(target) + LOCK_WAIT_SECONDS)

    def describe(self, target: WriteSpec) -> str:
        return self.storage.describe(self.table(target).folder)

    def pickup(self, target: WriteSpec, published: Sequence[str]) -> Pickup:
        """Which of a load's published files Fabric has applied (see `pickup.py`)."""
        return pickup(self.storage, self.table(target).folder, published)

    def exists(self, target: WriteSpec) -> bool:
        return self.storage.exists(join(self.table(target).folder, METADATA_FILE))

    def metadata(self, target: WriteSpec) -> TableMetadata | None:
        try:
            return TableMetadata.from_json(self.storage.read_bytes(join(self.table(target).folder, METADATA_FILE)))
        except FileNotFoundError:
            return None

    def current_schema(self, target: WriteSpec) -> pa.Schema | None:
        """The columns of the newest data file (downloaded once; Dagster's record is used when it has one)."""
        folder = self.table(target).folder
        numbers = published_numbers(self.storage, folder)
        if not numbers:
            return None
        name = sequence_name(numbers[-1])
        with owned_temporary_folder(TEMPORARY_PREFIX, "schema") as temporary:
            local = temporary / name
            for candidate in (join(folder, name), *(join(folder, f, name) for f in PROCESSED_FOLDERS)):
                try:
                    self.storage.download(candidate, local)
                    break
                except FileNotFoundError:
                    continue
            else:
                return None
            schema = pq.read_schema(local).remove_metadata()
        return schema.remove(schema.get_field_index(ROW_MARKER)) if ROW_MARKER in schema.names else schema

    def unsupported_changes(self, target: WriteSpec, mode: WriteMode, decision: SchemaDecision) -> list[str]:
        """Changes Fabric cannot follow in a mirrored table (only a rebuild can): checked before extracting."""
        if mode.kind == "replace" and mode.window is None:
            return []  # the table folder is replaced: Fabric builds the table anew
        metadata = self.metadata(target)
        if metadata is None:
            return []
        reasons = []
        wanted = options(target).key_columns or mode.keys
        if tuple(metadata.key_columns) != tuple(wanted):
            reasons.append(f"the key changes from {list(metadata.key_columns)} to {list(wanted)}")
        before = {change.column: change for change in decision.changes}
        reasons.extend(f"{column} changes type {before[column].before} -> {before[column].after}"
                       for column in decision.layout.widened)
        removed = [c.column for c in decision.changes if c.kind == "removed"]
        added = [c.column for c in decision.changes if c.kind == "added" and c.column in decision.layout.table.names]
        if removed and added:
            reasons.append(f"columns {removed} are gone and {added} are new, which Fabric takes as a rename")
        return reasons

    @contextmanager
    def writer(
        self, target: WriteSpec, mode: WriteMode, layout: TableLayout, run_token: str, quality: QualityRequest,
        record: LoadRecord | None = None,
    ) -> Iterator[MirrorWriter]:
        if mode.window is not None:
            raise PartitionReplaceUnsupported(store="open_mirroring")
        table = self.table(target)
        with self.locked(table, run_token, "recovering before its extraction"):
            self.recover_holding_lock(table, replaces_table=mode.kind == "replace")
            metadata = self.metadata(target)
        with owned_temporary_folder(TEMPORARY_PREFIX, run_token) as workdir:
            yield MirrorWriter(self, table, target, mode, layout, run_token, workdir, metadata)

    def remove_abandoned_staging(self, target: WriteSpec, abandoned: Abandoned) -> int:
        """The local staging folders of dead runs (what they uploaded, the next load's recovery removes)."""
        return remove_abandoned_temporary(TEMPORARY_PREFIX)

    def locked(self, table: MirrorTable, load: str | None, doing: str) -> AbstractContextManager[None]:
        """Hold the table's lock: one load of a table at a time (see the module notes)."""
        holder = locks.holder(f"load {load} {doing}" if load else doing)
        return locks.hold(self.storage, table.lock, holder, table.lock_seconds, table.name)

    def recover(self, table: MirrorTable, before_step: StepHook | None = None) -> str | None:
        """Finish a load an earlier run left half published, then remove staged leftovers; its token."""
        with self.locked(table, None, "recovering"):
            return self.recover_holding_lock(table, before_step)

    def recover_holding_lock(self, table: MirrorTable, before_step: StepHook | None = None,
                             replaces_table: bool = False) -> str | None:
        """`recover`, for a caller that holds the table's lock; `replaces_table` for a load that replaces the whole
        table, which supersedes a journal that can never finish (see `JournalFile.problems`)."""
        journal_file = JournalFile(self.storage, table.journal)
        pending = journal_file.pending_unless_superseded(replaces_table)
        if pending is not None:
            journal_file.run(pending, before_step)
        # Nothing staged is referenced any more: uploads of loads that never wrote their journal (no
        # other load is uploading while the table's lock is held).
        self.storage.delete_folder(table.scratch)
        for entry in self.storage.list(table.folder):
            if _LEFTOVER.match(entry.name):
                self.storage.delete(join(table.folder, entry.name))
        journal_file.remove_interrupted_writes()
        return pending.load if pending is not None else None

    def complete(self, prepared: PreparedPublish, before_step: StepHook | None = None) -> CommitResult:
        """Publish a prepared load (or accept that a recovery already did), then verify the files."""
        journal_file = JournalFile(self.storage, prepared.table.journal)
        with self.locked(prepared.table, prepared.load, "publishing"):
            pending = journal_file.pending()
            if pending is not None and pending.load == prepared.load:
                journal_file.run(pending, before_step)
            # Otherwise a load that started since ran this journal before its own (or discarded it,
            # if its staged files were lost: the verification then finds them missing).
            return self._verify(prepared)

    def _verify(self, prepared: PreparedPublish) -> CommitResult:
        folder = prepared.table.folder
        present = {e.name: e.size for e in self.storage.list(folder) if not e.is_folder}
        for processed in PROCESSED_FOLDERS:
            present.update({e.name: e.size for e in self.storage.list(join(folder, processed)) if not e.is_folder})
        published = [f for f in prepared.files if present.get(f.name) == f.size]
        numbers = published_numbers(self.storage, folder)
        return CommitResult(
            rows_written=prepared.rows_written,
            rows_replaced=0,
            rows_before=None,
            rows_after=prepared.rows_written if prepared.replaces else None,
            window_rows=None,
            location=prepared.location,
            rows_deleted=prepared.rows_deleted,
            files=FilesPublished(
                names=tuple(f.name for f in prepared.files),
                rows_expected=prepared.rows_written - prepared.rows_unchanged + prepared.rows_deleted,
                rows_found=sum(f.rows for f in published),
                missing=tuple(f.name for f in prepared.files if f not in published),
                sequence_gaps=tuple(missing_numbers(numbers)),
                last_number=numbers[-1] if numbers else 0,
                rows_unchanged=prepared.rows_unchanged,
            ),
        )

    def partner_events(self) -> bytes:
        return partner_events(self._resource.partner_name, self._resource.source_type,
                              self._resource.source_version)

    def wait_seconds(self, target: WriteSpec) -> int:
        wait = options(target).wait_seconds
        return wait if wait is not None else self._resource.folder_deletion_wait_seconds


class MirrorWriter(StagedWriter):
    def __init__(self, store: OpenMirroringStore, table: MirrorTable, target: WriteSpec, mode: WriteMode,
                 layout: TableLayout, token: str, workdir: Path, metadata: TableMetadata | None):
        self._store = store
        self._table = table
        self._target = target
        self._token = token
        self._workdir = workdir
        self._metadata = metadata
        # A first load and a replace publish an initial load: no markers, so every row is an insert.
        self.replaces = mode.kind == "replace" or metadata is None
        self._marker_column = options(target).row_marker_column
        self._marker = None if self.replaces else (RowMarker.INSERT if mode.kind == "append" else RowMarker.UPSERT)
        self._marked = self._marker is not None or self._marker_column is not None
        staged = pa.schema([f.with_type(markers.published_type(f.type)) for f in layout.staged])
        schema = markers.with_marker_field(staged, self._marker_column) if self._marked else staged
        super().__init__(ParquetStage(workdir / "stage", schema, token, f"open_mirroring {table.name}"), mode)

    def write(self, batch: pa.RecordBatch) -> None:
        batch = markers.mark(batch, self._marker, self._marker_column) if self._marked else markers.unmarked(batch)
        super().write(batch)

    def commit(self) -> CommitResult:
        """Both phases at once (tests, and callers without a separate publish step)."""
        return self._store.complete(self.prepare())

    def prepare(self) -> PreparedPublish:
        """Upload the files and write the journal, with the table's lock held: a journal of another
        load is finished first, and the sequence numbers are read after it."""
        with self._store.locked(self._table, self._token, "uploading its files"):
            self._store.recover_holding_lock(self._table, replaces_table=self.replaces)
            return self._prepare()

    def _prepare(self) -> PreparedPublish:
        storage, table, mode = self._store.storage, self._table, self._mode
        data = list(self.staged_files)
        rows = parquet_rows(data)
        if not self.replaces and rows == 0:
            data = []  # nothing new: no file, and no sequence number used
        # The key set is kept from every complete snapshot (a replace, a merge with delete_missing);
        # a load that only adds keys makes it stale, so it is removed and delete detection refuses
        # until the next snapshot.
        snapshot = bool(mode.keys) and (self.replaces or mode.delete_missing)
        old_key_files = [] if self.replaces else snapshots.key_files(storage, table.folder)
        rows_deleted, rows_unchanged, keys_snapshot = 0, 0, None
        if snapshot:
            keys_snapshot = snapshots.snapshot_keys(self.staged_files, mode.keys, self._workdir / "keys.parquet")
        if mode.delete_missing and not self.replaces:
            if not old_key_files:
                raise KeySnapshotMissing(table=table.name)
            previous = self._workdir / "previous_keys.parquet"
            storage.download(old_key_files[-1], previous)
            deleted_file = self._workdir / "deletes.parquet"
            assert keys_snapshot is not None
            rows_deleted = snapshots.deletions(previous, keys_snapshot, mode.keys, deleted_file)
            if snapshots.has_row_hashes(previous) and data:
                changed = self._workdir / "changed.parquet"
                rows_changed = snapshots.changed_rows(data, previous, mode.keys, changed)
                rows_unchanged = rows - rows_changed
                data = [changed] if rows_changed else []
            if rows_deleted:
                data.append(deleted_file)

        first = 1 if self.replaces else next_number(storage, table.folder)
        names = [sequence_name(first + i) for i in range(len(data))]
        files = tuple(StagedFile(name, path.stat().st_size, parquet_rows([path])) for name, path in zip(names, data, strict=True))
        # A snapshot that publishes no file changes nothing, not even the key set.
        writes_keys = keys_snapshot is not None and bool(data)
        if not writes_keys and not data:
            old_key_files = []
        steps = self._publish_steps(names, first + len(data) - 1, writes_keys, old_key_files)
        for name, path in zip(names, data, strict=True):
            storage.upload(self._staged_name(name), path)
        if writes_keys:
            assert keys_snapshot is not None
            storage.upload(join(table.scratch, self._token, "keys.parquet"), keys_snapshot)
        JournalFile(storage, table.journal).begin(Journal(self._token, steps))
        return PreparedPublish(table, self._token, files, rows, rows_deleted, rows_unchanged, self.replaces,
                               storage.describe(table.folder))

    def _staged_name(self, name: str) -> str:
        # A folder of the load's own, where a load that overlaps it never writes (the final names
        # of two loads may be the same where there is no lock, see the module notes).
        return join(self._table.scratch, self._token, name)

    def _publish_steps(self, names: list[str], last: int, writes_keys: bool, old_key_files: list[str]) -> list[Step]:
        storage, table = self._store.storage, self._table
        steps: list[Step] = []
        if not storage.exists(join(table.zone, PARTNER_EVENTS_FILE)):
            steps.append(Step("write", join(table.zone, PARTNER_EVENTS_FILE), text=self._store.partner_events().decode()))
        if self.replaces:
            if self._metadata is not None or storage.list(table.folder):
                seconds = self._store.wait_seconds(self._target)
                # Newest files first, the rest after: a crash half-way through leaves a shorter
                # sequence (and its _metadata.json), never a gap. DFS deletes a folder in one call.
                published = published_numbers(storage, table.folder)
                steps += [Step("delete", join(table.folder, sequence_name(n))) for n in reversed(published)]
                steps += [Step("delete_folder", table.folder),
                          Step("wait", seconds=seconds, checkpoint=True)]
            keys = options(self._target).key_columns or self._mode.keys
            steps += [Step("make_folder", table.folder),
                      Step("write", join(table.folder, METADATA_FILE), text=TableMetadata(keys).to_json().decode())]
        steps += [Step("rename", self._staged_name(name), join(table.folder, name)) for name in names]
        if writes_keys:
            steps.append(Step("rename", join(table.scratch, self._token, "keys.parquet"),
                              join(table.folder, snapshots.keys_file_name(last))))
        steps += [Step("delete", path) for path in old_key_files]
        if names or writes_keys:  # this load's staging folder in _scratchPad is empty now
            steps.append(Step("delete_folder", join(table.scratch, self._token)))
        return steps
