"""The `adls` store: a folder of Parquet files in ADLS Gen2, OneLake's Files area, or Blob storage.

Each entity writes `<base_path>/<store path>/part-<run token>-<n>.parquet`. A load is staged
locally, uploaded under `_`-prefixed names (which Spark, Fabric, pyarrow and Polars skip), and
published by a journal (see `ingest_assets.storage.journal`): renames to the final names, after
deleting the old files when the load replaces the folder. Nothing changes unless extraction and
staging succeeded, and a crash after the journal was written is finished by the next run.

One load of a folder runs at a time: the writer holds the folder's lock (`storage.locks`: local and
Blob storage; none on the DFS API) from its recovery to the end of its publish.

Readers that list the folder while a replace publishes can see it partly replaced (files are
deleted, then the new ones renamed in); the README says so and points to the stores that swap
atomically. Files already written keep their columns, so type changes need a rebuild.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from ingest_assets.connectors.azure_storage import StorageBacked
from ingest_assets.errors import FolderWriteModeUnsupported
from ingest_assets.plan.model import WriteSpec
from ingest_assets.storage import locks
from ingest_assets.storage.base import join
from ingest_assets.storage.journal import Journal, JournalFile, Step
from ingest_assets.stores.abandoned import Abandoned, owned_temporary_folder, remove_abandoned_temporary
from ingest_assets.stores.base import CommitResult, QualityRequest, TableLayout, WriteMode
from ingest_assets.stores.load_record import RECORD_FILE, LoadRecord
from ingest_assets.stores.schema_decision import SchemaDecision
from ingest_assets.stores.staged_writer import TableSchemaWriter
from ingest_assets.stores.staging import ParquetStage, parquet_rows

if TYPE_CHECKING:
    from ingest_assets.connectors.adls import AdlsResource

JOURNAL = "_ingest_journal.json"
LOCK = "_ingest.lock"  # held from the writer's recovery to the end of its publish: one load at a time
LOCK_WAIT_SECONDS = 900.0  # then `TableLoadInProgress`, which Dagster retries
TEMPORARY_PREFIX = "ingest-adls-"  # a load's staged files before their upload
_DATA_FILE = re.compile(r"^part-.+\.parquet$")
_STAGED_FILE = re.compile(r"^_part-.+\.parquet$")


class AdlsStore(StorageBacked):
    _resource: AdlsResource

    def folder(self, target: WriteSpec) -> str:
        assert target.path is not None
        return join(self._resource.base_path, target.path)

    def describe(self, target: WriteSpec) -> str:
        return self.storage.describe(self.folder(target))

    def data_files_in(self, folder: str) -> list[str]:
        return [e.name for e in self.storage.list(folder) if not e.is_folder and _DATA_FILE.match(e.name)]

    def exists(self, target: WriteSpec) -> bool:
        return bool(self.data_files_in(self.folder(target)))

    def current_schema(self, target: WriteSpec) -> pa.Schema | None:
        files = self.data_files_in(self.folder(target))
        if not files:
            return None
        with owned_temporary_folder(TEMPORARY_PREFIX, "schema") as temporary:
            local = temporary / files[-1]
            self.storage.download(join(self.folder(target), files[-1]), local)
            return pq.read_schema(local).remove_metadata()

    def unsupported_changes(self, target: WriteSpec, mode: WriteMode, decision: SchemaDecision) -> list[str]:
        if mode.kind == "replace":
            return []
        return [f"{column} would change type in new files while the folder's files keep the old one"
                for column in decision.layout.widened]

    def last_load(self, target: WriteSpec) -> LoadRecord | None:
        """The record of the last load, once a load that committed (wrote its journal) is finished."""
        folder = self.folder(target)
        self.recover(folder)
        record = join(folder, RECORD_FILE)
        return LoadRecord.from_json(self.storage.read_bytes(record).decode()) if self.storage.exists(record) else None

    @contextmanager
    def writer(
        self, target: WriteSpec, mode: WriteMode, layout: TableLayout, run_token: str, quality: QualityRequest,
        record: LoadRecord | None = None,
    ) -> Iterator[AdlsWriter]:
        if mode.kind not in ("append", "replace") or mode.window is not None:
            raise FolderWriteModeUnsupported(store="adls", kind=mode.kind)
        folder = self.folder(target)
        holder = locks.holder(f"load {run_token}")
        with locks.hold(self.storage, join(folder, LOCK), holder, LOCK_WAIT_SECONDS, self.describe(target)):
            self.recover(folder, replaces_folder=mode.kind == "replace")
            with owned_temporary_folder(TEMPORARY_PREFIX, run_token) as workdir:
                yield AdlsWriter(self, folder, mode, layout, run_token, workdir, record)

    def remove_abandoned_staging(self, target: WriteSpec, abandoned: Abandoned) -> int:
        return remove_abandoned_temporary(TEMPORARY_PREFIX)

    def recover(self, folder: str, replaces_folder: bool = False) -> None:
        """Finish a publish an earlier run left half done, then drop uploads no journal refers to.
        A load that replaces the folder supersedes a journal that can never finish (its staged files
        gone: see `JournalFile.problems`); any other load fails on it and asks for a full_drop."""
        journal_file = JournalFile(self.storage, join(folder, JOURNAL))
        pending = journal_file.pending_unless_superseded(replaces_folder)
        if pending is not None:
            journal_file.run(pending)
        journal_file.remove_interrupted_writes()
        for entry in self.storage.list(folder):
            if _STAGED_FILE.match(entry.name):
                self.storage.delete(join(folder, entry.name))


class AdlsWriter(TableSchemaWriter):
    def __init__(self, store: AdlsStore, folder: str, mode: WriteMode, layout: TableLayout, token: str, workdir: Path,
                 record: LoadRecord | None):
        # Files carry the table's columns (NULL where this load has none), like the local Parquet store.
        super().__init__(ParquetStage(workdir, layout.table, token, f"adls store {folder}"), mode, layout)
        self._store = store
        self._folder = folder
        self._token = token
        self._record = record

    def commit(self) -> CommitResult:
        storage, folder = self._store.storage, self._folder
        old = self._store.data_files_in(folder) if self._mode.kind == "replace" else []
        steps = [Step("delete", join(folder, name)) for name in old]
        for path in self.staged_files:
            storage.upload(join(folder, f"_{path.name}"), path)
            steps.append(Step("rename", join(folder, f"_{path.name}"), join(folder, path.name)))
        if self._record is not None:  # in the journal: published with the files, or not at all
            steps.append(Step("write", join(folder, RECORD_FILE), text=self._record.to_json()))
        journal_file = JournalFile(storage, join(folder, JOURNAL))
        journal = Journal(self._token, steps)
        journal_file.begin(journal)
        journal_file.run(journal)
        rows = parquet_rows(self.staged_files)
        return CommitResult(
            rows_written=rows, rows_replaced=0, rows_before=None,
            rows_after=rows if self._mode.kind == "replace" else None,
            window_rows=None, location=storage.describe(folder),
        )
