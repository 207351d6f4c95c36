"""The Parquet store's rewrite of files that hold replaced rows: by DuckDB's COPY when the files it writes
have the table's exact Arrow schema, through Arrow otherwise (`large_string`); either way every file of
the version has the table's schema (UUIDs, decimals and nullability included)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest_assets.connectors.files import FolderResource
from ingest_assets.plan.model import WriteSpec
from ingest_assets.stores import parquet as parquet_store
from ingest_assets.stores.base import CommitResult, QualityRequest, TableLayout, WriteMode
from ingest_assets.stores.parquet import ParquetStore

UPSERT = WriteMode("upsert", keys=("id",))


def _schema(text: pa.DataType) -> pa.Schema:
    return pa.schema([("id", pa.int64()), ("amount", pa.decimal128(12, 2)), ("name", text),
                      ("at", pa.timestamp("us", tz="UTC")), ("token", pa.uuid())])


def _rows(ids: range, version: int) -> list[dict]:
    return [{"id": i, "amount": Decimal(f"{i}.{version:02d}"), "name": f"v{version}",
             "at": datetime(2026, 1, 1, tzinfo=UTC), "token": uuid.UUID(int=i).bytes} for i in ids]


def _load(store: ParquetStore, schema: pa.Schema, mode: WriteMode, rows: list[dict]) -> CommitResult:
    with store.writer(WriteSpec(path="t"), mode, TableLayout.new(schema), uuid.uuid4().hex[:8],
                      QualityRequest(not_null=("id",), unique_sets=(("id",),))) as writer:
        writer.write(pa.RecordBatch.from_pylist(rows, schema=schema))
        writer.finish_staging()
        writer.resolve_duplicate_keys()
        return writer.commit()


@pytest.mark.parametrize(("text", "rewritten_by"), [(pa.string(), "_copy_kept"), (pa.large_string(), "_rewrite")])
def test_an_upsert_rewrites_files_in_the_tables_types(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      text: pa.DataType, rewritten_by: str):
    schema = _schema(text)
    store = ParquetStore(FolderResource(path=str(tmp_path)))
    _load(store, schema, WriteMode("replace", keys=("id",)), _rows(range(1, 101), 1))
    used: list[str] = []
    for name in ("_copy_kept", "_rewrite"):
        original = getattr(parquet_store.ParquetTableWriter, name)
        monkeypatch.setattr(parquet_store.ParquetTableWriter, name,
                            lambda self, *args, _o=original, _n=name: (used.append(_n), _o(self, *args))[1])

    result = _load(store, schema, UPSERT, _rows(range(91, 111), 2))

    assert used == [rewritten_by]
    assert (result.rows_before, result.rows_replaced, result.rows_written, result.rows_after) == (100, 10, 20, 110)
    assert result.null_counts == {"id": 0} and result.duplicate_counts == {("id",): 0}
    files = sorted((tmp_path / "t").glob("*.parquet"))
    assert len(files) == 2, "the first load's file, rewritten without the replaced rows, and the staged one"
    assert {str(pq.read_schema(f).remove_metadata()) for f in files} == {str(schema)}
    table = pq.read_table(files).sort_by("id")
    assert table.column("id").to_pylist() == list(range(1, 111))
    assert table.column("name").to_pylist() == ["v1"] * 90 + ["v2"] * 20
    assert table.column("amount").to_pylist()[89:91] == [Decimal("90.01"), Decimal("91.02")]
