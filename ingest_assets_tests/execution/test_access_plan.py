"""Access plans, `ingest plan` and sample mode, on real sources: PostgreSQL, SQLite, Parquet, CSV, DuckDB."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mssql, mysql

from ingest_assets.cli.main import main
from ingest_assets.errors import TerminalError
from ingest_assets.homes.base import ReadRequest
from ingest_assets.homes.sql import _limited
from ingest_assets.homes.sqlite_times import compared_as_bound
from ingest_assets.plan.cursor import CURSOR_METADATA_KEY, Cursor
from ingest_assets.plan.load import load_plan
from ingest_assets.plan.window import RowFilter
from ingest_assets.runtime.decide import decide_load
from ingest_assets.runtime.overrides import RunOverrides
from ingest_assets_tests.conftest import (
    REPOSITORY,
    Project,
    create_orders_db,
    insert_orders,
    read_parquet_table,
    sqlite_rows,
)

PG_ROWS = 5000


def plan_json(capsys, flows: Path, *arguments: str) -> tuple[int, dict]:
    code = main(["plan", "--flows-dir", str(flows), "--json", *arguments])
    out = capsys.readouterr().out
    return code, json.loads(out)


def tree_state(folder: Path) -> dict[str, str]:
    """Every file below `folder` with a hash of its bytes: equal before and after means untouched."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# ---- PostgreSQL -----------------------------------------------------------------------------------


def _pg_orders(server, database: str) -> None:
    server.execute(database, "CREATE TABLE public.orders (id bigint PRIMARY KEY, amount numeric(10, 2), "
                             "updated_at timestamp NOT NULL)")
    server.execute(database, f"INSERT INTO public.orders SELECT g, g * 1.5, timestamp '2026-01-01' + g * interval "
                             f"'1 minute' FROM generate_series(1, {PG_ROWS}) AS g")
    server.execute(database, "ANALYZE public.orders")


def _pg_project(project: Project, server, database: str, engine: str, environments: str = "") -> None:
    project.write({
        "flows/ingest.yml": "connections:\n  pg:\n" + server.connection_yaml(database, engine=engine) + """
  lake:
    type: parquet
    path: lake
""" + environments,
        "flows/copy/flow.yml": """
            home: pg
            store: lake
            entities:
              - name: orders
                home: {table: public.orders}
                run_type: incremental
                keys: [id]
                watermark: updated_at
                tags: {nightly: "yes"}
              - name: early_orders
                home: {query: "SELECT id, amount FROM public.orders WHERE id <= 2000"}
            """,
    })


@pytest.mark.parametrize("engine", ["adbc", "sqlalchemy"])
def test_postgres_plan_estimates_from_statistics_and_moves_nothing(project: Project, postgres_server, pg_database,
                                                                  engine, capsys):
    _pg_orders(postgres_server, pg_database)
    _pg_project(project, postgres_server, pg_database, engine)

    code, document = plan_json(capsys, project.flows)

    assert code == 0, document["errors"]
    plans = {entity["asset_key"]: entity for entity in document["entities"]}
    orders, early = plans["copy/orders"], plans["copy/early_orders"]
    # A first load is bounded by the source's maximum, so the estimate comes from the plan of that query.
    assert orders["source_max"] == "2026-01-04T11:20:00"
    assert orders["window"] == "(updated_at <= 2026-01-04 11:20:00) or updated_at is null"
    assert orders["source"]["language"] == "sql" and "public" in orders["source"]["text"]
    assert list(orders["source"]["parameters"].values()) == ["2026-01-04T11:20:00"]
    assert orders["read"] == "full" and orders["write"] == "replace" and orders["run_type"] == "incremental"
    assert orders["estimate"]["method"] == "EXPLAIN (FORMAT JSON) plan rows"
    assert abs(orders["estimate"]["rows"] - PG_ROWS) <= PG_ROWS * 0.1
    assert early["estimate"]["method"] == "EXPLAIN (FORMAT JSON) plan rows"
    assert abs(early["estimate"]["rows"] - 2000) <= 200
    assert early["destination"] == f"lake (parquet) {project.root / 'lake/copy/early_orders'}"
    assert not (project.root / "lake").exists()


