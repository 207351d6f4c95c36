"""A run killed after the store committed and before Dagster recorded its materialization.

That moment is the one where the destination and Dagster's cursor can disagree: the rows are in,
the cursor is not. The next run must neither load those rows again (an append entity would hold
them twice) nor lose the ones after them. The store keeps a `LoadRecord` in the same commit as the
rows; the next run goes on from it (`runtime.reconcile`).

The kill is real: the load runs in a child process over the test's instance, which exits with
`os._exit(137)` (no cleanup, like SIGKILL) the moment the commit returns, before any report.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap

import dagster as dg
import pytest

from ingest_assets.stores.load_record import LOADS_TABLE
from ingest_assets_tests.conftest import Project, create_orders_db, duckdb_rows, insert_orders, read_parquet_table

KILLED = 137

# The child: the real definitions and instance, with the report (the first thing after the commit)
# replaced by an exit.
KILL_AFTER_COMMIT = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef
    from ingest_assets.defs.factory import build_definitions
    from ingest_assets.runtime import materialize

    def killed(*args, **kwargs):
        os._exit(137)

    materialize._report = killed
    flows, home, selection = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    defs = build_definitions(flows)
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(home)) as instance:
        dg.materialize([a for a in defs.assets if isinstance(a, dg.AssetsDefinition)],
                       selection=selection, resources=defs.resources, instance=instance)
    sys.exit(0)  # the kill did not happen
""")

FLOW = """
    home: shop
    store: target
    run_type: incremental
    """
ENTITY = """
    home: {table: orders}
    watermark: updated_at
    """


def kill_after_commit(project: Project, selection: str) -> None:
    child = subprocess.run(
        [sys.executable, "-c", KILL_AFTER_COMMIT, str(project.flows), str(project.root / ".dagster"), selection],
        capture_output=True, text=True, timeout=300,
    )
    assert child.returncode == KILLED, child.stderr[-3000:]


def _store_connection(store: str, project: Project, request: pytest.FixtureRequest) -> str:
    if store == "postgres":
        server = request.getfixturevalue("postgres_server")
        database = request.getfixturevalue("pg_database")
        return "  target:\n" + server.connection_yaml(database)
    return {
        "parquet": "  target: {type: parquet, path: lake}",
        "delta": "  target: {type: delta, path: lake}",
        "duckdb": "  target: {type: duckdb, path: warehouse.duckdb}",
        "sqlite": "  target: {type: sqlite, path: target.sqlite}",
        "adls": "  target: {type: adls, local_path: lake, base_path: raw}",
    }[store]


def _ids(store: str, project: Project, request: pytest.FixtureRequest) -> list[int]:
    """The destination's ids, in the order they sort, duplicates kept."""
    if store == "delta":
        import polars as pl

        return sorted(pl.read_delta(str(project.root / "lake/sales/orders"))["id"].to_list())
    if store in ("parquet", "adls"):
        folder = project.root / ("lake/sales/orders" if store == "parquet" else "lake/raw/sales/orders")
        return sorted(read_parquet_table(folder).column("id").to_pylist())
    if store == "duckdb":
        return [i for (i,) in duckdb_rows(project.root / "warehouse.duckdb", "SELECT id FROM sales.orders ORDER BY id")]
    if store == "sqlite":
        with sqlite3.connect(project.root / "target.sqlite") as connection:
            return [i for (i,) in connection.execute("SELECT id FROM sales__orders ORDER BY id")]
    server = request.getfixturevalue("postgres_server")
    with server.connect(request.getfixturevalue("pg_database")) as connection:
        return [i for (i,) in connection.execute("SELECT id FROM sales.orders ORDER BY id").fetchall()]


@pytest.mark.parametrize("store", ["parquet", "delta", "duckdb", "sqlite", "postgres", "adls"])
def test_a_load_committed_by_a_killed_run_is_neither_loaded_again_nor_lost(
    project: Project, store: str, request: pytest.FixtureRequest
):
    project.write({
        "flows/ingest.yml": "connections:\n  shop: {type: sqlite, path: source/shop.sqlite}\n"
                            + _store_connection(store, project, request) + "\n",
        "flows/sales/flow.yml": FLOW,
        "flows/sales/entities/orders.yml": ENTITY,
    })
    source = project.root / "source/shop.sqlite"
    create_orders_db(source, 100)
    project.materialize("sales/orders")

    with sqlite3.connect(source) as connection:
        insert_orders(connection, range(101, 151))
    kill_after_commit(project, "sales/orders")
    killed_run = next(run.run_id for run in project.instance.get_runs(limit=1))
    # Committed, not recorded: the state the next run starts from.
    assert _ids(store, project, request) == list(range(1, 151))
    assert project.materialization_count("sales/orders") == 1

    with sqlite3.connect(source) as connection:
        insert_orders(connection, range(151, 161))
    result = project.materialize("sales/orders")
    assert _ids(store, project, request) == list(range(1, 161)), "the killed run's rows are there once"
    metadata = project.latest_metadata("sales/orders")
    assert metadata["ingest/rows_written"] == 10
    assert metadata["ingest/cursor"]["value"] == "2026-03-01T10:40:00"  # BASE_TIME + 160 minutes
    logged = [entry.user_message for entry in project.instance.all_logs(result.run_id)]
    assert any(f"a load of run {killed_run} that Dagster did not record" in message for message in logged)


def test_the_record_rolls_back_with_a_failed_commit(project: Project, monkeypatch: pytest.MonkeyPatch):
    """A commit that fails leaves the record of the load before it: the next run goes by Dagster's cursor."""
    project.write({
        "flows/ingest.yml": "connections:\n  shop: {type: sqlite, path: source/shop.sqlite}\n"
                            "  target: {type: duckdb, path: warehouse.duckdb}\n",
        "flows/sales/flow.yml": FLOW,
        "flows/sales/entities/orders.yml": ENTITY,
    })
    source = project.root / "source/shop.sqlite"
    create_orders_db(source, 100)
    project.materialize("sales/orders")
    first_run = project.instance.get_latest_materialization_event(dg.AssetKey(["sales", "orders"]))
    assert first_run is not None
    record = duckdb_rows(project.root / "warehouse.duckdb", f"SELECT record FROM {LOADS_TABLE}")
    assert first_run.run_id in record[0][0]

    def fail(*args, **kwargs):
        raise OSError("disk full")

    with sqlite3.connect(source) as connection:
        insert_orders(connection, range(101, 111))
    monkeypatch.setattr("ingest_assets.stores.duckdb.measure_quality", fail)
    assert not project.materialize("sales/orders", raise_on_error=False).success
    assert duckdb_rows(project.root / "warehouse.duckdb", f"SELECT record FROM {LOADS_TABLE}") == record
    monkeypatch.undo()
    project.materialize("sales/orders")
    assert [i for (i,) in duckdb_rows(project.root / "warehouse.duckdb", "SELECT id FROM sales.orders ORDER BY id")] \
        == list(range(1, 111))
