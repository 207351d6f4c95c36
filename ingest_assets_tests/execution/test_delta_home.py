"""The Delta home on real Delta tables written by delta-rs: full, incremental and partitioned loads into a
Parquet store through Dagster, reads streamed file by file, what a path that is not a table says at
run time and in `ingest check`, and incremental loads of a table's change data feed (`_commit_version`)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable, write_deltalake

from ingest_assets.cli.main import main
from ingest_assets.connectors.delta import DeltaResource
from ingest_assets.errors import TerminalError
from ingest_assets.homes.base import ReadRequest
from ingest_assets.homes.delta import delta_home
from ingest_assets.homes.explain import RowEstimate
from ingest_assets.plan.model import ChangeFeedPlan, ReadSpec
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


# ---- the change data feed: watermark _commit_version -----------------------------------------------

CDF = {"delta.enableChangeDataFeed": "true"}
CHANGES = "    run_type: incremental\n    watermark: _commit_version\n"


def write_cdf_orders(project: Project, ids: range) -> DeltaTable:
    write_deltalake(str(project.root / "lakehouse/sales/orders"), orders(ids), configuration=CDF)
    return DeltaTable(str(project.root / "lakehouse/sales/orders"))


def committed_at(table: DeltaTable, version: int) -> datetime:
    entry = next(entry for entry in table.history() if entry["version"] == version)
    return datetime.fromtimestamp(entry["timestamp"] / 1000, UTC)


def change(order: dict, kind: str, version: int, table: DeltaTable) -> dict:
    return {**order, "_change_type": kind, "_commit_version": version, "_commit_timestamp": committed_at(table, version)}


def test_the_change_feed_delivers_the_last_change_of_each_key_and_deletes_as_rows(project: Project, capsys):
    sales_project(project, CHANGES + "    keys: [id]\n")
    table = write_cdf_orders(project, range(1, 6))  # version 0
    project.materialize("sales/orders")

    first = orders(range(1, 6)).to_pylist()
    assert lake_rows(project) == [change(order, "insert", 0, table) for order in first]
    metadata = project.latest_metadata("sales/orders")
    assert (metadata["ingest/rows_read"], metadata["ingest/cursor"]["value"]) == (5, 0)

    table.update(predicate="id = 2", updates={"amount": "20.0"})  # 1
    table.delete("id = 3")  # 2
    write_deltalake(table, orders(range(6, 8)), mode="append")  # 3
    table.merge(orders(range(6, 9)).filter(pa.compute.is_in(pa.compute.field("id"), pa.array([6, 8]))),
                "t.id = s.id", source_alias="s", target_alias="t").when_matched_update(
        {"customer": "'moved'"}).when_not_matched_insert_all().execute()  # 4
    table.update(predicate="id = 2", updates={"amount": "22.0"})  # 5: id 2's second update in this load
    corrected = orders(range(1, 2)).set_column(2, "amount", pa.array([0.5]))
    write_deltalake(table, corrected, mode="overwrite", predicate="id = 1")  # 6: id 1 deleted and inserted
    table = DeltaTable(table.table_uri)
    capsys.readouterr()
    assert main(["plan", "--flows-dir", str(project.flows), "--json"]) == 0
    planned = json.loads(capsys.readouterr().out)["entities"][0]
    assert (planned["source_max"], planned["source"]["notes"][0], planned["write"]) == (
        6, "delta change data feed: the changes of versions 1 to 6", "upsert")
    project.materialize("sales/orders")

    by_id = {order["id"]: order for order in orders(range(1, 9)).to_pylist()}
    assert lake_rows(project) == [
        change(corrected.to_pylist()[0], "insert", 6, table),  # the insert of version 6, not its delete
        change({**by_id[2], "amount": 22.0}, "update_postimage", 5, table),
        change(by_id[3], "delete", 2, table),  # a soft delete: the row as it was, marked deleted
        change(by_id[4], "insert", 0, table),
        change(by_id[5], "insert", 0, table),
        change({**by_id[6], "customer": "moved"}, "update_postimage", 4, table),
        change(by_id[7], "insert", 3, table),
        change(by_id[8], "insert", 4, table),
    ]
    metadata = project.latest_metadata("sales/orders")
    # One change of each of the six keys that changed (id 2's preimages and earlier update dropped).
    assert (metadata["ingest/rows_read"], metadata["ingest/cursor"]["value"]) == (6, table.version()) == (6, 6)

    project.materialize("sales/orders")  # nothing committed since: nothing read, the cursor stays
    metadata = project.latest_metadata("sales/orders")
    assert (metadata["ingest/rows_read"], metadata["ingest/cursor"]["value"]) == (0, 6)
    assert len(lake_rows(project)) == 8


def test_without_keys_every_change_is_appended_in_order(project: Project):
    sales_project(project, CHANGES)
    table = write_cdf_orders(project, range(1, 4))
    project.materialize("sales/orders")
    table.update(predicate="id = 2", updates={"amount": "20.0"})
    table.update(predicate="id = 2", updates={"amount": "21.0"})
    table.delete("id = 1")
    project.materialize("sales/orders")

    rows = sorted(read_parquet_table(project.root / "lake/sales/orders").to_pylist(),
                  key=lambda row: (row["_commit_version"], row["id"]))
    first = orders(range(1, 4)).to_pylist()
    assert rows == [*(change(order, "insert", 0, table) for order in first),
                    change({**first[1], "amount": 20.0}, "update_postimage", 1, table),
                    change({**first[1], "amount": 21.0}, "update_postimage", 2, table),
                    change(first[0], "delete", 3, table)]
    assert project.latest_metadata("sales/orders")["ingest/cursor"]["value"] == 3


def test_the_change_feed_reads_the_version_the_run_planned(tmp_path: Path):
    write_deltalake(str(tmp_path / "t"), orders(range(1, 4)), configuration=CDF)
    table = DeltaTable(str(tmp_path / "t"))
    table.delete("id = 1")  # 1
    table.delete("id = 2")  # 2: after the run's maximum
    home = delta_home(DeltaResource(local_path=str(tmp_path)))
    spec = ReadSpec(path="t", columns=("id", "_change_type", "_commit_version"), change_feed=ChangeFeedPlan(("id",)))

    assert home.max_value(spec, "_commit_version") == 2
    with home.read(ReadRequest(spec, RowFilter.past("_commit_version", 0, 1))) as reader:
        assert reader.read_all().to_pylist() == [{"id": 1, "_change_type": "delete", "_commit_version": 1}]
    with home.read(ReadRequest(spec, RowFilter.closed("_commit_version", None, 1, include_nulls=True))) as reader:
        assert reader.read_all().to_pylist() == [{"id": i, "_change_type": "insert", "_commit_version": 1}
                                                 for i in (2, 3)]  # the snapshot of version 1
    with home.read(ReadRequest(spec, limit=1)) as reader:  # `ingest check`, a sample: the latest snapshot
        assert reader.read_all().to_pylist() == [{"id": 3, "_change_type": "insert", "_commit_version": 2}]
    with home.read(ReadRequest(spec, RowFilter.closed("_commit_version", 1, 2))) as reader:  # watermark.start: 1
        assert sorted(reader.read_all().to_pylist(), key=lambda row: row["id"]) == [
            {"id": 1, "_change_type": "delete", "_commit_version": 1},
            {"id": 2, "_change_type": "delete", "_commit_version": 2}]
    nothing = ReadRequest(spec, RowFilter.past("_commit_version", 2, 2))
    with home.read(nothing) as reader:
        assert reader.read_all().num_rows == 0
    assert home.estimate_rows(nothing) == RowEstimate(0, "no version after 2", exact=True)
    assert home.estimate_rows(ReadRequest(spec, RowFilter.past("_commit_version", 0, 2))).rows is None
    assert "delta change data feed: the changes of versions 1 to 2" in home.source_query(
        ReadRequest(spec, RowFilter.past("_commit_version", 0, 2))).notes


def test_a_table_without_change_data_feed_is_refused_with_the_fix(project: Project):
    sales_project(project, CHANGES)
    write_orders(project, range(1, 4))

    result = project.materialize("sales/orders", raise_on_error=False)

    assert not result.success
    description = result.get_step_failure_events()[0].step_failure_data.user_failure_data.description
    assert (f"delta home path 'sales/orders' in {project.root / 'lakehouse'} has no change data feed "
            "(delta.enableChangeDataFeed is not true), which the watermark _commit_version reads -> set the table "
            "property delta.enableChangeDataFeed = true") in description
    assert "run once with {reset_watermark: true} to reload the table's current version" in description


def test_changes_whose_files_were_vacuumed_are_refused_with_the_fix(project: Project):
    sales_project(project, CHANGES + "    keys: [id]\n")
    table = write_cdf_orders(project, range(1, 4))
    project.materialize("sales/orders")
    write_deltalake(table, orders(range(4, 5)), mode="append")  # 1
    table.optimize.compact()  # 2
    table.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)  # 3, 4: the append's file gone

    result = project.materialize("sales/orders", raise_on_error=False)

    assert not result.success
    description = result.get_step_failure_events()[0].step_failure_data.user_failure_data.description
    assert "delta home path 'sales/orders'" in description and "cannot return the changes of versions 1 to 4 (" \
        in description and "their files were vacuumed or their log entries cleaned up: run once with " \
        "{reset_watermark: true}" in description
    assert project.latest_metadata("sales/orders")["ingest/cursor"]["value"] == 0


def test_a_watermark_start_that_is_not_a_version_is_refused(tmp_path: Path):
    from ingest_assets_tests.unit.test_config_errors import problems

    files = {"flows/ingest.yml": CONNECTIONS,
             "flows/sales/flow.yml": "home: lakehouse\nstore: lake\nentities:\n  - name: orders\n"
                                     "    home: {path: sales/orders}\n    run_type: incremental\n    keys: [id]\n"
                                     "    watermark: {column: _commit_version, lookback: 2h}\n"}
    assert problems(tmp_path, files) == [
        "flows/sales/flow.yml:8: sales.orders: watermark.lookback '2h': _commit_version counts the table's versions "
        "-> give a version number (or a number of versions for lookback)"]
