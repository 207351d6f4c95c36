"""Entities materialized in-process on real SQLite, CSV, Parquet and DuckDB files."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

import pyarrow.parquet as pq
import pytest

from ingest_assets.stores import staging
from ingest_assets_tests.conftest import (
    BASE_TIME,
    Project,
    create_orders_db,
    duckdb_rows,
    insert_orders,
    read_parquet_table,
    sqlite_rows,
    write_events_parquet,
)

SALES_PROJECT = {
    "flows/ingest.yml": """
        connections:
          shop: {type: sqlite, path: source/shop.sqlite}
          lake: {type: parquet, path: lake}
          warehouse: {type: duckdb, path: warehouse.duckdb}
        """,
    "flows/sales/flow.yml": """
        home: shop
        store: lake
        run_type: incremental
        defaults:
          batch_size: 7
        """,
    "flows/sales/entities/orders.yml": """
        keys: [id]
        watermark: updated_at
        """,
}


@pytest.fixture
def sales(project: Project) -> Project:
    project.write(SALES_PROJECT)
    create_orders_db(project.root / "source/shop.sqlite", 100)
    return project


def lake_ids(project: Project) -> list[int]:
    return sorted(read_parquet_table(project.root / "lake/sales/orders").column("id").to_pylist())


def test_first_run_loads_everything_and_records_the_cursor(sales: Project):
    sales.materialize("sales/orders")

    assert lake_ids(sales) == list(range(1, 101))
    metadata = sales.latest_metadata("sales/orders")
    assert metadata["ingest/rows_read"] == 100
    assert metadata["ingest/rows_written"] == 100
    assert metadata["dagster/row_count"] == 100
    assert metadata["ingest/cursor"] == {"column": "updated_at", "type": "timestamp",
                                         "value": (BASE_TIME + timedelta(minutes=100)).isoformat()}
    assert [c.name for c in metadata["dagster/column_schema"].columns] == ["id", "customer", "amount", "updated_at"]
    assert metadata["ingest/duration_seconds"] > 0


def test_second_run_moves_only_new_rows(sales: Project):
    sales.materialize("sales/orders")
    with sqlite3.connect(sales.root / "source/shop.sqlite") as connection:
        insert_orders(connection, range(101, 121))

    sales.materialize("sales/orders")

    metadata = sales.latest_metadata("sales/orders")
    assert metadata["ingest/rows_read"] == 20
    assert metadata["dagster/row_count"] == 120
    assert lake_ids(sales) == list(range(1, 121))
    assert metadata["ingest/cursor"]["value"] == (BASE_TIME + timedelta(minutes=120)).isoformat()


def test_a_run_with_nothing_new_moves_nothing_and_keeps_the_cursor(sales: Project):
    sales.materialize("sales/orders")
    cursor = sales.latest_metadata("sales/orders")["ingest/cursor"]

    sales.materialize("sales/orders")

    metadata = sales.latest_metadata("sales/orders")
    assert metadata["ingest/rows_read"] == 0
    assert metadata["ingest/cursor"] == cursor
    assert lake_ids(sales) == list(range(1, 101))


def test_updated_rows_replace_their_earlier_copy_by_key(sales: Project):
    sales.materialize("sales/orders")
    later = (BASE_TIME + timedelta(days=1)).isoformat(" ")
    with sqlite3.connect(sales.root / "source/shop.sqlite") as connection:
        connection.execute("UPDATE orders SET amount = 999, updated_at = ? WHERE id IN (5, 6)", (later,))

    sales.materialize("sales/orders")

    table = read_parquet_table(sales.root / "lake/sales/orders")
    assert sorted(table.column("id").to_pylist()) == list(range(1, 101))  # no duplicates
    amounts = dict(zip(table.column("id").to_pylist(), table.column("amount").to_pylist(), strict=False))
    assert float(amounts[5]) == 999 and float(amounts[6]) == 999
    assert sales.latest_metadata("sales/orders")["ingest/rows_replaced"] == 2


def test_lookback_re_reads_late_rows_without_duplicates(sales: Project):
    sales.write({"flows/sales/entities/orders.yml": """
        keys: [id]
        watermark:
          column: updated_at
          lookback: 30 min
        """})
    sales.materialize("sales/orders")
    # A row committed late: its watermark is 10 minutes before the committed cursor.
    with sqlite3.connect(sales.root / "source/shop.sqlite") as connection:
        connection.execute("INSERT INTO orders VALUES (500, 'late', 1.0, ?)",
                           ((BASE_TIME + timedelta(minutes=90)).isoformat(" "),))

    # Nothing newer than the cursor: the lookback is not re-read, the late row waits.
    sales.materialize("sales/orders")
    assert sales.latest_metadata("sales/orders")["ingest/rows_read"] == 0
    assert lake_ids(sales) == list(range(1, 101))

    # The next run that finds a newer row re-reads the lookback behind the same cursor.
    with sqlite3.connect(sales.root / "source/shop.sqlite") as connection:
        insert_orders(connection, [101])
    sales.materialize("sales/orders")

    metadata = sales.latest_metadata("sales/orders")
    assert metadata["ingest/rows_read"] == 32  # minutes 70..100 re-read, the late row and the new one
    assert lake_ids(sales) == [*range(1, 102), 500]
    assert metadata["dagster/row_count"] == 102


def lake_files(project: Project) -> int:
    """The data files of the lake table's current version."""
    return len(list((project.root / "lake/sales/orders").glob("*.parquet")))


