"""Stream record batches into Parquet files in a staging folder, in bounded memory.

Batches are buffered up to one row group, files roll over at a fixed row count, and every file name
carries the run's unique token and a sequence number, so names never collide across runs or batches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.parquet as pq

from ingest_assets.errors import BatchColumnsChanged, BatchDoesNotFit

ROW_GROUP_ROWS = 262_144
FILE_ROWS = 16 * ROW_GROUP_ROWS
COMPRESSION: Final = "zstd"
COMPRESSION_LEVEL = 3


class ParquetStage:
    def __init__(self, directory: Path, schema: pa.Schema, token: str, label: str):
        self.directory = directory
        self.schema = schema
        self.token = token
        self.label = label
        self._buffer: list[pa.RecordBatch] = []
        self._buffered_rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._rows_in_file = 0
        self.files: list[Path] = []
        directory.mkdir(parents=True, exist_ok=True)

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.schema != self.schema:
            batch = self._conform(batch)
        if batch.num_rows == 0:
            return
        self._buffer.append(batch)
        self._buffered_rows += batch.num_rows
        if self._buffered_rows >= ROW_GROUP_ROWS:
            self._flush()

    def _conform(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if batch.schema.names != self.schema.names:
            raise BatchColumnsChanged(label=self.label, columns=batch.schema.names, expected=self.schema.names,
                                      expected_by="first_batch")
        try:
            return batch.cast(self.schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise BatchDoesNotFit(label=self.label, reason=str(error)) from error

    def _flush(self) -> None:
        if not self._buffer:
            return
        table = pa.Table.from_batches(self._buffer, schema=self.schema)
        self._buffer, self._buffered_rows = [], 0
        if self._writer is None:
            path = self.directory / f"part-{self.token}-{len(self.files):05d}.parquet"
            self._writer = pq.ParquetWriter(path, self.schema, compression=COMPRESSION,
                                            compression_level=COMPRESSION_LEVEL)
            self.files.append(path)
        self._writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
        self._rows_in_file += table.num_rows
        if self._rows_in_file >= FILE_ROWS:
            self._close_file()

    def _close_file(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer, self._rows_in_file = None, 0

    def finish(self) -> list[Path]:
        """Flush and close; a load of no rows still leaves one empty file that carries the schema."""
        self._flush()
        self._close_file()
        if not self.files:
            path = self.directory / f"part-{self.token}-00000.parquet"
            pq.write_table(self.schema.empty_table(), path, compression=COMPRESSION)
            self.files.append(path)
        return self.files

    def abort(self) -> None:
        self._buffer = []
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def parquet_rows(files: list[Path]) -> int:
    """Rows in Parquet files, read back from their footers."""
    return sum(pq.ParquetFile(path).metadata.num_rows for path in files)