def test_postgres_whole_table_estimate_is_reltuples(postgres_server, pg_database):
    """Without a window, a table's estimate is pg_class.reltuples (after ANALYZE), on both engines."""
    from ingest_assets.connectors.postgres import PostgresResource
    from ingest_assets.homes.postgres import PostgresHome
    from ingest_assets.homes.sql import SqlAlchemyHome
    from ingest_assets.plan.model import ReadSpec

    _pg_orders(postgres_server, pg_database)
    resource = PostgresResource(host=postgres_server.socket_dir, database=pg_database, user=postgres_server.user)
    request = ReadRequest(ReadSpec(table="public.orders"))
    for home in (PostgresHome(resource), SqlAlchemyHome(resource.model_copy(update={"engine_name": "sqlalchemy"}))):
        estimate = home.estimate_rows(request)
        assert (estimate.rows, estimate.method) == (PG_ROWS, "pg_class.reltuples")
        assert estimate.describe() == f"about {PG_ROWS:,} rows (pg_class.reltuples)"
        window = ReadRequest(request.spec, RowFilter("id", lower=4000))
        assert abs(home.estimate_rows(window).rows - 1000) <= 100


@pytest.mark.parametrize("engine", ["adbc", "sqlalchemy"])
def test_sample_per_run_on_postgres_then_a_normal_run_loads_everything(project: Project, postgres_server,
                                                                      pg_database, engine):
    _pg_orders(postgres_server, pg_database)
    _pg_project(project, postgres_server, pg_database, engine)
    config = project.run_config("copy/orders", {"sample_rows": 100})

    result = project.materialize("copy/orders", run_config=config)

    assert read_parquet_table(project.root / "lake/copy/orders").num_rows == 100
    metadata = project.latest_metadata("copy/orders")
    assert metadata["ingest/sample_rows"] == 100 and CURSOR_METADATA_KEY not in metadata
    assert metadata["ingest/load"].startswith("full read, replace (sample of at most 100 rows")
    # The run logged its access plan first: the statement with its limit, and the estimate.
    logs = "\n".join(e.message for e in project.instance.all_logs(result.run_id) if e.message)
    assert "LIMIT 100" in logs or "LIMIT %(param_1)s" in logs
    assert "estimate:" in logs and "sample:" in logs

    project.materialize("copy/orders")
    assert read_parquet_table(project.root / "lake/copy/orders").num_rows == PG_ROWS
    assert project.latest_metadata("copy/orders")["ingest/watermark"] == "updated_at = 2026-01-04 11:20:00"


def test_sample_per_environment_on_postgres_and_run_config_zero_turns_it_off(project: Project, postgres_server,
                                                                             pg_database):
    _pg_orders(postgres_server, pg_database)
    _pg_project(project, postgres_server, pg_database, "adbc",
                environments="default_environment: dev\nenvironments:\n  dev: {options: {sample_rows: 25}}\n")

    project.materialize("copy/early_orders")
    assert read_parquet_table(project.root / "lake/copy/early_orders").num_rows == 25

    project.materialize("copy/early_orders", run_config=project.run_config("copy/early_orders", {"sample_rows": 0}))
    assert read_parquet_table(project.root / "lake/copy/early_orders").num_rows == 2000
    assert "ingest/sample_rows" not in project.latest_metadata("copy/early_orders")


# ---- files and DuckDB -----------------------------------------------------------------------------