@pytest.mark.parametrize("store", ["lake", "warehouse"])
def test_lookback_with_nothing_new_reads_nothing_even_when_every_row_shares_the_cursor(sales: Project, store: str):
    """A bulk load stamps every row with one `updated_at`: the lookback behind that cursor spans the
    whole table, and a run with nothing newer must not re-read (and re-merge) it."""
    sales.write({"flows/sales/entities/orders.yml": f"""
        keys: [id]
        store: {{connection: {store}}}
        write_strategy: upsert
        watermark:
          column: updated_at
          lookback: 1 hour
        """})
    database = sales.root / "source/shop.sqlite"
    loaded_at = BASE_TIME + timedelta(days=1)
    with sqlite3.connect(database) as connection:  # ids 1..100 stay a day older than the bulk load
        connection.executemany("INSERT INTO orders VALUES (?, 'bulk', 1.0, ?)",
                               [(i, loaded_at.isoformat(" ")) for i in range(1001, 3001)])

    def run() -> dict[str, object]:
        sales.materialize("sales/orders")
        return sales.latest_metadata("sales/orders")

    first = run()
    assert (first["ingest/rows_read"], first["dagster/row_count"]) == (100 + 2000, 2100)
    files = lake_files(sales)

    nothing_new = run()
    assert (nothing_new["ingest/rows_read"], nothing_new["ingest/rows_written"]) == (0, 0)
    assert nothing_new["ingest/cursor"] == first["ingest/cursor"]
    assert nothing_new["dagster/row_count"] == 2100
    assert lake_files(sales) == files  # not even an empty file added to the lake's table

    with sqlite3.connect(database) as connection:
        connection.executemany("INSERT INTO orders VALUES (?, 'new', 2.0, ?)",
                               [(i, (loaded_at + timedelta(minutes=5)).isoformat(" ")) for i in range(5001, 5006)])
    newer = run()
    # The five new rows and the lookback hour behind the committed cursor (the bulk load), not the
    # day-older rows.
    assert (newer["ingest/rows_read"], newer["dagster/row_count"]) == (5 + 2000, 2105)
    assert newer["ingest/cursor"]["value"] == (loaded_at + timedelta(minutes=5)).isoformat()

    again = run()
    assert (again["ingest/rows_read"], again["ingest/cursor"]) == (0, newer["ingest/cursor"])


def test_run_config_forces_one_full_reload(sales: Project):
    sales.materialize("sales/orders")
    with sqlite3.connect(sales.root / "source/shop.sqlite") as connection:
        connection.execute("DELETE FROM orders WHERE id > 50")

    sales.materialize("sales/orders", run_config=sales.run_config("sales/orders", {"run_type": "full_drop"}))

    assert lake_ids(sales) == list(range(1, 51))
    assert sales.latest_metadata("sales/orders")["ingest/rows_written"] == 50


