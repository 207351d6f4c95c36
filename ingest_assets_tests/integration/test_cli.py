"""The real Dagster CLI and webserver as subprocesses, on a project in a temporary folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import dagster as dg
import pytest

from ingest_assets_tests.conftest import (
    create_orders_db,
    duckdb_rows,
    read_parquet_table,
    write_events_parquet,
    write_files,
)
from ingest_assets_tests.servers.processes import free_port

pytestmark = pytest.mark.slow

PROJECT = {
    "flows/ingest.yml": """
        connections:
          shop: {type: sqlite, path: source/shop.sqlite}
          files: {type: parquet, path: source}
          lake: {type: parquet, path: lake}
          warehouse: {type: duckdb, path: warehouse.duckdb}
        """,
    "flows/sales/flow.yml": """
        home: shop
        store: lake
        run_type: incremental
        entities:
          - name: orders
            keys: [id]
            watermark: updated_at
            tags: [critical]
          - name: customers_copy
            run_type: full_drop
            home: {table: orders}
            columns: [id, customer]
        """,
    "flows/web/flow.yml": """
        home: files
        store: warehouse
        tags: [critical]
        entities:
          - name: events
            home: {path: events}
            partition: {column: happened_at, granularity: daily, start: 2026-03-01}
          - name: all_events
            home: {path: events}
        """,
}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    write_files(tmp_path, PROJECT)
    create_orders_db(tmp_path / "source/shop.sqlite", 40)
    for day in range(3):
        write_events_parquet(tmp_path / f"source/events/{day}.parquet", datetime(2026, 3, 1 + day), 10, day * 10)
    (tmp_path / "home").mkdir()
    (tmp_path / "home/dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return tmp_path


def dagster(workdir: Path, *arguments: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DAGSTER_HOME": str(workdir / "home"), "INGEST_FLOWS_DIR": str(workdir / "flows")}
    command = [str(Path(sys.executable).with_name("dagster")), *arguments]
    return subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=240)


def materialized_keys(workdir: Path) -> set[str]:
    with dg.DagsterInstance.from_config(str(workdir / "home")) as instance:
        records = instance.get_asset_records()
        return {r.asset_entry.asset_key.to_user_string() for r in records if r.asset_entry.last_materialization}


def test_cli_selection_by_tag_materializes_exactly_the_tagged_assets(workdir: Path):
    # `critical` is on sales/orders (entity tag) and on every web entity (flow tag); the partitioned
    # web/events needs a partition, so select the unpartitioned ones.
    result = dagster(workdir, "asset", "materialize", "-m", "ingest_assets.definitions",
                     "--select", "tag:critical and not key:web/events")

    assert result.returncode == 0, result.stderr[-3000:]
    assert materialized_keys(workdir) == {"sales/orders", "web/all_events"}
    assert sorted(read_parquet_table(workdir / "lake/sales/orders").column("id").to_pylist()) == list(range(1, 41))
    assert duckdb_rows(workdir / "warehouse.duckdb", "SELECT count(*) FROM web.all_events") == [(30,)]
    assert not (workdir / "lake/sales/customers_copy").exists()


def test_cli_selection_mixing_partitioned_and_unpartitioned_entities_runs(workdir: Path):
    """`--select '*'` holds the partitioned web/events: Dagster's CLI needs a partition (or a range) for
    it, and then runs the unpartitioned entities once beside it; `not tag:ingest/partitioned` leaves
    the partitioned ones out."""
    result = dagster(workdir, "asset", "materialize", "-m", "ingest_assets.definitions",
                     "--select", "tag:critical and not tag:ingest/partitioned")
    assert result.returncode == 0, result.stderr[-3000:]
    assert materialized_keys(workdir) == {"sales/orders", "web/all_events"}

    result = dagster(workdir, "asset", "materialize", "-m", "ingest_assets.definitions",
                     "--select", "*", "--partition-range", "2026-03-02...2026-03-03")
    assert result.returncode == 0, result.stderr[-3000:]
    assert materialized_keys(workdir) == {"sales/orders", "sales/customers_copy", "web/all_events", "web/events"}
    assert duckdb_rows(workdir / "warehouse.duckdb",
                       "SELECT min(event_id), max(event_id), count(*) FROM web.events") == [(10, 29, 20)]
    assert duckdb_rows(workdir / "warehouse.duckdb", "SELECT count(*) FROM web.all_events") == [(30,)]
    assert read_parquet_table(workdir / "lake/sales/customers_copy").num_rows == 40

    result = dagster(workdir, "asset", "materialize", "-m", "ingest_assets.definitions",
                     "--select", "tag:critical", "--partition", "2026-03-01")
    assert result.returncode == 0, result.stderr[-3000:]
    assert duckdb_rows(workdir / "warehouse.duckdb", "SELECT count(*) FROM web.events") == [(30,)]


def test_cli_partition_range_and_run_config(workdir: Path):
    result = dagster(workdir, "asset", "materialize", "-m", "ingest_assets.definitions",
                     "--select", "web/events", "--partition-range", "2026-03-01...2026-03-02")
    assert result.returncode == 0, result.stderr[-3000:]
    assert duckdb_rows(workdir / "warehouse.duckdb",
                       "SELECT min(event_id), max(event_id), count(*) FROM web.events") == [(0, 19, 20)]
    with dg.DagsterInstance.from_config(str(workdir / "home")) as instance:
        records = instance.fetch_materializations(dg.AssetKey(["web", "events"]), limit=10).records
        assert sorted(record.partition_key for record in records) == ["2026-03-01", "2026-03-02"]
        for record in records:  # each partition gets the run's one materialization
            metadata = {key: value.value for key, value in record.asset_materialization.metadata.items()}
            assert "dagster/partition_row_count" not in metadata  # it would say 20 rows of each day
            assert metadata["ingest/partition_range"] == "2026-03-01...2026-03-02 (2 partitions)"
            assert (metadata["ingest/range_row_count"], metadata["ingest/rows_read"]) == (20, 20)

    config = json.dumps({"ops": {"sales__orders": {"config": {"run_type": "full_drop"}}}})
    result = dagster(workdir, "asset", "materialize", "-m", "ingest_assets.definitions",
                     "--select", "sales/orders", "--config-json", config)
    assert result.returncode == 0, result.stderr[-3000:]
    with dg.DagsterInstance.from_config(str(workdir / "home")) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(["sales", "orders"]))
        assert event.asset_materialization.metadata["ingest/load"].value.startswith("full read, replace")


def test_cli_reports_every_problem_of_an_invalid_project(workdir: Path):
    write_files(workdir, {
        "flows/sales/entities/refunds.yml": "watermak: updated_at\n",
        "flows/web/flow.yml": PROJECT["flows/web/flow.yml"].replace("store: warehouse", "store: warehous"),
    })
    result = dagster(workdir, "asset", "materialize", "-m", "ingest_assets.definitions", "--select", "*")

    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert ("flows/sales/entities/refunds.yml:1: sales.refunds: unknown key 'watermak' -> did you mean "
            "'watermark'?") in output
    assert ("flows/web/flow.yml:2: web.events: store connection 'warehous' is not defined in flows/ingest.yml "
            "-> did you mean 'warehouse'?") in output
    assert not (workdir / "lake").exists()


def test_webserver_serves_the_assets_checks_and_jobs(workdir: Path):
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(workdir / "home"), "INGEST_FLOWS_DIR": str(workdir / "flows")}
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-webserver")), "-m", "ingest_assets.definitions",
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        query = ("{ assetNodes { assetKey { path } groupName kinds tags { key value } "
                 "assetChecksOrError { ... on AssetChecks { checks { name blocking } } } } }")
        data = _graphql(port, query)
        nodes = {"/".join(n["assetKey"]["path"]): n for n in data["assetNodes"]}
        assert set(nodes) == {"sales/orders", "sales/customers_copy", "web/events", "web/all_events",
                              "source/shop/orders", "source/files/events"}  # and what they read, upstream
        orders = nodes["sales/orders"]
        assert orders["groupName"] == "sales"
        assert set(orders["kinds"]) == {"sqlite", "parquet", "ingest_assets"}
        assert {"key": "critical", "value": ""} in orders["tags"]
        assert {c["name"]: c["blocking"] for c in orders["assetChecksOrError"]["checks"]} == {
            "rows_read_equal_written": True, "destination_row_count": False, "schema_unchanged": False,
            "keys_not_null_unique": True}
    finally:
        server.terminate()
        server.wait(timeout=30)


def _graphql(port: int, query: str, timeout_seconds: float = 90) -> dict:
    deadline = time.monotonic() + timeout_seconds
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    while True:
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())["data"]
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
