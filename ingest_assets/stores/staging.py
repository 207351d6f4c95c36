"""Stream record batches into Parquet files in a staging folder, in bounded memory.

Batches are buffered up to one row group, files roll over at a fixed row count, and every file name
carries the run's unique token and a sequence number, so names never collide across runs or batches.

Row groups are encoded on a thread of the stage's own (pyarrow's writer releases the GIL), so the
caller's thread goes on reading and converting the next batches while the last one is compressed:
reading and encoding use a core each. A full row group is handed over only once the encoder is done
with the one before, so memory holds two row groups (one being filled, one being encoded) at most.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.parquet as pq

from ingest_assets.errors import BatchColumnsChanged, BatchDoesNotFit

ROW_GROUP_ROWS = 262_144
FILE_ROWS = 16 * ROW_GROUP_ROWS
COMPRESSION: Final = "zstd"
# Level 1: files as small as level 3's on the measured tables (within 2%) at a third less CPU.
COMPRESSION_LEVEL = 1
# A column chunk falls back from dictionary to plain encoding once its dictionary outgrows this.
# Parquet's 1 MiB default hashes half a row group of a unique column (ids, timestamps) before giving
# up, which tripled the encoding time measured, and the files came out larger; 128 KiB still holds
# the dictionary of a low-cardinality column (statuses, dates, codes) whole.
DICTIONARY_PAGE_BYTES = 128 * 1024


def staged_file_name(token: str, sequence: int) -> str:
    return f"part-{token}-{sequence:05d}.parquet"


def duckdb_copy_options() -> str:
    """DuckDB's `COPY ... TO` options for a file with the staged files' settings."""
    return (f"(FORMAT parquet, COMPRESSION {COMPRESSION}, COMPRESSION_LEVEL {COMPRESSION_LEVEL}, "
            f"ROW_GROUP_SIZE {ROW_GROUP_ROWS})")


def parquet_writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
    """A writer with the staged files' settings (every Parquet file ingest_assets encodes)."""
    return pq.ParquetWriter(path, schema, compression=COMPRESSION, compression_level=COMPRESSION_LEVEL,
                            dictionary_pagesize_limit=DICTIONARY_PAGE_BYTES)


class _Stop:
    """The encoder's end of input: close the last file and leave."""


class ParquetStage:
    def __init__(self, directory: Path, schema: pa.Schema, token: str, label: str):
        self.directory = directory
        self.schema = schema
        self.token = token
        self.label = label
        self._buffer: list[pa.RecordBatch] = []
        self._buffered_rows = 0
        self.files: list[Path] = []
        self._encoder: _Encoder | None = None  # started with the first row group
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
        if self._encoder is None:
            self._encoder = _Encoder(self)
        self._encoder.put(table)

    def finish(self) -> list[Path]:
        """Flush and close; a load of no rows still leaves one empty file that carries the schema."""
        self._flush()
        if self._encoder is not None:
            self._encoder.finish()
        if not self.files:
            path = self._next_path()
            pq.write_table(self.schema.empty_table(), path, compression=COMPRESSION)
            self.files.append(path)
        return self.files

    def abort(self) -> None:
        self._buffer = []
        if self._encoder is not None:
            self._encoder.abort()

    def _next_path(self) -> Path:
        return self.directory / staged_file_name(self.token, len(self.files))


class _Encoder:
    """The stage's encoding thread: writes the row groups it is handed, in order, rolling files over.

    An encoding error stops the thread and is raised by the next `put` or by `finish`, in the
    caller's thread, so a failed write fails the load like any other.
    """

    def __init__(self, stage: ParquetStage):
        self._stage = stage
        self._tables: queue.SimpleQueue[pa.Table | _Stop] = queue.SimpleQueue()
        self._idle = threading.Semaphore(1)  # held from a hand-over until that row group is written
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"ingest-encode-{stage.token}", daemon=True)
        self._thread.start()

    def put(self, table: pa.Table) -> None:
        self._wait_idle()
        self._tables.put(table)

    def finish(self) -> None:
        self._wait_idle()
        self._tables.put(_Stop())
        self._thread.join()
        self._raise()

    def abort(self) -> None:
        self._tables.put(_Stop())  # after the row group being written, if any
        self._thread.join()

    def _wait_idle(self) -> None:
        while not self._idle.acquire(timeout=0.2):
            if not self._thread.is_alive():
                break
        if not self._thread.is_alive():
            self._idle.release()
            self._raise()
            raise AssertionError("the stage's encoder stopped without an error")

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _run(self) -> None:
        stage = self._stage
        writer: pq.ParquetWriter | None = None
        rows_in_file = 0
        try:
            while True:
                item = self._tables.get()
                if isinstance(item, _Stop):
                    return
                if writer is None:
                    path = stage._next_path()
                    writer = parquet_writer(path, stage.schema)
                    stage.files.append(path)
                writer.write_table(item, row_group_size=ROW_GROUP_ROWS)
                rows_in_file += item.num_rows
                del item  # the row group's memory, before the next one is handed over
                if rows_in_file >= FILE_ROWS:
                    writer.close()
                    writer, rows_in_file = None, 0
                self._idle.release()
        except BaseException as error:  # handed to the caller's thread
            self._error = error
        finally:
            if writer is not None:
                try:
                    writer.close()
                except BaseException as error:
                    self._error = self._error or error


def parquet_rows(files: list[Path]) -> int:
    """Rows in Parquet files, read back from their footers."""
    return sum(pq.ParquetFile(path).metadata.num_rows for path in files)