@pytest.mark.parametrize("strategy", ["upsert", "merge"])
def test_run_config_full_drop_replaces_whatever_the_write_strategy(sales: Project, strategy: str):
    """`run_type: full_drop` in the run config reloads the table completely, once: an explicit upsert or
    merge strategy would keep the rows deleted at the source."""
    sales.write({"flows/sales/entities/orders.yml": f"keys: [id]\nwatermark: updated_at\nwrite_strategy: {strategy}\n"})
    sales.materialize("sales/orders")
    with sqlite3.connect(sales.root / "source/shop.sqlite") as connection:
        connection.execute("DELETE FROM orders WHERE id > 50")

    sales.materialize("sales/orders", run_config=sales.run_config("sales/orders", {"run_type": "full_drop"}))

    assert lake_ids(sales) == list(range(1, 51))
    assert sales.latest_metadata("sales/orders")["ingest/load"].startswith("full read, replace")
    sales.materialize("sales/orders")  # and the next normal run is the entity's own again
    assert lake_ids(sales) == list(range(1, 51))


def test_changed_watermark_column_fails_until_reset_deliberately(sales: Project):
    sales.materialize("sales/orders")
    sales.write({"flows/sales/entities/orders.yml": "keys: [id]\nwatermark: id\n"})

    result = sales.materialize("sales/orders", raise_on_error=False)

    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert "the watermark column changed from 'updated_at'" in failure.description
    assert "{reset_watermark: true}" in failure.description
    assert sales.materialization_count("sales/orders") == 1

    sales.materialize("sales/orders", run_config=sales.run_config("sales/orders", {"reset_watermark": True}))
    assert sales.latest_metadata("sales/orders")["ingest/cursor"] == {"column": "id", "type": "integer", "value": 100}
    assert lake_ids(sales) == list(range(1, 101))


def _lake_snapshot(project: Project) -> dict[str, bytes]:
    folder = project.root / "lake/sales/orders"
    return {path.name: path.read_bytes() for path in sorted(folder.glob("*.parquet"))}


def test_bad_row_mid_stream_leaves_store_and_watermark_unchanged(sales: Project):
    sales.materialize("sales/orders")
    before_files = _lake_snapshot(sales)
    before_metadata = sales.latest_metadata("sales/orders")
    source = sales.root / "source/shop.sqlite"
    with sqlite3.connect(source) as connection:
        insert_orders(connection, range(101, 161))
        # Row 150 holds text in a numeric column: the read fails after several batches were staged.
        connection.execute("UPDATE orders SET amount = 'not a number' WHERE id = 150")

    result = sales.materialize("sales/orders", raise_on_error=False)

    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert failure.description.startswith("sales.orders (declared at flows/sales/entities/orders.yml:1): ")
    assert "does not fit the column types" in failure.description
    assert _lake_snapshot(sales) == before_files
    assert sales.latest_metadata("sales/orders") == before_metadata
    assert sales.materialization_count("sales/orders") == 1
    assert not any((sales.root / "lake/_ingest/staging").rglob("*.parquet"))

    with sqlite3.connect(source) as connection:
        connection.execute("UPDATE orders SET amount = 1.5 WHERE id = 150")
    sales.materialize("sales/orders")
    assert lake_ids(sales) == [row[0] for row in sqlite_rows(source, "SELECT id FROM orders ORDER BY id")]


def test_failure_inside_the_commit_leaves_parquet_table_unchanged(sales: Project, monkeypatch):
    sales.materialize("sales/orders")
    before_files = _lake_snapshot(sales)
    with sqlite3.connect(sales.root / "source/shop.sqlite") as connection:
        insert_orders(connection, range(101, 111))

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("ingest_assets.stores.parquet.measure_quality", fail)
    result = sales.materialize("sales/orders", raise_on_error=False)
    assert not result.success
    assert _lake_snapshot(sales) == before_files
    assert sales.materialization_count("sales/orders") == 1

    monkeypatch.undo()
    sales.materialize("sales/orders")
    assert lake_ids(sales) == list(range(1, 111))
    # The half-built version of the failed run was cleaned up by the next commit.
    versions = list((sales.root / "lake/_ingest/versions/sales/orders").iterdir())
    assert len(versions) == 2 and not any(v.name.startswith(".") for v in versions)


