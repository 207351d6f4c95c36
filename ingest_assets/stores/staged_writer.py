"""The writer every store builds on: stage batches, keep the latest row per key, discard a failed load."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa

from ingest_assets.errors import BatchColumnsChanged
from ingest_assets.stores.base import WriteMode
from ingest_assets.stores.schema_changes import conform
from ingest_assets.stores.schema_decision import TableLayout
from ingest_assets.stores.staged_keys import resolve_duplicate_keys
from ingest_assets.stores.staging import ParquetStage, parquet_rows


class StagedWriter:
    """What every store's writer shares: batches go to a ParquetStage until the store commits.

    `staged_files` are what a store's commit applies: the stage's files, or after
    `resolve_duplicate_keys` the latest row per key.
    """

    def __init__(self, stage: ParquetStage, mode: WriteMode):
        self._stage = stage
        self._mode = mode
        self.staged_files: list[Path] = []

    def write(self, batch: pa.RecordBatch) -> None:
        self._stage.write(batch)

    def finish_staging(self) -> int:
        self.staged_files = self._stage.finish()
        return parquet_rows(self.staged_files)

    def resolve_duplicate_keys(self) -> int:
        # Also a replace that carries the write key (the first load of an upsert entity): the table it
        # leaves must have unique keys for the upserts after it.
        if not self._mode.keys:
            return 0
        self.staged_files, dropped = resolve_duplicate_keys(
            self.staged_files, self._stage.schema, self._mode.keys, self._mode.latest_by, self._stage.label,
            self._stage.directory / "latest", f"{self._stage.token}-latest",
        )
        return dropped

    def discard_staging(self) -> None:
        self._stage.abort()
        shutil.rmtree(self._stage.directory, ignore_errors=True)


class TableSchemaWriter(StagedWriter):
    """A file store's writer: batches are staged in the table's whole schema (columns this load does
    not have are NULL), so every file of the table has the same columns."""

    def __init__(self, stage: ParquetStage, mode: WriteMode, layout: TableLayout):
        super().__init__(stage, mode)
        self._layout = layout

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.schema.names != self._layout.staged.names:
            raise BatchColumnsChanged(label=self._stage.label, columns=batch.schema.names,
                                      expected=self._layout.staged.names, expected_by="layout")
        super().write(conform(batch, self._layout.table))
