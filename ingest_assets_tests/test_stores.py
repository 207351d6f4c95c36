"""The stores on their own: atomic publishing under concurrent readers, and aborted writes."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from ingest_assets.plan.model import WriteSpec
from ingest_assets.resources import DuckDBFileResource, FolderResource
from ingest_assets.stores import staging
from ingest_assets.stores.base import QualityRequest, WriteMode
from ingest_assets.stores.duckdb import DuckDBStore
from ingest_assets.stores.parquet import ParquetStore

SCHEMA = pa.schema([("id", pa.int64()), ("label", pa.string())])
ROWS_PER_COMMIT = 300


def batch(first: int, count: int) -> pa.RecordBatch:
    return pa.record_batch([pa.array(range(first, first + count)), pa.array([f"row {i}" for i in range(count)])],
                           schema=SCHEMA)


def append(store, target: WriteSpec, commit_number: int) -> None:
    with store.writer(target, WriteMode("append"), SCHEMA, f"t{commit_number:03d}", QualityRequest()) as writer:
        for part in range(3):
            writer.write(batch(commit_number * ROWS_PER_COMMIT + part * 100, 100))
        writer.finish_staging()
        writer.commit()


def test_parquet_readers_never_see_a_partial_commit(tmp_path: Path, monkeypatch):
    # Each commit writes three files, so a publish that is not atomic would show 100 or 200 new rows.
    monkeypatch.setattr(staging, "ROW_GROUP_ROWS", 50)
    monkeypatch.setattr(staging, "FILE_ROWS", 100)
    store = ParquetStore(FolderResource(path=str(tmp_path / "lake")))
    target = WriteSpec(path="shop/orders")
    table = tmp_path / "lake/shop/orders"
    observed: list[int] = []
    stop = threading.Event()

    def read_continuously() -> None:
        connection = duckdb.connect()
        while not stop.is_set():
            if not table.exists():
                continue
            try:
                observed.append(connection.sql(f"SELECT count(*) FROM read_parquet('{table}/*.parquet')").fetchall()[0][0])
            except duckdb.IOException:
                # A reader slower than two commits may find its version collected: it retries, and
                # never sees a partial table.
                continue

    reader = threading.Thread(target=read_continuously)
    reader.start()
    try:
        for commit_number in range(25):
            append(store, target, commit_number)
    finally:
        stop.set()
        reader.join()

    assert observed, "the reader never read the table"
    assert {count % ROWS_PER_COMMIT for count in observed} == {0}
    assert len(set(observed)) > 1  # the reader really ran during the commits
    final = duckdb.connect().sql(f"SELECT count(*), count(DISTINCT id) FROM read_parquet('{table}/*.parquet')")
    assert final.fetchall() == [(25 * ROWS_PER_COMMIT, 25 * ROWS_PER_COMMIT)]


@pytest.mark.parametrize("kind", ["parquet", "duckdb"])
def test_leaving_the_writer_without_commit_changes_nothing(tmp_path: Path, kind: str):
    if kind == "parquet":
        store, target = ParquetStore(FolderResource(path=str(tmp_path / "lake"))), WriteSpec(path="t")
    else:
        store, target = DuckDBStore(DuckDBFileResource(path=str(tmp_path / "w.duckdb"))), WriteSpec(table="s.t")
    append(store, target, 0)

    with pytest.raises(RuntimeError, match="extraction failed"):
        with store.writer(target, WriteMode("replace"), SCHEMA, "broken", QualityRequest()) as writer:
            writer.write(batch(10_000, 50))
            raise RuntimeError("extraction failed")

    if kind == "parquet":
        rows = duckdb.connect().sql(f"SELECT count(*) FROM read_parquet('{tmp_path}/lake/t/*.parquet')").fetchall()
        assert not any((tmp_path / "lake/_ingest/staging").rglob("*.parquet"))
    else:
        with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as connection:
            rows = connection.sql("SELECT count(*) FROM s.t").fetchall()
        assert not any((tmp_path / "w.duckdb.staging").rglob("*.parquet"))
    assert rows == [(ROWS_PER_COMMIT,)]
    assert store.exists(target)


def test_an_append_with_other_columns_fails_before_writing(tmp_path: Path):
    store = ParquetStore(FolderResource(path=str(tmp_path / "lake")))
    target = WriteSpec(path="t")
    append(store, target, 0)
    wider = SCHEMA.append(pa.field("extra", pa.int32()))

    with store.writer(target, WriteMode("append"), wider, "wide", QualityRequest()) as writer:
        writer.write(pa.record_batch([pa.array([1]), pa.array(["x"]), pa.array([7], pa.int32())], schema=wider))
        writer.finish_staging()
        with pytest.raises(Exception, match=r"the source schema changed \(\+extra int32\) -> nothing was written"):
            writer.commit()

    rows = duckdb.connect().sql(f"SELECT count(*) FROM read_parquet('{tmp_path}/lake/t/*.parquet')").fetchall()
    assert rows == [(ROWS_PER_COMMIT,)]
