"""Write strategies, schema policy and audit columns, materialized through Dagster on every store."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import dagster as dg
import pytest

from ingest_assets.runtime import check_results as checks
from ingest_assets_tests.conftest import (
    Project,
    create_orders_db,
    duckdb_rows,
    insert_orders,
    read_parquet_table,
    sqlite_rows,
)


def _sorted(rows) -> list[tuple]:
    # NULLs last, as DuckDB orders them; every column holds one type, so values compare.
    return sorted((tuple(row) for row in rows), key=lambda row: tuple((v is None, 0 if v is None else v) for v in row))


def _parquet_rows(project: Project, columns: str) -> list[tuple]:
    import duckdb

    connection = duckdb.connect()
    connection.register("orders", read_parquet_table(project.root / "lake/sales/orders"))
    return _sorted(connection.sql(f"SELECT {columns} FROM orders").fetchall())


def _delta_rows(project: Project, columns: str) -> list[tuple]:
    import duckdb
    from deltalake import DeltaTable

    connection = duckdb.connect()
    connection.register("orders", DeltaTable(str(project.root / "delta/sales/orders")).to_pyarrow_dataset())
    return _sorted(connection.sql(f"SELECT {columns} FROM orders").fetchall())


def _duckdb_rows(project: Project, columns: str) -> list[tuple]:
    return _sorted(duckdb_rows(project.root / "warehouse.duckdb", f"SELECT {columns} FROM sales.orders"))


def _sql_rows(url: str, schema: str | None, table: str, columns: str) -> list[tuple]:
    """Read through SQLAlchemy's reflected types, so every database hands back Python values alike."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        reflected = sa.Table(table, sa.MetaData(), schema=schema, autoload_with=engine)
        selected = reflected.c if columns == "*" else [reflected.c[c.strip()] for c in columns.split(",")]
        with engine.connect() as connection:
            return _sorted(connection.execute(sa.select(*selected)).fetchall())
    finally:
        engine.dispose()


def _sqlite_rows(project: Project, columns: str) -> list[tuple]:
    # SQLite has no schemas: the store writes `sales.orders` as the table `sales__orders`.
    return _sql_rows(f"sqlite:///{project.root / 'destination.sqlite'}", None, "sales__orders", columns)


@dataclass(frozen=True)
class Destination:
    """A store under test: its connection in ingest.yml, and how to read back its `sales.orders`."""

    name: str
    connection: str
    read: Callable[[Project, str], list[tuple]]
    keeps_time_zones: bool = True


def _postgres(server, database: str) -> Destination:
    url = f"postgresql+psycopg://{server.user}@/{database}?host={server.socket_dir}"
    return Destination("pg", "  pg:\n" + server.connection_yaml(database) + "\n",
                       lambda project, columns: _sql_rows(url, "sales", "orders", columns))


DESTINATIONS = {
    "lake": Destination("lake", "  lake: {type: parquet, path: lake}\n", _parquet_rows),
    "delta_lake": Destination("delta_lake", "  delta_lake: {type: delta, path: delta}\n", _delta_rows),
    "warehouse": Destination("warehouse", "  warehouse: {type: duckdb, path: warehouse.duckdb}\n", _duckdb_rows),
    # SQLite and MySQL hold timezone-aware values as UTC wall time.
    "sqlite_db": Destination("sqlite_db", "  sqlite_db: {type: sqlite, path: destination.sqlite}\n", _sqlite_rows,
                             keeps_time_zones=False),
}


def _mariadb(server) -> Destination:
    # MySQL's schemas are databases: `sales.orders` is table `orders` of database `sales`, emptied per test.
    server.create_database("sales")
    url = f"mysql+pymysql://{server.user}@{server.host}:{server.port}/sales"
    return Destination("maria", "  maria:\n" + server.connection_yaml("sales") + "\n",
                       lambda project, columns: _sql_rows(url, "sales", "orders", columns), keeps_time_zones=False)


@pytest.fixture(params=[*DESTINATIONS, "pg", "maria"])
def store(request) -> Destination:
    if request.param == "pg":
        return _postgres(request.getfixturevalue("postgres_server"), request.getfixturevalue("pg_database"))
    if request.param == "maria":
        return _mariadb(request.getfixturevalue("mariadb"))
    return DESTINATIONS[request.param]


def sales_project(project: Project, store: Destination, flow: str, entity: str, rows: int = 20) -> Project:
    connections = "connections:\n  shop: {type: sqlite, path: source/shop.sqlite}\n" + store.connection
    project.write({"flows/ingest.yml": connections, "flows/sales/flow.yml": f"home: shop\nstore: {store.name}\n{flow}",
                   "flows/sales/entities/orders.yml": entity})
    create_orders_db(project.root / "source/shop.sqlite", rows)
    return project


def source_rows(project: Project, columns: str = "id, customer, amount") -> list[tuple]:
    rows = sqlite_rows(project.root / "source/shop.sqlite", f"SELECT {columns} FROM orders ORDER BY id")
    return [tuple(Decimal(str(v)) if isinstance(v, float) else v for v in row) for row in rows]


