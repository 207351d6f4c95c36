"""Another process reading the DuckDB store's database while a load runs (a BI tool, a notebook).

DuckDB lets one process open a database file for writing, and then no other process may open it at
all, not even read-only. The store holds that lock only for its commit: a reader in another process
opens the file while the load extracts and stages (and reads the table as it was), and is refused
("Could not set lock on file") only while the commit's transaction runs.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from ingest_assets_tests.conftest import Project, create_orders_db, insert_orders

READER = """
import sys, duckdb
try:
    with duckdb.connect(sys.argv[1], read_only=True) as connection:
        print(connection.sql("SELECT count(*) FROM sales.orders").fetchall()[0][0])
except duckdb.IOException as error:
    print(str(error).splitlines()[0])
"""


def read_from_another_process(project: Project) -> str:
    done = subprocess.run([sys.executable, "-c", READER, str(project.root / "warehouse.duckdb")],
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip()


@pytest.fixture
def loaded(project: Project) -> Project:
    project.write({
        "flows/ingest.yml": "connections:\n  shop: {type: sqlite, path: source/shop.sqlite}\n"
                            "  target: {type: duckdb, path: warehouse.duckdb}\n",
        "flows/sales/flow.yml": "home: shop\nstore: target\nrun_type: incremental\n",
        "flows/sales/entities/orders.yml": "home: {table: orders}\nwatermark: updated_at\n",
    })
    create_orders_db(project.root / "source/shop.sqlite", 100)
    project.materialize("sales/orders")
    with sqlite3.connect(project.root / "source/shop.sqlite") as connection:
        insert_orders(connection, range(101, 151))
    return project


def test_a_reader_opens_the_database_while_a_load_stages(loaded: Project, monkeypatch: pytest.MonkeyPatch):
    from ingest_assets.stores.staged_writer import StagedWriter

    seen: list[str] = []
    finish_staging = StagedWriter.finish_staging

    def staged_then_read(writer: StagedWriter) -> int:
        staged = finish_staging(writer)
        seen.append(read_from_another_process(loaded))
        return staged

    monkeypatch.setattr(StagedWriter, "finish_staging", staged_then_read)
    loaded.materialize("sales/orders")
    assert seen == ["100"]  # the table as it was, the load's 50 rows staged but not committed
    assert read_from_another_process(loaded) == "150"


def test_a_reader_is_refused_only_while_the_commit_runs(loaded: Project, monkeypatch: pytest.MonkeyPatch):
    from ingest_assets.stores import duckdb as duckdb_store

    seen: list[str] = []
    keep_record = duckdb_store._keep_record

    def kept_then_read(*args: object) -> None:
        keep_record(*args)  # type: ignore[arg-type]
        seen.append(read_from_another_process(loaded))

    monkeypatch.setattr(duckdb_store, "_keep_record", kept_then_read)
    loaded.materialize("sales/orders")
    [refused] = seen
    assert refused.startswith("IO Error: Could not set lock on file") and "warehouse.duckdb" in refused
    assert read_from_another_process(loaded) == "150"