def _files_project(project: Project, sample_rows: int | None = None) -> None:
    source = project.root / "source"
    (source / "events").mkdir(parents=True)
    for part in range(3):
        ids = range(part * 400, part * 400 + 400)
        table = pa.table({"event_id": pa.array(ids, pa.int64()), "kind": [f"k{i % 5}" for i in ids]})
        pq.write_table(table, source / "events" / f"part-{part}.parquet", row_group_size=100)
        pa_csv.write_csv(table, source / f"events-{part}.csv")
    with duckdb.connect(str(source / "catalog.duckdb")) as connection:
        connection.execute("CREATE TABLE items AS SELECT range AS item_id FROM range(900)")
    environments = f"environments:\n  dev: {{options: {{sample_rows: {sample_rows}}}}}\n" if sample_rows else ""
    project.write({
        "flows/ingest.yml": """
            connections:
              files: {type: parquet, path: source}
              exports: {type: csv, path: source}
              catalog: {type: duckdb, path: source/catalog.duckdb}
              lake: {type: parquet, path: lake}
            """ + environments.replace("\n", "\n            "),
        "flows/raw/flow.yml": """
            store: lake
            tags: {domain: raw}
            entities:
              - name: events
                home: {connection: files, path: events}
                run_type: incremental
                watermark: event_id
              - name: csv_events
                home: {connection: exports, path: "events-*.csv"}
              - name: items
                home: {connection: catalog, table: items}
                tags: [nightly]
            """,
    })


def test_parquet_plan_counts_rows_from_footers_exactly(project: Project, capsys):
    _files_project(project)

    code, document = plan_json(capsys, project.flows, "--select", "key:raw/events,raw/csv_events")

    assert code == 0
    plans = {entity["asset_key"]: entity for entity in document["entities"]}
    assert set(plans) == {"raw/events", "raw/csv_events"}
    events = plans["raw/events"]
    assert events["source"] == {
        "language": "files", "text": str(project.root / "source/events"), "parameters": {},
        "notes": ["parquet files, one file and row group at a time",
                  "filter pushed into the scan: (event_id <= 1199) or event_id is null"],
    }
    assert events["estimate"] == {"rows": 1200, "method": "parquet footers, before the window", "exact": False,
                                  "upper_bound": True}
    csv_estimate = plans["raw/csv_events"]["estimate"]
    assert csv_estimate["method"].startswith("CSV file sizes") and abs(csv_estimate["rows"] - 1200) <= 120
    assert not (project.root / "lake").exists()


def test_parquet_whole_dataset_estimate_is_exact(project: Project):
    from ingest_assets.connectors.files import FolderResource
    from ingest_assets.homes.files import parquet_home
    from ingest_assets.plan.model import ReadSpec

    _files_project(project)
    home = parquet_home(FolderResource(path="source", project_root=str(project.root)))
    estimate = home.estimate_rows(ReadRequest(ReadSpec(path="events")))
    assert estimate.describe() == "1,200 rows (parquet footers, exact)"


@pytest.mark.parametrize("entity,rows", [("events", 1200), ("csv_events", 1200), ("items", 900)])
def test_sample_per_environment_on_files_and_duckdb(project: Project, entity: str, rows: int):
    _files_project(project, sample_rows=150)
    flows = project.flows

    project.definitions = lambda: __import__("ingest_assets.defs.factory").defs.factory.build_definitions(flows, "dev")
    project.materialize(f"raw/{entity}")
    assert read_parquet_table(project.root / f"lake/raw/{entity}").num_rows == 150
    metadata = project.latest_metadata(f"raw/{entity}")
    assert metadata["ingest/sample_rows"] == 150 and CURSOR_METADATA_KEY not in metadata

    project.definitions = lambda: __import__("ingest_assets.defs.factory").defs.factory.build_definitions(flows)
    project.materialize(f"raw/{entity}")
    assert read_parquet_table(project.root / f"lake/raw/{entity}").num_rows == rows


def test_selection_by_tag_key_and_group(project: Project, capsys):
    _files_project(project)

    assert main(["plan", "--flows-dir", str(project.flows), "--offline", "--select", "tag:nightly"]) == 0
    text = capsys.readouterr().out
    assert "raw/items  (" in text and "raw/events" not in text
    _, document = plan_json(capsys, project.flows, "--offline", "--select", "group:raw")
    assert [e["asset_key"] for e in document["entities"]] == ["raw/events", "raw/csv_events", "raw/items"]

    assert main(["plan", "--flows-dir", str(project.flows), "--select", "raw/*"]) == 2
    error = capsys.readouterr().err
    assert "--select 'raw/*'" in error and "'key:<flow>/*'" in error
    assert main(["plan", "--flows-dir", str(project.flows), "--select", "tag:nope"]) == 2
    assert "--select 'tag:nope' selects no entity" in capsys.readouterr().err


