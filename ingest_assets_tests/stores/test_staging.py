"""The staging writer: row groups encoded on a thread of their own, in order, failures raised where written."""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest_assets.stores import staging

SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string())])


def _batch(start: int, stop: int) -> pa.RecordBatch:
    return pa.record_batch([pa.array(range(start, stop)), pa.array([f"n{i % 3}" for i in range(start, stop)])],
                           schema=SCHEMA)


@pytest.fixture
def small_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(staging, "ROW_GROUP_ROWS", 10)
    monkeypatch.setattr(staging, "FILE_ROWS", 30)


def _encoders() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("ingest-encode-")]


def test_rows_keep_their_order_across_row_groups_and_files(tmp_path: Path, small_groups: None):
    stage = staging.ParquetStage(tmp_path / "stage", SCHEMA, "tok", "test")
    for start in range(0, 95, 7):
        stage.write(_batch(start, min(start + 7, 95)))
    files = stage.finish()

    assert [f.name for f in files] == ["part-tok-00000.parquet", "part-tok-00001.parquet", "part-tok-00002.parquet"]
    assert pq.read_table(files).column("id").to_pylist() == list(range(95))
    assert [pq.ParquetFile(f).metadata.num_rows for f in files] == [42, 42, 11]  # rolled over at 30 rows
    assert pq.read_schema(files[0]).remove_metadata() == SCHEMA
    assert not _encoders(), "finish joins the encoder"


def test_an_encoding_failure_is_raised_in_the_writing_thread(tmp_path: Path, small_groups: None,
                                                             monkeypatch: pytest.MonkeyPatch):
    def full_disk(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
        raise OSError("disk full")

    monkeypatch.setattr(staging, "parquet_writer", full_disk)
    stage = staging.ParquetStage(tmp_path / "stage", SCHEMA, "tok", "test")
    with pytest.raises(OSError, match="disk full"):
        for start in range(0, 100, 10):
            stage.write(_batch(start, start + 10))
        stage.finish()
    stage.abort()
    assert not _encoders()


def test_abort_stops_the_encoder(tmp_path: Path, small_groups: None):
    stage = staging.ParquetStage(tmp_path / "stage", SCHEMA, "tok", "test")
    for start in range(0, 50, 10):
        stage.write(_batch(start, start + 10))
    stage.abort()
    assert not _encoders()


def test_an_empty_load_leaves_one_file_with_the_schema(tmp_path: Path):
    files = staging.ParquetStage(tmp_path / "stage", SCHEMA, "tok", "test").finish()
    assert [f.name for f in files] == ["part-tok-00000.parquet"]
    assert pq.read_schema(files[0]).remove_metadata() == SCHEMA
