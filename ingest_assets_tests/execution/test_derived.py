"""Derived assets: SQL over other assets, materialized through Dagster on real stores.

Results are compared row by row with the same computation done independently in pyarrow, on the
source rows.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import warnings
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ingest_assets.errors import ConfigError
from ingest_assets.plan.load import load_plan
from ingest_assets.runtime import check_results as checks
from ingest_assets_tests.conftest import (
    Project,
    create_orders_db,
    duckdb_rows,
    insert_orders,
    read_parquet_table,
    sqlite_rows,
    write_project,
    yaml_text,
)

CUSTOMERS = [(f"customer-{i}", ("north", "south", "east")[i % 3]) for i in range(7)]
CONNECTIONS = yaml_text("""
    connections:
      shop: {type: sqlite, path: source/shop.sqlite}
      lake: {type: parquet, path: lake}
      warehouse: {type: duckdb, path: warehouse.duckdb}
      mart: {type: sqlite, path: mart.sqlite}
    """)
REVENUE_SQL = yaml_text("""
    sql: |
      SELECT c.customer, c.region, count(*) AS orders, CAST(sum(o.amount) AS DECIMAL(12, 2)) AS revenue
      FROM sales.orders AS o JOIN catalog.customers AS c USING (customer)
      WHERE o.amount >= $min_amount
      GROUP BY ALL
    params: {min_amount: 10}
    keys: [customer]
    checks:
      min_rows: 1
      not_null: [region]
      unique: [customer]
    """)


def shop_project(orders_store: str = "lake", customers_store: str = "warehouse", revenue_store: str = "warehouse",
                 connections: str = CONNECTIONS) -> dict[str, str]:
    return {
        "flows/ingest.yml": connections,
        "flows/sales/flow.yml": f"home: shop\nstore: {orders_store}\nentities:\n  - name: orders\n",
        "flows/catalog/flow.yml": f"home: shop\nstore: {customers_store}\nentities:\n  - name: customers\n",
        "flows/reports/flow.yml": f"store: {revenue_store}\ntags: [reporting]\nowners: [team:finance]\n",
        "flows/reports/derived/revenue.yml": "inputs: [sales.orders, catalog.customers]\n" + REVENUE_SQL,
    }


def create_shop(root: Path, orders: int = 60) -> None:
    create_orders_db(root / "source/shop.sqlite", orders)
    with sqlite3.connect(root / "source/shop.sqlite") as connection:
        connection.execute("CREATE TABLE customers (customer TEXT PRIMARY KEY, region TEXT NOT NULL)")
        connection.executemany("INSERT INTO customers VALUES (?, ?)", CUSTOMERS)


def expected_revenue(root: Path, min_amount: Decimal = Decimal(10)) -> list[tuple]:
    """The revenue query computed independently: pyarrow's join and group-by over the source rows."""
    orders_rows = sqlite_rows(root / "source/shop.sqlite", "SELECT customer, CAST(amount AS TEXT) FROM orders")
    orders = pa.table({"customer": [r[0] for r in orders_rows],
                       "amount": pa.array([Decimal(r[1]) for r in orders_rows], pa.decimal128(12, 2))})
    orders = orders.filter(pc.greater_equal(orders["amount"], pa.scalar(min_amount, pa.decimal128(12, 2))))
    customers = pa.table({"customer": [c for c, _ in CUSTOMERS], "region": [r for _, r in CUSTOMERS]})
    joined = orders.join(customers, "customer", join_type="inner")
    grouped = joined.group_by(["customer", "region"]).aggregate([("amount", "count"), ("amount", "sum")])
    return sorted((r["customer"], r["region"], r["amount_count"], Decimal(r["amount_sum"]))
                  for r in grouped.to_pylist())


def revenue_rows(rows: list[tuple]) -> list[tuple]:
    return sorted((c, r, int(n), Decimal(str(v)).quantize(Decimal("0.01"))) for c, r, n, v in rows)