def destination(project: Project, store: Destination, columns: str = "id, customer, amount") -> list[tuple]:
    return store.read(project, columns)


def run_source_sql(project: Project, *statements: str) -> None:
    with sqlite3.connect(project.root / "source/shop.sqlite") as connection:
        for statement in statements:
            connection.execute(statement)


def check_result(result: dg.ExecuteInProcessResult, name: str) -> dg.AssetCheckEvaluation:
    evaluations = [e for e in result.get_asset_check_evaluations() if e.check_name == name]
    assert len(evaluations) == 1
    return evaluations[0]


def test_merge_with_delete_missing_makes_the_destination_equal_the_source(project: Project, store: Destination):
    sales_project(project, store, "run_type: full_drop\n",
                  "write_strategy: merge\nwrite_key: [id]\ndelete_missing: true\n")
    project.materialize("sales/orders")
    assert destination(project, store) == source_rows(project)

    run_source_sql(project, "UPDATE orders SET amount = 999.5 WHERE id = 3", "DELETE FROM orders WHERE id IN (5, 6)")
    with sqlite3.connect(project.root / "source/shop.sqlite") as connection:
        insert_orders(connection, [21])
    project.materialize("sales/orders")

    assert destination(project, store) == source_rows(project)
    assert (3, "customer-3", Decimal("999.50")) in destination(project, store)
    metadata = project.latest_metadata("sales/orders")
    assert (metadata["ingest/rows_written"], metadata["ingest/rows_replaced"], metadata["ingest/rows_deleted"],
            metadata["dagster/row_count"]) == (19, 18, 2, 19)


def test_upsert_in_a_full_snapshot_keeps_rows_the_source_no_longer_has(project: Project, store: Destination):
    sales_project(project, store, "run_type: full_drop\n", "write_strategy: upsert\nwrite_key: id\n")
    project.materialize("sales/orders")
    run_source_sql(project, "DELETE FROM orders WHERE id = 1", "UPDATE orders SET customer = 'renamed' WHERE id = 2")
    result = project.materialize("sales/orders")

    rows = destination(project, store, "id, customer")
    assert rows[:2] == [(1, "customer-1"), (2, "renamed")] and len(rows) == 20
    assert check_result(result, checks.DESTINATION_ROW_COUNT).passed


def test_duplicate_keys_in_one_load_keep_the_latest_row_by_watermark(project: Project, store: Destination):
    sales_project(project, store, "run_type: incremental\n", "keys: [id]\nwatermark: updated_at\n", rows=0)
    # A source without a primary key, holding two versions of order 7 and one of order 8.
    run_source_sql(
        project, "DROP TABLE orders",
        "CREATE TABLE orders (id INTEGER, customer TEXT, amount NUMERIC(10, 2), updated_at DATETIME)",
        "INSERT INTO orders VALUES (7, 'old', 1.00, '2026-03-01 08:00:00'), (7, 'new', 2.00, '2026-03-01 09:00:00'),"
        " (8, 'only', 3.00, '2026-03-01 08:30:00')",
    )
    result = project.materialize("sales/orders")

    assert destination(project, store) == [(7, "new", Decimal("2.00")), (8, "only", Decimal("3.00"))]
    assert project.latest_metadata("sales/orders")["ingest/duplicate_key_rows_dropped"] == 1
    assert check_result(result, checks.ROWS_READ_EQUAL_WRITTEN).passed


def test_duplicate_keys_with_the_same_watermark_fail_before_writing(project: Project, store: Destination):
    sales_project(project, store, "run_type: incremental\n", "keys: [id]\nwatermark: updated_at\n")
    project.materialize("sales/orders")
    before = destination(project, store)
    run_source_sql(
        project, "CREATE TABLE extra AS SELECT * FROM orders WHERE id = 4",
        "ALTER TABLE orders RENAME TO orders_pk",
        "CREATE TABLE orders (id INTEGER, customer TEXT, amount NUMERIC(10, 2), updated_at DATETIME)",
        "INSERT INTO orders SELECT * FROM orders_pk",
        "INSERT INTO orders VALUES (30, 'a', 1, '2026-04-01 00:00:00'), (30, 'b', 2, '2026-04-01 00:00:00')",
    )
    result = project.materialize("sales/orders", raise_on_error=False)

    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert ("rows with the same write key (id=30) also have the same updated_at, so neither is the latest -> "
            "nothing was written") in failure.description
    assert destination(project, store) == before
    assert project.materialization_count("sales/orders") == 1