# ---- a committed cursor, from a real Dagster instance ----------------------------------------------


SQLITE_PROJECT = {
    "flows/ingest.yml": """
        connections:
          shop: {type: sqlite, path: source/shop.sqlite}
          lake: {type: parquet, path: lake}
        """,
    "flows/sales/flow.yml": """
        home: shop
        store: lake
        run_type: incremental
        entities:
          - name: orders
            home: {table: orders}
            keys: [id]
            watermark: updated_at
        """,
}


def test_incremental_plan_shows_window_after_the_cursor_and_moves_no_data(project: Project, capsys, monkeypatch):
    project.write(SQLITE_PROJECT)
    database = project.root / "source/shop.sqlite"
    create_orders_db(database, 50)
    project.materialize("sales/orders")
    with sqlite3.connect(database) as connection:
        insert_orders(connection, range(51, 61))
        connection.execute("ANALYZE")
    home = project.root / ".dagster"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    lake_before, instance_before = tree_state(project.root / "lake"), tree_state(home)

    code, document = plan_json(capsys, project.flows)

    assert code == 0
    assert document["instance"] == f"committed cursors from the Dagster instance at {home}"
    [orders] = document["entities"]
    assert orders["committed_cursor"] == "updated_at = 2026-03-01 08:50:00"
    assert orders["source_max"] == "2026-03-01T09:00:00"
    assert orders["window"] == "updated_at > 2026-03-01 08:50:00 and updated_at <= 2026-03-01 09:00:00"
    assert orders["load"] == "rows after the committed watermark 2026-03-01 08:50:00"
    assert (orders["read"], orders["write"]) == ("cursor", "upsert")
    # SQLite compares text datetimes as written: the column as SQLAlchemy binds a time, then the bounds.
    as_stored = compared_as_bound("updated_at")
    assert orders["source"]["text"] == f"SELECT * FROM orders WHERE ({as_stored} > ? AND {as_stored} <= ?)"
    assert orders["source"]["parameters"] == {"ingest_1": "2026-03-01T08:50:00", "ingest_2": "2026-03-01T09:00:00"}
    # sqlite_stat1 counts the table; the window is applied by the read.
    assert orders["estimate"] == {"rows": 60, "method": "sqlite_stat1, before the window", "exact": False,
                                  "upper_bound": True}
    assert tree_state(project.root / "lake") == lake_before
    assert tree_state(home) == instance_before
    assert project.materialization_count("sales/orders") == 1

    # Offline: the window from the cursor alone, nothing contacted.
    (database).rename(database.with_suffix(".moved"))
    code, document = plan_json(capsys, project.flows, "--offline")
    [orders] = document["entities"]
    assert code == 0
    assert orders["window"] == "updated_at > 2026-03-01 08:50:00"
    assert orders["source"] == {"language": "spec", "text": "orders", "parameters": {},
                                "notes": ["offline: the source was not contacted"]}
    assert orders["estimate"]["rows"] is None and orders["estimate"]["method"] == "offline"
    assert orders["destination"] == "lake (parquet) sales/orders"


def test_sample_records_no_cursor_so_the_next_run_reloads_everything(project: Project):
    project.write(SQLITE_PROJECT)
    database = project.root / "source/shop.sqlite"
    create_orders_db(database, 40)
    project.materialize("sales/orders")
    with sqlite3.connect(database) as connection:
        insert_orders(connection, range(41, 51))

    project.materialize("sales/orders", run_config=project.run_config("sales/orders", {"sample_rows": 7}))
    assert read_parquet_table(project.root / "lake/sales/orders").num_rows == 7
    assert CURSOR_METADATA_KEY not in project.latest_metadata("sales/orders")

    project.materialize("sales/orders")
    assert read_parquet_table(project.root / "lake/sales/orders").num_rows == 50
    metadata = project.latest_metadata("sales/orders")
    assert metadata["ingest/load"].startswith("full read, replace (first load of the watermark")
    assert sqlite_rows(database, "SELECT count(*) FROM orders") == [(50,)]


