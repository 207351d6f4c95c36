"""Homes on their own: maxima for watermarks and sensors, and what they say when a source is wrong."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest_assets.connectors.files import CsvFolderResource, FolderResource
from ingest_assets.connectors.sqlite import SqliteFileResource
from ingest_assets.errors import TerminalError
from ingest_assets.homes.base import ReadRequest
from ingest_assets.homes.files import csv_home, parquet_home
from ingest_assets.homes.sql import SqlAlchemyHome
from ingest_assets.plan.model import ReadSpec
from ingest_assets.plan.window import RowFilter
from ingest_assets_tests.conftest import create_orders_db, write_events_parquet


def test_parquet_max_comes_from_footers_and_equals_a_full_scan(tmp_path: Path, monkeypatch):
    for day in range(3):
        write_events_parquet(tmp_path / f"events/{day}.parquet", datetime(2026, 3, 1 + day), 50, day * 50)
    home = parquet_home(FolderResource(path=str(tmp_path)))
    spec = ReadSpec(path="events")

    from_footers = home.max_value(spec, "happened_at")
    monkeypatch.setattr("ingest_assets.homes.files._max_from_parquet_statistics", lambda *a: None)
    from_scan = home.max_value(spec, "happened_at")

    assert from_footers == from_scan == datetime(2026, 3, 3, 23, 31, 12)


def test_parquet_without_statistics_falls_back_to_a_scan(tmp_path: Path):
    (tmp_path / "t").mkdir()
    pq.write_table(pa.table({"n": [3, 9, 4]}), tmp_path / "t/a.parquet", write_statistics=False)
    assert parquet_home(FolderResource(path=str(tmp_path))).max_value(ReadSpec(path="t"), "n") == 9


def test_csv_read_filters_rows_and_names_a_bad_value(tmp_path: Path):
    (tmp_path / "n.csv").write_text("n,label\n" + "".join(f"{i},x{i}\n" for i in range(1, 6)))
    home = csv_home(CsvFolderResource(path=str(tmp_path)))
    request = ReadRequest(ReadSpec(path="n.csv"), RowFilter.past("n", 2, 4))
    with home.read(request) as reader:
        assert reader.read_all().column("n").to_pylist() == [3, 4]

    # The first file decides the column types; a later file holds text in the integer column.
    (tmp_path / "z_bad.csv").write_text("n,label\nabc,y\n")
    with home.read(ReadRequest(ReadSpec(path="*.csv"))) as reader, pytest.raises(TerminalError) as caught:
        reader.read_all()
    assert "holds a value that does not fit its column" in str(caught.value)


def test_missing_paths_and_tables_say_what_exists(tmp_path: Path):
    files = parquet_home(FolderResource(path=str(tmp_path)))
    with pytest.raises(TerminalError, match=r"parquet home path 'nope' does not exist in .* -> check the entity's home.path"):
        with files.read(ReadRequest(ReadSpec(path="nope"))):
            pass
    with pytest.raises(TerminalError, match=r"no parquet files match 'x/\*.parquet'"):
        files.max_value(ReadSpec(path="x/*.parquet"), "n")

    create_orders_db(tmp_path / "shop.sqlite", 3)
    sql = SqlAlchemyHome(SqliteFileResource(path=str(tmp_path / "shop.sqlite")))
    with pytest.raises(TerminalError, match=r"table 'order' does not exist in the home database -> tables there: orders"):
        sql.max_value(ReadSpec(table="order"), "id")
    with pytest.raises(TerminalError, match=r"column 'nope' is not in orders -> columns there: id, customer, amount, updated_at"):
        sql.max_value(ReadSpec(table="orders"), "nope")
    assert sql.max_value(ReadSpec(table="orders"), "id") == 3


def _read_all(home, spec: ReadSpec) -> pa.Table:
    with home.read(ReadRequest(spec)) as reader:
        return reader.read_all()


def test_a_file_that_is_not_of_the_format_is_named_with_the_fix(tmp_path: Path):
    """A README or a truncated upload among good Parquet files: a located failure, not a raw Arrow error."""
    (tmp_path / "events").mkdir()
    pq.write_table(pa.table({"id": [1, 2]}), tmp_path / "events/a.parquet")
    (tmp_path / "events/b.parquet").write_bytes(b"PAR1 truncated")
    home = parquet_home(FolderResource(path=str(tmp_path)))
    named = (r"parquet home 'events': a file cannot be read as parquet: .*'.*events/b\.parquet'.*magic bytes.* -> "
             r"fix or remove that file, or narrow 'path:' to the good")
    with pytest.raises(TerminalError, match=named):
        _read_all(home, ReadSpec(path="events"))
    # The footers (the watermark's maximum, the row estimate) are read before any row: the same error.
    with pytest.raises(TerminalError, match=named):
        home.max_value(ReadSpec(path="events"), "id")
    with pytest.raises(TerminalError, match=named):
        home.estimate_rows(ReadRequest(ReadSpec(path="events")))
    # Narrowed to the good file by a glob, it reads.
    assert _read_all(home, ReadSpec(path="events/a*.parquet")).column("id").to_pylist() == [1, 2]


def test_a_ragged_csv_row_names_its_file(tmp_path: Path):
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv/a.csv").write_text("id,v\n1,a\n")
    (tmp_path / "csv/b.csv").write_text("id,v\n2,b,c\n")
    home = csv_home(CsvFolderResource(path=str(tmp_path)))
    with pytest.raises(TerminalError, match=rf"csv home 'csv', file {tmp_path / 'csv/b.csv'} holds a value that does "
                                            r"not fit its column: .*Expected 2 columns, got 3.* -> fix the file"):
        _read_all(home, ReadSpec(path="csv"))
    # The first file of a folder is read when the dataset is opened: its ragged row is said there.
    (tmp_path / "t.csv").write_text("id,v\n1,a\n2,b,c\n")
    with pytest.raises(TerminalError, match=r"csv home 't.csv': a file cannot be read as csv: .*Expected 2 columns, "
                                            r"got 3: 2,b,c -> fix or remove that file"):
        _read_all(home, ReadSpec(path="t.csv"))


def test_a_struct_column_cannot_be_a_watermark(tmp_path: Path):
    pq.write_table(pa.table({"id": [1], "s": [{"a": 1}]}), tmp_path / "nested.parquet")
    home = parquet_home(FolderResource(path=str(tmp_path)))
    with pytest.raises(TerminalError, match=r"watermark column 's' is a struct<a: int64>, which has no order -> use "
                                            r"a timestamp, date, integer or string column"):
        home.max_value(ReadSpec(path="nested.parquet"), "s")
