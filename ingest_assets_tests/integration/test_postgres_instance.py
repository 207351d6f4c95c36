"""The Dagster instance on a real PostgreSQL (dagster-postgres), driven by the real `dagster` CLI.

The README's dagster.yaml forms (`postgres_url` with `postgresql+psycopg2://`, `postgres_db` with
`scheme: postgresql+psycopg2`) run an incremental entity twice: the second run reads only the rows
past the cursor the first committed, and the runs, their events and the materializations are in
the PostgreSQL instance. The failing form (plain `postgresql://`, psycopg 3 under SQLAlchemy 2.1) is
refused when the definitions load, naming the file and the fix, before any run is created.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from ingest_assets_tests.conftest import create_orders_db, insert_orders, write_files

pytestmark = pytest.mark.slow

pytest.importorskip("dagster_postgres")
pytest.importorskip("psycopg2")


def _project(root: Path, postgres_server, destination: str) -> None:
    write_files(root, {
        "flows/ingest.yml": ("connections:\n  shop: {type: sqlite, path: source/shop.sqlite}\n  warehouse:\n"
                             + postgres_server.connection_yaml(destination) + "\n"),
        "flows/sales/flow.yml": """
            home: shop
            store: warehouse
            run_type: incremental
            entities:
              - name: orders
                keys: [id]
                watermark: updated_at
            """,
    })
    create_orders_db(root / "source/shop.sqlite", 10)


def _instance_yaml(postgres_server, database: str, form: str) -> str:
    if form == "postgres_url":
        storage = (f"    postgres_url: postgresql+psycopg2://{postgres_server.user}@/{database}"
                   f"?host={postgres_server.socket_dir}\n")
    elif form == "postgres_db":
        storage = ("    postgres_db:\n"
                   f"      username: {postgres_server.user}\n"
                   "      hostname: ''\n"
                   f"      db_name: {database}\n"
                   f"      params: {{host: {postgres_server.socket_dir}}}\n"
                   "      scheme: postgresql+psycopg2\n")
    else:  # the form that fails: SQLAlchemy 2.1 picks psycopg 3 for a plain postgresql:// URL
        storage = f"    postgres_url: postgresql://{postgres_server.user}@/{database}?host={postgres_server.socket_dir}\n"
    return "storage:\n  postgres:\n" + storage + "telemetry:\n  enabled: false\n"


def _dagster(root: Path, *arguments: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DAGSTER_HOME": str(root / "home"), "INGEST_FLOWS_DIR": str(root / "flows")}
    command = [str(Path(sys.executable).with_name("dagster")), *arguments]
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=240)


def _materialize(root: Path) -> subprocess.CompletedProcess:
    return _dagster(root, "asset", "materialize", "-m", "ingest_assets.definitions", "--select", "sales/orders")


@pytest.mark.parametrize("form", ["postgres_url", "postgres_db"])
def test_an_incremental_entity_runs_twice_on_a_postgres_instance(tmp_path, postgres_server, pg_database, form):
    instance_db = postgres_server.create_database(f"{pg_database[:40]}_dagster")
    _project(tmp_path, postgres_server, pg_database)
    (tmp_path / "home").mkdir()
    (tmp_path / "home/dagster.yaml").write_text(_instance_yaml(postgres_server, instance_db, form))

    first = _materialize(tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    with sqlite3.connect(tmp_path / "source/shop.sqlite") as connection:
        insert_orders(connection, range(11, 16))
    second = _materialize(tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]

    assert postgres_server.execute(pg_database, "SELECT count(*), min(id), max(id) FROM sales.orders") == [(15, 1, 15)]
    # The instance is the PostgreSQL database: its own tables hold the runs and the event log.
    assert postgres_server.execute(instance_db, "SELECT count(*) FROM runs WHERE status = 'SUCCESS'") == [(2,)]
    assert postgres_server.execute(
        instance_db, "SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'") == [(2,)]
    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        records = instance.fetch_materializations(dg.AssetKey(["sales", "orders"]), limit=10).records
        first_run, second_run = sorted((r.event_log_entry.asset_materialization.metadata for r in records),
                                       key=lambda m: m["ingest/rows_written"].value != 10)
    assert first_run["ingest/rows_read"].value == 10
    # The second run started from the first one's cursor, read in the instance: only the new rows.
    assert second_run["ingest/rows_read"].value == 5
    assert second_run["ingest/load"].value == "cursor read, upsert (rows after the committed watermark 2026-03-01 08:10:00)"
    assert second_run["ingest/watermark"].value.startswith("updated_at = 2026-03-01 08:15")


def test_a_url_that_picks_psycopg3_is_refused_before_any_run(tmp_path, postgres_server, pg_database):
    instance_db = postgres_server.create_database(f"{pg_database[:40]}_dagster")
    _project(tmp_path, postgres_server, pg_database)
    (tmp_path / "home").mkdir()
    (tmp_path / "home/dagster.yaml").write_text(_instance_yaml(postgres_server, instance_db, "failing"))

    result = _materialize(tmp_path)

    assert result.returncode != 0
    assert (f"{tmp_path / 'home/dagster.yaml'}: storage.postgres_url: the scheme 'postgresql' makes SQLAlchemy "
            "use the psycopg 3 driver, with which dagster-postgres fails to write run events (syntax error at or "
            "near \"$1\" ... NOTIFY) -> write the URL as postgresql+psycopg2://user:password@host:5432/database, "
            "and install psycopg2 (pip install 'ingest_assets[postgres-instance]')") in result.stderr
    # Refused while the definitions loaded: no run was created, the destination was never touched.
    assert postgres_server.execute(
        pg_database, "SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'sales'") == [(0,)]
    assert postgres_server.execute(
        instance_db, "SELECT count(*) FROM runs") == [(0,)]  # the CLI made the instance's tables, not a run