def check_results(result: dg.ExecuteInProcessResult, key: str) -> dict[str, bool]:
    asset_key = dg.AssetKey(key.split("/"))
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations() if e.asset_key == asset_key}


@pytest.fixture
def shop(project: Project) -> Project:
    create_shop(project.root)
    return project


# ---- definitions -----------------------------------------------------------------------------------


def test_derived_asset_depends_on_its_inputs_in_its_flows_group(shop: Project):
    shop.write(shop_project())
    defs = shop.definitions()
    graph = defs.resolve_asset_graph()
    key = dg.AssetKey(["reports", "revenue"])
    node = graph.get(key)
    assert node.parent_keys == {dg.AssetKey(["sales", "orders"]), dg.AssetKey(["catalog", "customers"])}
    spec = next(s for a in defs.assets if isinstance(a, dg.AssetsDefinition) for s in a.specs if s.key == key)
    assert spec.group_name == "reports"
    assert spec.kinds == {"duckdb", "ingest_assets"}
    assert {k: v for k, v in spec.tags.items() if not k.startswith("dagster/")} == {
        "reporting": "", "ingest/flow": "reports", "ingest/run_type": "full_drop"}
    assert spec.owners == ["team:finance"]
    assert spec.automation_condition is not None and spec.automation_condition.get_label() == "eager"
    assert spec.metadata["ingest/inputs"] == "sales.orders, catalog.customers"
    assert {c.name for c in graph.get_check_keys_for_assets({key})} == {
        checks.ROWS_READ_EQUAL_WRITTEN, checks.SCHEMA_UNCHANGED, checks.DESTINATION_ROW_COUNT,
        checks.KEYS_NOT_NULL_UNIQUE, checks.NOT_NULL, checks.UNIQUE, checks.MIN_ROWS}
    dg.Definitions.validate_loadable(defs)