def test_evolve_adds_a_new_source_column_and_reports_it(project: Project, store: Destination):
    sales_project(project, store, "run_type: incremental\n", "keys: [id]\nwatermark: updated_at\n")
    project.materialize("sales/orders")
    run_source_sql(project, "ALTER TABLE orders ADD COLUMN email TEXT",
                   "UPDATE orders SET email = 'x@example.com', updated_at = '2026-05-01 00:00:00' WHERE id = 2")
    result = project.materialize("sales/orders")

    assert destination(project, store, "id, email")[:3] == [(1, None), (2, "x@example.com"), (3, None)]
    schema_check = check_result(result, checks.SCHEMA_UNCHANGED)
    assert not schema_check.passed and schema_check.severity == dg.AssetCheckSeverity.WARN
    changes = project.latest_metadata("sales/orders")["ingest/schema_changes"]
    assert changes == [{"column": "email", "change": "added", "destination_type": None, "source_type": "string",
                        "action": "added to the destination"}]
    columns = [c.name for c in project.latest_metadata("sales/orders")["dagster/column_schema"].columns]
    assert columns == ["id", "customer", "amount", "updated_at", "email"]

    result = project.materialize("sales/orders")
    assert check_result(result, checks.SCHEMA_UNCHANGED).passed


@pytest.mark.parametrize("change", ["drop a column", "widen a column"])
def test_an_allowed_change_warns_once_on_the_load_that_made_it(project: Project, store: Destination, change: str):
    sales_project(project, store, "run_type: incremental\n", "keys: [id]\nwatermark: updated_at\nschema_changes: evolve\n")
    project.materialize("sales/orders")
    if change == "drop a column":
        run_source_sql(project, "ALTER TABLE orders DROP COLUMN customer")
    else:  # NUMERIC(10, 2) -> NUMERIC(14, 2)
        run_source_sql(project, "ALTER TABLE orders RENAME TO old_orders",
                       "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT, amount NUMERIC(14, 2), "
                       "updated_at DATETIME)", "INSERT INTO orders SELECT * FROM old_orders")

    warned = check_result(project.materialize("sales/orders"), checks.SCHEMA_UNCHANGED)
    assert not warned.passed and warned.severity == dg.AssetCheckSeverity.WARN
    again = check_result(project.materialize("sales/orders"), checks.SCHEMA_UNCHANGED)
    assert again.passed, again.description


def test_fail_refuses_a_changed_source_before_writing(project: Project, store: Destination):
    sales_project(project, store, "run_type: incremental\n", "keys: [id]\nwatermark: updated_at\nschema_changes: fail\n")
    project.materialize("sales/orders")
    before_rows = destination(project, store, "*")
    before_metadata = project.latest_metadata("sales/orders")
    run_source_sql(project, "ALTER TABLE orders ADD COLUMN email TEXT")
    with sqlite3.connect(project.root / "source/shop.sqlite") as connection:
        connection.execute("INSERT INTO orders VALUES (40, 'c', 1, '2026-05-01 00:00:00', 'e@x.org')")
    result = project.materialize("sales/orders", raise_on_error=False)

    assert not result.success
    schema_check = check_result(result, checks.SCHEMA_UNCHANGED)
    assert not schema_check.passed and schema_check.severity == dg.AssetCheckSeverity.ERROR
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert ("the source's columns changed in a way schema_changes: fail does not allow -> nothing was written; "
            "+email string (refused (schema_changes: fail))") in failure.description
    assert destination(project, store, "*") == before_rows
    assert project.latest_metadata("sales/orders") == before_metadata


def test_ignore_leaves_a_new_source_column_out(project: Project, store: Destination):
    sales_project(project, store, "run_type: full_drop\n", "schema_changes: ignore\n")
    project.materialize("sales/orders")
    run_source_sql(project, "ALTER TABLE orders ADD COLUMN email TEXT", "UPDATE orders SET email = 'x'")
    result = project.materialize("sales/orders")

    columns = [c.name for c in project.latest_metadata("sales/orders")["dagster/column_schema"].columns]
    assert columns == ["id", "customer", "amount", "updated_at"]
    assert destination(project, store) == source_rows(project)
    assert "not loaded (schema_changes: ignore)" in check_result(result, checks.SCHEMA_UNCHANGED).description


def test_audit_columns_record_the_load_time_run_and_a_stable_row_hash(project: Project, store: Destination):
    sales_project(project, store, "run_type: full_drop\n", """
        audit:
          loaded_at: true
          run_id: _run
          row_hash:
            column: row_id
            columns: [id, amount]
        """)
    first = project.materialize("sales/orders")
    rows = destination(project, store, "id, _loaded_at, _run, row_id")
    assert {row[2] for row in rows} == {first.run_id}
    assert len({row[1] for row in rows}) == 1
    assert (rows[0][1].tzinfo is not None) is store.keeps_time_zones
    amount = source_rows(project, "id, amount")[0][1]
    expected = hashlib.md5(json.dumps(["1", f"{Decimal(amount):.2f}"], separators=(",", ":")).encode()).hexdigest()
    assert rows[0][3] == expected

    run_source_sql(project, "UPDATE orders SET amount = 5 WHERE id = 2")
    second = project.materialize("sales/orders")
    hashes = {row[0]: row[1] for row in destination(project, store, "id, row_id, _run") if row[2] == second.run_id}
    assert hashes[1] == expected and hashes[2] != rows[1][3] and len(hashes) == 20