def test_failure_inside_the_duckdb_transaction_rolls_back(sales: Project, monkeypatch):
    sales.write({"flows/sales/flow.yml": "home: shop\nstore: warehouse\nrun_type: incremental\n"})
    sales.materialize("sales/orders")
    with sqlite3.connect(sales.root / "source/shop.sqlite") as connection:
        insert_orders(connection, range(101, 111))

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("ingest_assets.stores.duckdb.measure_quality", fail)
    assert not sales.materialize("sales/orders", raise_on_error=False).success
    database = sales.root / "warehouse.duckdb"
    assert duckdb_rows(database, "SELECT count(*), max(id) FROM sales.orders") == [(100, 100)]

    monkeypatch.undo()
    sales.materialize("sales/orders")
    assert duckdb_rows(database, "SELECT count(*), count(DISTINCT id), max(id) FROM sales.orders") == [(110, 110, 110)]


def test_file_names_never_collide_across_runs_and_batches(sales: Project, monkeypatch):
    # Tiny row groups and files, so every run writes several files.
    monkeypatch.setattr(staging, "ROW_GROUP_ROWS", 10)
    monkeypatch.setattr(staging, "FILE_ROWS", 30)
    sales.materialize("sales/orders")
    with sqlite3.connect(sales.root / "source/shop.sqlite") as connection:
        insert_orders(connection, range(101, 201))
    sales.materialize("sales/orders")

    files = sorted((sales.root / "lake/sales/orders").glob("*.parquet"))
    # Batches of 7 rows flush in pairs (14 >= 10) and a file rolls past 30 rows: 42 + 42 + 16 per run.
    assert len(files) == 6
    assert sum(pq.read_metadata(f).num_rows for f in files) == 200
    assert lake_ids(sales) == list(range(1, 201))


def test_one_failing_entity_does_not_fail_another(sales: Project):
    sales.write({"flows/sales/entities/refunds.yml": "keys: [id]\nwatermark: updated_at\n"})  # no such table

    result = sales.materialize("*", raise_on_error=False)

    # Both load in the flow's shared step: orders committed, refunds failed, and so did the step, naming it.
    failed = {event.step_key for event in result.get_step_failure_events()}
    assert failed == {"sales__shop_to_lake"}
    assert lake_ids(sales) == list(range(1, 101))
    assert sales.materialization_count("sales/refunds") == 0
    description = result.get_step_failure_events()[0].step_failure_data.user_failure_data.description
    assert "1 of 2 entities of this step failed" in description
    assert "sales.refunds (declared at flows/sales/entities/refunds.yml:" in description
    assert "table 'refunds' does not exist in the home database -> tables there: orders" in description


def test_run_type_table_forced_append_and_forced_reload(project: Project):
    project.write({
        "flows/ingest.yml": """
            connections:
              shop: {type: sqlite, path: shop.sqlite}
              warehouse: {type: duckdb, path: warehouse.duckdb}
            """,
        "flows/copies/flow.yml": """
            home: shop
            entities:
              - name: appended           # full_drop + store incremental true: append everything
                run_type: full_drop
                home: {table: orders}
                store: {connection: warehouse, incremental: true}
              - name: reloaded           # incremental + store incremental false: reload every run
                run_type: incremental
                home: {table: orders}
                store: {connection: warehouse, incremental: false}
            """,
    })
    create_orders_db(project.root / "shop.sqlite", 10)
    database = project.root / "warehouse.duckdb"

    project.materialize("*")
    project.materialize("*")

    assert duckdb_rows(database, "SELECT count(*), count(DISTINCT id) FROM copies.appended") == [(20, 10)]
    assert duckdb_rows(database, "SELECT count(*), count(DISTINCT id) FROM copies.reloaded") == [(10, 10)]