def test_automation_sensor_follows_options_sensor_status(shop: Project):
    shop.write(shop_project())
    sensor = shop.definitions().resolve_sensor_def("ingest_automation_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    shop.write({"flows/ingest.yml": CONNECTIONS + "options:\n  sensor_status: running\n"})
    sensor = shop.definitions().resolve_sensor_def("ingest_automation_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_loading_a_derived_asset_imports_no_engine(tmp_path: Path):
    flows = write_project(tmp_path, shop_project())
    script = (
        "import sys, json\n"
        "from ingest_assets.defs.factory import build_definitions\n"
        f"defs = build_definitions({str(flows)!r})\n"
        "heavy = ['duckdb', 'pyarrow', 'polars', 'sqlalchemy', 'sqlglot']\n"
        "print(json.dumps(sorted(m for m in heavy if m in sys.modules)))\n"
    )
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(output.stdout.strip().splitlines()[-1]) == []


# ---- execution -------------------------------------------------------------------------------------


def test_parquet_and_duckdb_inputs_joined_into_duckdb(shop: Project):
    shop.write(shop_project(orders_store="lake", customers_store="warehouse", revenue_store="warehouse"))

    result = shop.materialize("*")

    rows = duckdb_rows(shop.root / "warehouse.duckdb", "SELECT * FROM reports.revenue")
    assert revenue_rows(rows) == expected_revenue(shop.root)
    assert check_results(result, "reports/revenue") == {
        checks.ROWS_READ_EQUAL_WRITTEN: True, checks.SCHEMA_UNCHANGED: True, checks.DESTINATION_ROW_COUNT: True,
        checks.KEYS_NOT_NULL_UNIQUE: True, checks.NOT_NULL: True, checks.UNIQUE: True, checks.MIN_ROWS: True}
    metadata = shop.latest_metadata("reports/revenue")
    assert metadata["dagster/row_count"] == 7
    assert [c.name for c in metadata["dagster/column_schema"].columns] == ["customer", "region", "orders", "revenue"]


def test_derived_over_derived_through_sqlite_and_parquet_stores(shop: Project):
    shop.write({
        **shop_project(orders_store="mart", customers_store="lake", revenue_store="mart"),
        "flows/reports/derived/regions.yml": """
            description: Revenue per region, from the revenue per customer.
            inputs: [reports.revenue]
            sql_file: regions.sql
            store: {connection: lake, path: reports/by_region}
            keys: [region]
            """,
        "flows/reports/derived/regions.sql": "SELECT region, CAST(sum(revenue) AS DECIMAL(12, 2)) AS revenue\n"
                                             "FROM reports.revenue GROUP BY region;\n",
    })

    shop.materialize("*")

    revenue = sqlite_rows(shop.root / "mart.sqlite", "SELECT customer, region, orders, revenue FROM reports__revenue")
    expected = expected_revenue(shop.root)
    assert revenue_rows(revenue) == expected
    by_region: dict[str, Decimal] = {}
    for _, region, _, amount in expected:
        by_region[region] = by_region.get(region, Decimal(0)) + amount
    table = read_parquet_table(shop.root / "lake/reports/by_region")
    assert sorted((r["region"], Decimal(str(r["revenue"]))) for r in table.to_pylist()) == sorted(by_region.items())


def test_postgres_inputs_and_store(project: Project, postgres_server, pg_database):
    create_shop(project.root)
    pg = "  pg:\n" + postgres_server.connection_yaml(pg_database) + "\n"
    project.write(shop_project(orders_store="pg", customers_store="pg", revenue_store="pg",
                               connections=CONNECTIONS + pg))

    result = project.materialize("*")

    assert result.success
    rows = postgres_server.execute(pg_database, "SELECT customer, region, orders, revenue FROM reports.revenue")
    assert revenue_rows(rows) == expected_revenue(project.root)
    assert all(check_results(result, "reports/revenue").values())


def test_derived_asset_is_recomputed_in_full_on_each_run(shop: Project):
    shop.write(shop_project())
    shop.materialize("*")
    create_orders_db(shop.root / "source/shop.sqlite", 20, start_id=61)

    shop.materialize("*")

    rows = duckdb_rows(shop.root / "warehouse.duckdb", "SELECT * FROM reports.revenue")
    assert revenue_rows(rows) == expected_revenue(shop.root)
    metadata = shop.latest_metadata("reports/revenue")
    assert metadata["ingest/rows_replaced"] == 7 and metadata["dagster/row_count"] == 7


@pytest.mark.parametrize("sql, message", [
    ("SELECT customer, CAST(region AS INTEGER) AS region FROM catalog.customers",
     "Conversion Error: Could not convert string"),
    ("SELECT nothing FROM catalog.customers", 'Binder Error: Referenced column "nothing" not found'),
    # Fails while streaming, after three batches were staged.
    ("SELECT CASE WHEN i > 300000 THEN CAST('x' || i AS INTEGER) ELSE i END AS v FROM range(400000) AS t(i)",
     "Conversion Error: Could not convert string 'x300001' to INT32"),
])
def test_a_failing_query_leaves_the_destination_unchanged(shop: Project, sql: str, message: str):
    shop.write(shop_project())
    shop.materialize("*")
    before = duckdb_rows(shop.root / "warehouse.duckdb", "SELECT * FROM reports.revenue ORDER BY customer")
    shop.write({"flows/reports/derived/revenue.yml": f"inputs: [sales.orders, catalog.customers]\nsql: \"{sql}\"\n"})

    result = shop.materialize("reports/revenue", raise_on_error=False)

    assert not result.success
    description = result.get_step_failure_events()[0].step_failure_data.user_failure_data.description
    assert description.startswith("reports.revenue (declared at flows/reports/derived/revenue.yml:1): the query "
                                  f"failed in DuckDB: {message}")
    assert description.endswith("-> nothing was written; fix 'sql' (the inputs are the views sales.orders, "
                                "catalog.customers; parameters are written $name)")
    assert duckdb_rows(shop.root / "warehouse.duckdb", "SELECT * FROM reports.revenue ORDER BY customer") == before
    assert shop.materialization_count("reports/revenue") == 1


def test_an_input_never_written_fails_with_how_to_fix_it(shop: Project):
    shop.write(shop_project())
    shop.materialize("catalog/customers")

    result = shop.materialize("reports/revenue", raise_on_error=False)

    description = result.get_step_failure_events()[0].step_failure_data.user_failure_data.description
    assert description == (
        f"reports.revenue (declared at flows/reports/derived/revenue.yml:1): input sales.orders has not been "
        f"written yet ({shop.root / 'lake'}/sales/orders) -> materialize it first (select the derived asset "
        "with its inputs: +reports/revenue)")


# ---- automation ------------------------------------------------------------------------------------


def evaluate(**arguments):
    """One evaluation of the automation conditions, as the sensor does it."""
    # Dagster's test utility selects assets with a beta parameter internally (AssetSelection.all).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.evaluate_automation_conditions(**arguments)


def test_eager_automation_requests_after_inputs_update_and_not_otherwise(shop: Project):
    shop.write(shop_project())
    defs = shop.definitions()
    key = dg.AssetKey(["reports", "revenue"])

    # Inputs never materialized: nothing to compute from.
    result = evaluate(defs=defs, instance=shop.instance)
    assert result.get_num_requested(key) == 0

    shop.materialize("key:sales/orders or key:catalog/customers")
    result = evaluate(defs=defs, instance=shop.instance, cursor=result.cursor)
    assert result.get_num_requested(key) == 1

    # Nothing new upstream: not requested again.
    result = evaluate(defs=defs, instance=shop.instance, cursor=result.cursor)
    assert result.get_num_requested(key) == 0
    shop.materialize("reports/revenue")
    result = evaluate(defs=defs, instance=shop.instance, cursor=result.cursor)
    assert result.get_num_requested(key) == 0

    # One input loaded again: requested again.
    shop.materialize("catalog/customers")
    result = evaluate(defs=defs, instance=shop.instance, cursor=result.cursor)
    assert result.get_num_requested(key) == 1


def test_automation_none_and_on_cron(shop: Project):
    files = shop_project()
    shop.write({**files, "flows/reports/derived/revenue.yml": files["flows/reports/derived/revenue.yml"]
                + "automation: none\n"})
    defs = shop.definitions()
    spec = next(s for a in defs.assets if isinstance(a, dg.AssetsDefinition) for s in a.specs
                if s.key == dg.AssetKey(["reports", "revenue"]))
    assert spec.automation_condition is None
    assert not any(s.name == "ingest_automation_sensor" for s in defs.sensors)
    shop.materialize("key:sales/orders or key:catalog/customers")
    result = evaluate(defs=defs, instance=shop.instance)
    assert result.total_requested == 0

    shop.write({**files, "flows/reports/derived/revenue.yml": files["flows/reports/derived/revenue.yml"]
                + "automation: {on_cron: '0 6 * * *', timezone: Europe/Amsterdam}\n"})
    spec = next(s for a in shop.definitions().assets if isinstance(a, dg.AssetsDefinition) for s in a.specs
                if s.key == dg.AssetKey(["reports", "revenue"]))
    assert spec.automation_condition.get_label() == "on_cron(0 6 * * *, Europe/Amsterdam)"


# ---- configuration errors --------------------------------------------------------------------------


def load_problems(tmp_path: Path, files: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_plan(write_project(tmp_path, files))
    return [str(p) for p in caught.value.problems]


def test_unknown_input_names_the_known_assets(tmp_path: Path):
    files = shop_project()
    files["flows/reports/derived/revenue.yml"] = "inputs:\n  - sales.order\n  - catalog.customers\nsql: SELECT 1\n"
    assert load_problems(tmp_path, files) == [
        "flows/reports/derived/revenue.yml:2: reports.revenue: input 'sales.order' is not an asset of this project "
        "-> did you mean 'sales.orders'? known assets: catalog.customers, reports.revenue, sales.orders",
    ]


def test_input_in_a_store_that_cannot_be_read_back(tmp_path: Path):
    files = shop_project(orders_store="fabric", connections=CONNECTIONS
                         + "  fabric: {type: open_mirroring, local_path: onelake, mirror_name: m}\n")
    files["flows/sales/flow.yml"] += "    keys: [id]\n"
    assert load_problems(tmp_path, files) == [
        "flows/reports/derived/revenue.yml:1: reports.revenue: input 'sales.orders' is written to store 'fabric' "
        "(open_mirroring), which cannot be read back -> read it from a store that can (delta, duckdb, mariadb, mssql, "
        "mysql, parquet, postgres, postgresql, sqlalchemy, sqlite, sqlserver), e.g. a second entity writing it there",
    ]


def test_cycles_between_derived_assets(tmp_path: Path):
    files = {
        **shop_project(),
        "flows/reports/derived/revenue.yml": "inputs: [sales.orders, reports.ranked]\nsql: SELECT 1\n",
        "flows/reports/derived/ranked.yml": "inputs:\n  - reports.revenue\nsql: SELECT 1\n",
        "flows/reports/derived/itself.yml": "inputs: [reports.itself]\nsql: SELECT 1\n",
    }
    assert load_problems(tmp_path, files) == [
        "flows/reports/derived/itself.yml:1: reports.itself: inputs form a cycle: reports.itself -> reports.itself "
        "-> a derived asset cannot read itself; remove one of these inputs",
        "flows/reports/derived/ranked.yml:2: reports.ranked: inputs form a cycle: reports.ranked -> reports.revenue "
        "-> reports.ranked -> a derived asset cannot read itself; remove one of these inputs",
        "flows/reports/derived/revenue.yml:1: reports.revenue: inputs form a cycle: reports.ranked -> "
        "reports.revenue -> reports.ranked -> a derived asset cannot read itself; remove one of these inputs",
    ]


def test_missing_sql_bad_automation_and_unknown_keys(tmp_path: Path):
    files = {
        **shop_project(),
        "flows/reports/derived/revenue.yml": "description: no query\ninputs: [sales.orders]\n",
        "flows/reports/derived/daily.yml": "inputs: [sales.orders]\nsql: SELECT 1\nautomation: daily\nquery: x\n",
        "flows/reports/derived/both.yml": "inputs: [sales.orders]\nsql: SELECT 1\nsql_file: x.sql\n",
        "flows/reports/derived/cron.yml": "inputs: [orders]\nsql: SELECT 1\nautomation:\n  on_cron: every day\n",
        "flows/reports/derived/store.yml": "inputs: [sales.orders]\nsql: SELECT 1\n"
                                           "store: {connection: lake, table: t}\n",
    }
    assert load_problems(tmp_path, files) == [
        "flows/reports/derived/both.yml:3: reports.both: both 'sql:' and 'sql_file:' are set -> keep one of them",
        "flows/reports/derived/cron.yml:1: reports.cron: inputs: input 'orders' is not an asset name -> write inputs "
        "as <flow>.<entity>, e.g. shop_sales.orders",
        "flows/reports/derived/daily.yml:3: reports.daily: automation: 'daily' is not valid -> eager (the default: "
        "refresh when an input was updated), none, or {on_cron: '0 6 * * *'}",
        "flows/reports/derived/daily.yml:4: reports.daily: unknown key 'query' -> valid keys: automation, "
        "batch_size, checks, description, inputs, keys, name, owners, params, sql, sql_file, store, tags",
        "flows/reports/derived/revenue.yml:1: reports.revenue: missing the query -> add 'sql:' (a SELECT over the "
        "inputs, named flow.entity) or 'sql_file:' (a .sql file next to this YAML file)",
        "flows/reports/derived/store.yml:3: reports.store: store 'lake' (parquet) writes a path, not a table -> "
        "use 'path:' (default reports.store / reports/store)",
    ]


def test_cron_and_clashes_with_entities(tmp_path: Path):
    files = {
        **shop_project(),
        "flows/sales/derived/orders.yml": "inputs: [catalog.customers]\nsql: SELECT 1\n",
        "flows/reports/derived/copy.yml": "inputs: [sales.orders]\nsql: SELECT 1\nstore:\n  connection: lake\n"
                                          "  path: sales/orders\nautomation:\n  on_cron: every day\n",
    }
    assert load_problems(tmp_path, files) == [
        "flows/reports/derived/copy.yml:3: reports.copy: store target lake:sales/orders is also written by "
        "sales.orders -> give this derived asset its own store table or path",
        "flows/reports/derived/copy.yml:7: reports.copy: automation.on_cron: invalid cron string ('every day') -> "
        "five fields 'minute hour day-of-month month day-of-week', e.g. '0 6 * * *' for 06:00 daily",
        "flows/sales/derived/orders.yml:1: sales.orders: asset key sales/orders is also declared at "
        "flows/sales/flow.yml:4 -> rename this derived asset (name: or the file name)",
    ]


def test_a_store_that_publishes_in_a_step_of_its_own_cannot_hold_a_derived_asset(tmp_path: Path):
    files = shop_project(revenue_store="fabric", connections=CONNECTIONS
                         + "  fabric: {type: open_mirroring, local_path: onelake, mirror_name: m}\n")
    assert load_problems(tmp_path, files) == [
        "flows/reports/derived/revenue.yml:1: reports.revenue: connection 'fabric' of type 'open_mirroring' cannot "
        "store a derived asset -> store types: adls, delta, duckdb, mariadb, mssql, mysql, onelake, parquet, postgres, "
        "postgresql, sqlalchemy, sqlite, sqlserver",
    ]


def test_the_query_runs_within_a_memory_limit_and_sees_each_input_files_true_size(project: Project):
    """The scratch session is bounded by options.query_memory_limit and reads a multi-file Parquet input
    file by file, so DuckDB plans with its true size (`read_parquet([...])` is estimated as the first
    file's rows times the number of files)."""
    files = shop_project()
    files["flows/ingest.yml"] += "options:\n  query_memory_limit: 300MiB\n"
    files["flows/sales/flow.yml"] += "    run_type: incremental\n    keys: [id]\n    watermark: updated_at\n"
    files["flows/reports/derived/revenue.yml"] = yaml_text("""
        inputs: [sales.orders]
        sql: |
          SELECT current_setting('memory_limit') AS memory_limit,
                 (SELECT count(*) FROM sales.orders) AS orders,
                 (SELECT sql FROM duckdb_views() WHERE schema_name = 'sales' AND view_name = 'orders') AS view
        """)
    project.write(files)
    create_shop(project.root, orders=5)
    project.materialize("sales/orders")
    with sqlite3.connect(project.root / "source/shop.sqlite") as connection:
        insert_orders(connection, range(6, 206))  # a second, larger file in the lake's next version
    project.materialize("sales/orders")
    project.materialize("reports/revenue")

    [row] = duckdb_rows(project.root / "warehouse.duckdb", "SELECT * FROM reports.revenue")
    limit, orders, view = row
    assert orders == 205
    assert limit == "300.0 MiB"  # DuckDB's way of saying 300MiB (its own default: 80% of the machine)
    # The view, planned on its own: each file's exact count, not 2 x the first file's 5.
    import duckdb

    with duckdb.connect() as connection:
        [(_, plan)] = connection.sql("EXPLAIN " + view.split(" AS ", 1)[1].rstrip(";")).fetchall()
    assert "~5 rows" in plan and "~200 rows" in plan and "~10 rows" not in plan


def test_the_default_memory_limit_is_a_quarter_of_the_machine():
    import os

    from ingest_assets.sql.duckdb_session import session_config

    machine_mib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    assert session_config(Path("spill"), "25%") == {"memory_limit": f"{machine_mib // 4}MiB", "temp_directory": "spill"}
    assert session_config(Path("spill"), "4GB")["memory_limit"] == "4GB"