# ---- failures -------------------------------------------------------------------------------------


def test_unreachable_source_and_invalid_project_exit_non_zero(project: Project, capsys):
    project.write({
        "flows/ingest.yml": """
            connections:
              pg: {type: postgres, host: 127.0.0.1, port: 1, database: nowhere, user: nobody}
              lake: {type: parquet, path: lake}
            """,
        "flows/copy/flow.yml": """
            home: pg
            store: lake
            entities:
              - name: orders
                home: {table: public.orders}
            """,
    })

    assert main(["plan", "--flows-dir", str(project.flows)]) == 1
    error = capsys.readouterr().err
    assert error.startswith("copy/orders: cannot plan: copy.orders (declared at ")
    assert "home database error:" in error

    assert main(["plan", "--flows-dir", str(project.flows), "--offline"]) == 0
    capsys.readouterr()

    (project.flows / "copy/flow.yml").write_text("home: pg\nstore: nowhere\nentities:\n  - name: orders\n")
    assert main(["plan", "--flows-dir", str(project.flows)]) == 2
    assert "ingest plan: the ingest project has" in capsys.readouterr().err


def test_sample_is_refused_where_it_is_unsafe(tmp_path: Path):
    (tmp_path / "flows/mirror").mkdir(parents=True)
    (tmp_path / "flows/ingest.yml").write_text(
        "connections:\n  src: {type: parquet, path: source}\n"
        "  fabric: {type: open_mirroring, local_path: onelake, mirror_name: m}\n"
        "options: {sample_rows: 10}\n")
    (tmp_path / "flows/mirror/flow.yml").write_text(
        "home: src\nstore: fabric\nentities:\n  - name: orders\n    home: {path: orders}\n    keys: [id]\n")
    [plan] = load_plan(tmp_path / "flows").entities
    assert plan.sample_rows == 10
    with pytest.raises(TerminalError, match=r"^sample_rows: 10 would replace the mirrored table orders with a "):
        decide_load(plan, RunOverrides(), None, None, None)
    # Run config 0 turns the environment's sample off.
    assert decide_load(plan, RunOverrides(sample_rows=0), None, None, None).sample_rows is None


def test_decided_sample_replaces_and_records_no_cursor(tmp_path: Path):
    (tmp_path / "flows/sales").mkdir(parents=True)
    (tmp_path / "flows/ingest.yml").write_text(
        "connections:\n  src: {type: parquet, path: source}\n  lake: {type: parquet, path: lake}\n")
    (tmp_path / "flows/sales/flow.yml").write_text(
        "home: src\nstore: lake\nrun_type: incremental\nentities:\n  - name: orders\n    home: {path: orders}\n"
        "    keys: [id]\n    watermark: updated_at\n")
    [plan] = load_plan(tmp_path / "flows").entities
    committed = Cursor("updated_at", datetime(2026, 1, 1))

    decision = decide_load(plan, RunOverrides(sample_rows=3), committed, datetime(2026, 2, 1), None)

    assert (decision.mode.read, decision.write_mode.kind, decision.row_filter) == ("full", "replace", None)
    assert decision.cursor_after is None and decision.sample_rows == 3
    with pytest.raises(TerminalError, match=r"^run config sets both run_type: incremental"):
        decide_load(plan, RunOverrides(sample_rows=3, run_type="incremental"), committed, None, None)
    with pytest.raises(TerminalError, match=r"^run config sets both rebuild"):
        decide_load(plan, RunOverrides(rebuild=True, sample_rows=5), committed, None, None)


