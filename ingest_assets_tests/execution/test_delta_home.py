"""The Delta home on real Delta tables written by delta-rs: full, incremental and partitioned loads into a
Parquet store through Dagster, reads streamed file by file, and what a path that is not a table says at
run time and in `ingest check`."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable, write_deltalake

from ingest_assets.connectors.delta import DeltaResource
from ingest_assets.errors import TerminalError
from ingest_assets.homes.base import ReadRequest
from ingest_assets.homes.delta import delta_home
from ingest_assets.plan.model import ReadSpec
from ingest_assets.plan.window import RowFilter
from ingest_assets_tests.conftest import BASE_TIME, Project, read_parquet_table
from ingest_assets_tests.integration.test_cli_check import check

FIX = "set the entity's home.path to the table's folder (the one holding _delta_log/) below the connection's path"
CONNECTIONS = "connections:\n  lakehouse: {type: delta, path: lakehouse}\n  lake: {type: parquet, path: lake}\n"


def orders(ids: range) -> pa.Table:
    """Orders one minute apart, `updated_at` growing with `id`."""
    return pa.table({
        "id": pa.array(ids, pa.int64()),
        "customer": [f"customer-{i % 7}" for i in ids],
        "amount": pa.array([i * 1.25 for i in ids], pa.float64()),
        "updated_at": pa.array([BASE_TIME + timedelta(minutes=i) for i in ids], pa.timestamp("us")),
    })


def write_orders(project: Project, ids: range) -> None:
    write_deltalake(str(project.root / "lakehouse/sales/orders"), orders(ids), mode="append")


def sales_project(project: Project, entity: str = "") -> Project:
    project.write({
        "flows/ingest.yml": CONNECTIONS,
        "flows/sales/flow.yml": "home: lakehouse\nstore: lake\nentities:\n  - name: orders\n"
                                "    home: {path: sales/orders}\n    batch_size: 7\n" + entity,
    })
    return project


def lake_rows(project: Project, table: str = "sales/orders") -> list[dict]:
    return sorted(read_parquet_table(project.root / "lake" / table).to_pylist(), key=lambda row: row["id"])


def test_a_full_load_moves_every_row_of_the_current_version(project: Project):
    sales_project(project)
    write_orders(project, range(1, 21))
    write_orders(project, range(21, 31))  # a second commit: both versions' files are read
    corrected = orders(range(1, 6)).set_column(2, "amount", pa.array([0.5] * 5))
    write_deltalake(str(project.root / "lakehouse/sales/orders"), corrected, mode="overwrite",
                    predicate="id <= 5")  # and a rewrite: the files it replaced are no longer read

    project.materialize("sales/orders")

    assert lake_rows(project) == corrected.to_pylist() + orders(range(6, 31)).to_pylist()
    metadata = project.latest_metadata("sales/orders")
    assert (metadata["ingest/rows_read"], metadata["ingest/rows_written"]) == (30, 30)


def test_an_incremental_run_reads_only_the_rows_appended_after_the_cursor(project: Project):
    sales_project(project, "    run_type: incremental\n    keys: [id]\n    watermark: updated_at\n")
    write_orders(project, range(1, 11))
    project.materialize("sales/orders")
    assert project.latest_metadata("sales/orders")["ingest/rows_read"] == 10

    write_orders(project, range(11, 15))
    project.materialize("sales/orders")

    metadata = project.latest_metadata("sales/orders")
    assert metadata["ingest/rows_read"] == 4
    assert metadata["ingest/cursor"]["value"] == (BASE_TIME + timedelta(minutes=14)).isoformat()
    assert [row["id"] for row in lake_rows(project)] == list(range(1, 15))
    assert lake_rows(project)[-1] == orders(range(14, 15)).to_pylist()[0]


def test_a_partition_reads_only_its_day_of_a_partitioned_table(project: Project):
    project.write({
        "flows/ingest.yml": CONNECTIONS,
        "flows/web/flow.yml": "home: lakehouse\nstore: lake\nentities:\n  - name: events\n    home: {path: events}\n"
                              "    keys: [event_id]\n"
                              "    partition: {column: happened_at, granularity: daily, start: 2026-03-01}\n",
    })
    times = [datetime(2026, 3, 1 + i // 4, 6 * (i % 4)) for i in range(12)]  # 4 events a day, 3 days
    events = pa.table({"event_id": pa.array(range(12), pa.int64()), "kind": [("view", "buy")[i % 2] for i in range(12)],
                       "happened_at": pa.array(times, pa.timestamp("us"))})
    write_deltalake(str(project.root / "lakehouse/events"), events, partition_by=["kind"])

    project.materialize("web/events", partition_key="2026-03-02")

    rows = sorted(read_parquet_table(project.root / "lake/web/events").to_pylist(), key=lambda row: row["event_id"])
    assert [(row["event_id"], row["kind"], row["happened_at"]) for row in rows] == [
        (i, ("view", "buy")[i % 2], times[i]) for i in range(4, 8)]  # the partition column comes from the path


def test_reads_stream_batches_and_never_load_the_table(tmp_path: Path, monkeypatch):
    write_deltalake(str(tmp_path / "t"), orders(range(1, 101)))
    write_deltalake(str(tmp_path / "t"), orders(range(101, 201)), mode="append")
    monkeypatch.setattr(DeltaTable, "to_pyarrow_table", lambda *a, **k: pytest.fail("read the whole table"))
    home = delta_home(DeltaResource(local_path=str(tmp_path)))
    spec = ReadSpec(path="t", columns=("id", "updated_at"), batch_size=16)

    with home.read(ReadRequest(spec, RowFilter.past("id", 50, 150))) as reader:
        batches = list(reader)
    assert max(batch.num_rows for batch in batches) <= 16 and len(batches) >= 7
    assert sorted(pa.Table.from_batches(batches).column("id").to_pylist()) == list(range(51, 151))
    assert home.max_value(spec, "updated_at") == BASE_TIME + timedelta(minutes=200)
    estimate = home.estimate_rows(ReadRequest(spec))
    assert (estimate.rows, estimate.exact, estimate.method) == (200, True, "delta log of version 1")
    with home.read(ReadRequest(spec, limit=5)) as reader:
        assert reader.read_all().num_rows == 5


def test_a_column_added_by_a_later_commit_is_null_in_the_earlier_rows(tmp_path: Path):
    write_deltalake(str(tmp_path / "t"), orders(range(1, 3)))
    write_deltalake(str(tmp_path / "t"), orders(range(3, 4)).append_column("note", pa.array(["new"])), mode="append",
                    schema_mode="merge")
    home = delta_home(DeltaResource(local_path=str(tmp_path)))
    with home.read(ReadRequest(ReadSpec(path="t", columns=("id", "note")))) as reader:
        assert sorted(reader.read_all().to_pylist(), key=lambda row: row["id"]) == [
            {"id": 1, "note": None}, {"id": 2, "note": None}, {"id": 3, "note": "new"}]


def test_a_path_that_is_not_a_delta_table_says_so_with_the_fix(tmp_path: Path):
    (tmp_path / "plain").mkdir()
    pq.write_table(pa.table({"id": [1]}), tmp_path / "plain/a.parquet")
    (tmp_path / "file.parquet").write_bytes(b"")
    (tmp_path / "empty/_delta_log").mkdir(parents=True)  # a table whose first commit never came
    home = delta_home(DeltaResource(local_path=str(tmp_path)))

    def error(path: str) -> str:
        with pytest.raises(TerminalError) as raised:
            with home.read(ReadRequest(ReadSpec(path=path))):
                pass
        return str(raised.value)

    where = f"delta home path {{!r}} in {tmp_path}"
    assert error("nope") == f"{where.format('nope')} does not exist -> {FIX}"
    assert error("file.parquet") == f"{where.format('file.parquet')} is a file, not a Delta table's folder -> {FIX}"
    assert error("plain") == (f"{where.format('plain')} is not a Delta table (it has no _delta_log/) -> {FIX}; "
                              "plain Parquet files are read by a `parquet` connection")
    assert re.fullmatch(re.escape(where.format("empty")) + r" has a Delta log that cannot be read \(.+\) -> repair "
                        r"the table or wait for its first commit, or point home.path at another table", error("empty"))
    with pytest.raises(TerminalError, match=r"^delta home path 'nope' .* does not exist"):  # the sensor's call too
        home.max_value(ReadSpec(path="nope"), "id")


def test_check_fails_on_a_missing_table_and_on_a_folder_that_is_not_one(project: Project, capsys):
    write_deltalake(str(project.root / "lakehouse/good"), orders(range(1, 3)))
    (project.root / "lakehouse/plain").mkdir()
    pq.write_table(orders(range(1, 3)), project.root / "lakehouse/plain/a.parquet")
    entities = [f"  - {{name: {name}, home: {{path: {name}}}, run_type: incremental, watermark: updated_at}}\n"
                for name in ("good", "plain")]
    project.write({"flows/ingest.yml": CONNECTIONS, "flows/s/flow.yml": "home: lakehouse\nstore: lake\nentities:\n"
                   + "".join(entities)})

    code, lines = check(project, capsys)
    assert code == 1
    assert lines[1:3] == ["lakehouse (delta): home of 2 entities", "  ok    can read 'good'"]
    root = project.root
    assert lines == [
        "project is valid: 1 flow, 2 entities",
        "lakehouse (delta): home of 2 entities",
        "  ok    can read 'good'",
        "  ok    can read 'plain'",  # the folder check sees a folder; the read below sees no table
        "  ok    s.good: the source has updated_at",
        f"  FAIL  s.plain: delta home path 'plain' in {root / 'lakehouse'} is not a Delta table (it has no "
        f"_delta_log/) -> {FIX}; plain Parquet files are read by a `parquet` connection",
        "lake (parquet): store of 2 entities",
        f"  note  folder {root / 'lake'} does not exist yet; {root} is writable, so the first load creates it",
        "2 connections checked, 1 failed",
    ]

    project.write({"flows/s/flow.yml": "home: lakehouse\nstore: lake\nentities: [{name: gone, home: {path: gone}}]\n"})
    code, lines = check(project, capsys)
    assert code == 1
    assert lines[2] == f"  FAIL  'gone' does not exist in {project.root / 'lakehouse'} -> check the entity's home.path"