EVENTS_PROJECT = {
    "flows/ingest.yml": """
        connections:
          files: {type: parquet, path: source}
          warehouse: {type: duckdb, path: warehouse.duckdb}
        """,
    "flows/web/flow.yml": """
        home: files
        store: warehouse
        entities:
          - name: events
            home: {path: events}
            keys: [event_id]
            partition: {column: happened_at, granularity: daily, start: 2026-03-01}
        """,
}


def test_partition_loads_exactly_its_window_and_reruns_are_idempotent(project: Project):
    project.write(EVENTS_PROJECT)
    for day in range(3):
        write_events_parquet(project.root / f"source/events/{day}.parquet", datetime(2026, 3, 1 + day), 48, day * 100)
    database = project.root / "warehouse.duckdb"

    project.materialize("web/events", partition_key="2026-03-02")
    project.materialize("web/events", partition_key="2026-03-02")
    project.materialize("web/events", partition_key="2026-03-03")

    assert duckdb_rows(database, "SELECT CAST(happened_at AS DATE) AS day, count(*), count(DISTINCT event_id) "
                                 "FROM web.events GROUP BY day ORDER BY day") == [
        (datetime(2026, 3, 2).date(), 48, 48), (datetime(2026, 3, 3).date(), 48, 48)]
    metadata = project.latest_metadata("web/events")
    assert metadata["dagster/partition_row_count"] == 48
    assert metadata["dagster/row_count"] == 96
    assert metadata["ingest/rows_replaced"] == 0


def test_reloading_a_partition_replaces_only_that_window(project: Project):
    project.write(EVENTS_PROJECT)
    events = project.root / "source/events"
    for day in range(2):
        write_events_parquet(events / f"{day}.parquet", datetime(2026, 3, 1 + day), 24, day * 100)
    project.materialize("web/events", partition_key="2026-03-01")
    project.materialize("web/events", partition_key="2026-03-02")
    # The source corrects day 2: fewer events.
    write_events_parquet(events / "1.parquet", datetime(2026, 3, 2), 12, 100)

    project.materialize("web/events", partition_key="2026-03-02")

    database = project.root / "warehouse.duckdb"
    assert duckdb_rows(database, "SELECT count(*) FROM web.events WHERE happened_at < '2026-03-02'") == [(24,)]
    assert duckdb_rows(database, "SELECT count(*) FROM web.events WHERE happened_at >= '2026-03-02'") == [(12,)]
    assert project.latest_metadata("web/events")["ingest/rows_replaced"] == 24


def test_csv_and_duckdb_query_homes_with_column_selection(project: Project):
    import duckdb

    project.write({
        "flows/ingest.yml": """
            connections:
              exports: {type: csv, path: exports, delimiter: ";"}
              catalog: {type: duckdb, path: catalog.duckdb}
              lake: {type: parquet, path: lake}
            """,
        "flows/ref/flow.yml": """
            store: lake
            entities:
              - name: cities
                home: {connection: exports, path: "cities*.csv"}
                columns: [city, population]
              - name: expensive
                home:
                  connection: catalog
                  query: SELECT * FROM products WHERE price > 10
                keys: [product_id]
            """,
    })
    (project.root / "exports").mkdir()
    (project.root / "exports/cities-1.csv").write_text("city;population;mayor\nAmsterdam;921402;x\n")
    (project.root / "exports/cities-2.csv").write_text("city;population;mayor\nAntwerp;536079;y\n")
    with duckdb.connect(str(project.root / "catalog.duckdb")) as connection:
        connection.execute("CREATE TABLE products AS SELECT range AS product_id, range * 2.5 AS price FROM range(10)")

    project.materialize("*")

    cities = read_parquet_table(project.root / "lake/ref/cities")
    assert cities.column_names == ["city", "population"]
    assert sorted(cities.to_pylist(), key=lambda r: r["city"]) == [
        {"city": "Amsterdam", "population": 921402}, {"city": "Antwerp", "population": 536079}]
    expensive = read_parquet_table(project.root / "lake/ref/expensive")
    assert sorted(expensive.column("product_id").to_pylist()) == [5, 6, 7, 8, 9]