def test_decided_lookback_is_re_read_only_when_rows_are_past_the_cursor(tmp_path: Path):
    (tmp_path / "flows/sales").mkdir(parents=True)
    (tmp_path / "flows/ingest.yml").write_text(
        "connections:\n  src: {type: parquet, path: source}\n  lake: {type: parquet, path: lake}\n")
    (tmp_path / "flows/sales/flow.yml").write_text(
        "home: src\nstore: lake\nrun_type: incremental\nentities:\n  - name: orders\n    home: {path: orders}\n"
        "    keys: [id]\n    watermark: {column: updated_at, lookback: 1 hour}\n")
    [plan] = load_plan(tmp_path / "flows").entities
    committed = Cursor("updated_at", datetime(2026, 1, 1, 12))

    newer = decide_load(plan, RunOverrides(), committed, datetime(2026, 1, 1, 13), None)
    assert newer.row_filter == RowFilter.past("updated_at", datetime(2026, 1, 1, 11), datetime(2026, 1, 1, 13))
    assert newer.cursor_after == Cursor("updated_at", datetime(2026, 1, 1, 13))
    for source_max in (committed.value, datetime(2026, 1, 1, 11, 30), None):  # nothing newer, rows deleted, none
        idle = decide_load(plan, RunOverrides(), committed, source_max, None)
        assert idle.row_filter == RowFilter.past("updated_at", committed.value, source_max)  # an empty window
        assert idle.cursor_after == committed
        assert idle.note.endswith("nothing newer: the lookback is not re-read")


def test_row_limit_compiles_per_dialect():
    """SQL Server and MySQL cannot run here: their sample statements are checked as compiled."""
    read = sa.text("SELECT a FROM t WHERE a > :ingest_1").bindparams(sa.bindparam("ingest_1", 5))
    options = {"compile_kwargs": {"render_postcompile": True}}
    assert str(_limited(read, 10).compile(dialect=mssql.dialect(), **options)).split() == \
        "SELECT TOP 10 * FROM (SELECT a FROM t WHERE a > :ingest_1) AS ingest_sample".split()  # noqa: SIM905
    assert str(_limited(read, 10).compile(dialect=mysql.dialect(), **options)).split()[-2:] == ["LIMIT", "%s"]


# ---- the real script ------------------------------------------------------------------------------


def test_ingest_plan_script_runs_as_a_subprocess(project: Project):
    _files_project(project)
    env = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    env.pop("DAGSTER_HOME", None)
    script = Path(sys.executable).parent / "ingest"

    done = subprocess.run([str(script), "plan", "--flows-dir", str(project.flows), "--select", "raw/items"],
                          capture_output=True, text=True, env=env, timeout=120)

    assert done.returncode == 0, done.stderr
    assert "raw/items  (" in done.stdout
    assert 'SELECT * FROM "items" WHERE true' in done.stdout
    assert "estimate:    about 900 rows (duckdb_tables().estimated_size)" in done.stdout
    assert not (project.root / "lake").exists()


def test_a_derived_asset_is_planned_as_its_sql_over_its_inputs(capsys):
    """A selected derived asset is said, not left out: its inputs, SQL, parameters and destination."""
    demo = Path(__file__).resolve().parents[2] / "flows"
    code, document = plan_json(capsys, demo, "--offline", "--select", "shop_sales/revenue_per_customer")
    assert code == 0
    assert document["entities"] == []
    [derived] = document["derived"]
    assert derived["asset_key"] == "shop_sales/revenue_per_customer"
    assert derived["declared_at"] == "flows/shop_sales/derived/revenue_per_customer.yml:4"
    assert derived["inputs"] == ["shop_sales.orders", "shop_catalog.customers"]
    assert derived["sql"].startswith("SELECT c.customer_id, c.name, c.country,")
    assert derived["parameters"] == {"excluded_status": "returned"}
    assert derived["destination"] == "warehouse (duckdb) marts.revenue_per_customer"
    assert derived["step"] == "shop_sales__revenue_per_customer"

    assert main(["plan", "--flows-dir", str(demo), "--offline", "--select", "shop_sales/revenue_per_customer"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("ingest plan: 0 entities and 1 derived asset of ")
    assert "shop_sales/revenue_per_customer  (flows/shop_sales/derived/revenue_per_customer.yml:4)  derived" in text
    assert "  inputs:      shop_sales.orders, shop_catalog.customers (as their stores hold them)" in text