@pytest.mark.parametrize("store", ["duckdb", "parquet"])
def test_csv_timestamps_inferred_in_seconds_load_into_every_store(project: Project, store: str):
    """pyarrow infers `timestamp[s]` from CSV; Parquet (the staging format) has no seconds unit."""
    project.write({
        "flows/ingest.yml": f"""
            connections:
              exports: {{type: csv, path: exports}}
              target: {{type: {store}, path: target{'.duckdb' if store == 'duckdb' else ''}}}
            """,
        "flows/ref/flow.yml": """
            home: exports
            store: target
            entities:
              - {name: visits, home: {path: "visits.csv"}, keys: [id], watermark: seen_at, run_type: incremental}
            """,
    })
    (project.root / "exports").mkdir()
    (project.root / "exports/visits.csv").write_text("id,seen_at\n1,2026-03-01 08:00:05\n2,2026-03-01 09:30:00\n")
    project.materialize("ref/visits")
    (project.root / "exports/visits.csv").write_text(
        "id,seen_at\n1,2026-03-01 08:00:05\n2,2026-03-01 09:30:00\n3,2026-03-02 10:15:59\n")
    project.materialize("ref/visits")

    if store == "duckdb":
        rows = duckdb_rows(project.root / "target.duckdb", "SELECT id, seen_at FROM ref.visits ORDER BY id")
    else:
        rows = sorted((r["id"], r["seen_at"]) for r in read_parquet_table(project.root / "target/ref/visits").to_pylist())
    assert rows == [(1, datetime(2026, 3, 1, 8, 0, 5)), (2, datetime(2026, 3, 1, 9, 30)),
                    (3, datetime(2026, 3, 2, 10, 15, 59))]


def test_a_destination_removed_by_hand_is_not_silently_appended_to(sales: Project):
    import shutil

    sales.materialize("sales/orders")
    (sales.root / "lake/sales/orders").unlink()
    shutil.rmtree(sales.root / "lake/_ingest")
    with sqlite3.connect(sales.root / "source/shop.sqlite") as connection:
        insert_orders(connection, range(101, 106))

    result = sales.materialize("sales/orders", raise_on_error=False)

    assert not result.success
    description = result.get_step_failure_events()[0].step_failure_data.user_failure_data.description
    assert "does not exist, but the committed watermark says rows up to 2026-03-01 09:40:00 were loaded" in description
    sales.materialize("sales/orders", run_config=sales.run_config("sales/orders", {"reset_watermark": True}))
    assert lake_ids(sales) == list(range(1, 106))


def test_connections_can_be_reconfigured_per_run_like_any_resource(sales: Project):
    other = str(sales.root / "other_lake")
    sales.materialize("sales/orders", run_config={"resources": {"lake": {"config": {"path": other}}}})

    assert sorted(read_parquet_table(sales.root / "other_lake/sales/orders").column("id").to_pylist()) == list(
        range(1, 101))
    assert not (sales.root / "lake").exists()


def test_rows_without_a_watermark_value_are_kept_by_full_loads(sales: Project):
    with sqlite3.connect(sales.root / "source/shop.sqlite") as connection:
        connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, updated_at DATETIME)")
        connection.executemany("INSERT INTO notes VALUES (?, ?)", [(1, "2026-03-01 10:00:00"), (2, None),
                                                                   (3, "2026-03-02 10:00:00"), (4, None)])
    sales.write({
        "flows/sales/entities/notes_full.yml": "run_type: full_drop\nhome: {table: notes}\nwatermark: updated_at\n",
        "flows/sales/entities/notes.yml": "keys: [id]\nwatermark: updated_at\n",
    })

    sales.materialize("key:sales/notes_full or key:sales/notes")

    for entity in ("notes_full", "notes"):
        table = read_parquet_table(sales.root / f"lake/sales/{entity}")
        assert sorted(table.column("id").to_pylist()) == [1, 2, 3, 4]
    assert sales.latest_metadata("sales/notes")["ingest/cursor"]["value"] == "2026-03-02T10:00:00"
