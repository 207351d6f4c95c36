"""The demo project's Definitions: what Dagster sees, without running anything."""

from __future__ import annotations

import json
import subprocess
import sys

import dagster as dg
import pytest

from ingest_assets.connectors.duckdb import DuckDBFileResource
from ingest_assets.connectors.sqlite import SqliteFileResource
from ingest_assets.defs.factory import build_definitions
from ingest_assets.runtime import check_results as checks
from ingest_assets_tests.conftest import REPOSITORY

DEMO_FLOWS = REPOSITORY / "flows"


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return build_definitions(DEMO_FLOWS)


@pytest.fixture(scope="module")
def graph(defs):
    return defs.resolve_asset_graph()


def spec(graph, key: str):
    return graph.get(dg.AssetKey(key.split("/")))


def test_definitions_are_loadable(defs):
    dg.Definitions.validate_loadable(defs)


def test_one_asset_per_entity_keyed_by_flow_and_entity(graph):
    assert {k.to_user_string() for k in graph.materializable_asset_keys} == {
        "shop_catalog/products", "shop_catalog/stores", "shop_catalog/customers",
        "shop_sales/orders", "shop_sales/order_lines", "web_traffic/page_views",
        "fabric_mirror/customers", "fabric_mirror/orders",
        "shop_lakehouse/orders", "shop_lakehouse/customers",  # Delta tables (flows/shop_lakehouse/)
        "shop_sales/revenue_per_customer",  # a derived asset (flows/shop_sales/derived/)
    }


def test_what_the_entities_read_are_external_assets_upstream_of_them(graph):
    """One per table, file or query, shared by the entities that read it, keyed `source/<connection>/<name>`."""
    sources = {k.to_user_string(): graph.get(k) for k in graph.get_all_asset_keys() - graph.materializable_asset_keys}
    assert set(sources) == {"source/shop_db/orders", "source/shop_db/customers", "source/catalog_db/products",
                            "source/exports/stores.csv", "source/files/order_lines", "source/files/page_views"}
    orders = sources["source/shop_db/orders"]
    assert (orders.group_name, orders.kinds, orders.is_external) == ("shop_db", {"sqlite"}, True)
    assert orders.description.startswith("`orders` in `shop_db` (sqlite)")
    readers = {k.to_user_string() for k in orders.child_keys}
    assert readers == {"shop_sales/orders", "fabric_mirror/orders", "shop_lakehouse/orders"}  # one source, three reads
    assert {k.to_user_string() for k in spec(graph, "fabric_mirror/orders").parent_keys} == {"source/shop_db/orders"}


def test_groups_kinds_tags_owners_description(graph):
    orders = spec(graph, "shop_sales/orders")
    assert orders.group_name == "shop_sales"
    assert orders.kinds == {"sqlite", "parquet", "ingest_assets"}
    assert {k: v for k, v in orders.tags.items() if not k.startswith("dagster/")} == {
        "critical": "", "domain": "sales", "ingest/flow": "shop_sales", "ingest/run_type": "incremental"}
    assert orders.owners == ["team:data-platform"]
    assert orders.description.startswith("Orders; status updates move updated_at")
    assert spec(graph, "shop_catalog/stores").kinds == {"csv", "duckdb", "ingest_assets"}
    # Kinds Dagster has an icon for: the delta type shows as Delta Lake, Open Mirroring as Fabric.
    assert spec(graph, "shop_lakehouse/orders").kinds == {"sqlite", "deltalake", "ingest_assets"}


def test_code_version_follows_the_resolved_settings(tmp_path, graph):
    versions = {k.to_user_string(): graph.get(k).code_version for k in graph.materializable_asset_keys}
    assert len(set(versions.values())) == len(versions)  # every entity differs
    assert build_definitions(DEMO_FLOWS).resolve_asset_graph().get(
        dg.AssetKey(["shop_sales", "orders"])).code_version == versions["shop_sales/orders"]


def test_checks_per_entity(graph):
    def names(key):
        return {c.name for c in graph.get_check_keys_for_assets([dg.AssetKey(key.split("/"))])}

    assert names("shop_sales/orders") == {
        checks.ROWS_READ_EQUAL_WRITTEN, checks.DESTINATION_ROW_COUNT, checks.SCHEMA_UNCHANGED, checks.KEYS_NOT_NULL_UNIQUE,
        checks.NOT_NULL}
    assert names("shop_catalog/products") == {
        checks.ROWS_READ_EQUAL_WRITTEN, checks.DESTINATION_ROW_COUNT, checks.SCHEMA_UNCHANGED, checks.KEYS_NOT_NULL_UNIQUE,
        checks.MIN_ROWS}
    blocking = {key.name for key in graph.asset_check_keys if graph.get_check_spec(key).blocking}
    assert blocking == {checks.ROWS_READ_EQUAL_WRITTEN, checks.KEYS_NOT_NULL_UNIQUE}


def test_an_open_mirroring_entity_is_two_steps_that_look_like_one_asset(defs, graph):
    customers = spec(graph, "fabric_mirror/customers")
    assert customers.group_name == "fabric_mirror"
    assert customers.kinds == {"sqlite", "fabric", "ingest_assets"}
    assert customers.owners == ["team:data-platform"]
    assert {c.name for c in graph.get_check_keys_for_assets([customers.key])} == {
        checks.ROWS_READ_EQUAL_WRITTEN, checks.SCHEMA_UNCHANGED, checks.FILES_MATCH_ROWS, checks.SEQUENCE_WITHOUT_GAPS}
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={customers.key})
    node = job.graph.node_named("fabric_mirror__customers")
    # (every step also carries the project it was built from: see test_run_project.py)
    inner = {n.name: {k: v for k, v in n.definition.tags.items() if k == "ingest/step"} for n in node.definition.nodes}
    assert inner == {"fabric_mirror__customers_extract": {"ingest/step": "extract"},
                     "fabric_mirror__customers_publish": {"ingest/step": "publish"}}


def test_partitioned_entity_has_a_daily_window_and_single_run_backfills(graph):
    page_views = spec(graph, "web_traffic/page_views")
    partitions = page_views.partitions_def
    assert isinstance(partitions, dg.TimeWindowPartitionsDefinition)
    keys = partitions.get_partition_keys()
    assert keys[0] == "2026-01-01" and keys[-1] == "2026-01-30" and len(keys) == 30
    assert page_views.backfill_policy == dg.BackfillPolicy.single_run()
    assert spec(graph, "shop_sales/orders").partitions_def is None


def test_jobs_per_flow_per_partitioned_entity_and_per_tag(defs):
    def selected(name: str) -> set[str]:
        job = defs.resolve_job_def(name)
        return {k.to_user_string() for k in job.asset_layer.selected_asset_keys}

    assert selected("shop_catalog_job") == {"shop_catalog/products", "shop_catalog/stores", "shop_catalog/customers"}
    assert selected("shop_sales_job") == {"shop_sales/orders", "shop_sales/order_lines"}
    assert selected("web_traffic_page_views_job") == {"web_traffic/page_views"}
    # Tags shared across flows select across flows.
    assert selected("tag_critical_job") == {"shop_catalog/products", "shop_sales/orders"}
    # The derived asset inherits its flow's tags, so tag selection includes it.
    assert selected("tag_domain_sales_job") == {"shop_sales/orders", "shop_sales/order_lines",
                                                "shop_sales/revenue_per_customer"}


def test_schedules_and_sensors(defs):
    schedules = {s.name: s for s in defs.schedules}
    assert set(schedules) == {"shop_catalog_schedule", "shop_sales_schedule"}
    catalog = schedules["shop_catalog_schedule"]
    assert catalog.cron_schedule == "0 5 * * *"
    assert catalog.execution_timezone == "Europe/Amsterdam"
    assert catalog.default_status == dg.DefaultScheduleStatus.STOPPED
    sensors = {s.name: s for s in defs.sensors}
    # Flows with incremental entities get a new-data sensor (stopped until turned on).
    assert set(sensors) == {"shop_sales_new_data_sensor", "fabric_mirror_new_data_sensor",
                            "shop_lakehouse_new_data_sensor", "ingest_automation_sensor"}
    assert sensors["shop_sales_new_data_sensor"].minimum_interval_seconds == 120


def test_connections_are_resources_that_keep_secret_references(defs):
    resources = defs.resources
    assert set(resources) == {"shop_db", "catalog_db", "exports", "files", "lake", "delta_lake", "warehouse",
                              "fabric"}
    assert isinstance(resources["shop_db"], SqliteFileResource)
    assert isinstance(resources["warehouse"], DuckDBFileResource)
    # The reference travels unresolved: the launchpad shows it, the value is read at run time.
    assert resources["warehouse"].path == "${INGEST_DEMO_DIR:-data/demo}/warehouse.duckdb"


def test_loading_imports_no_driver_and_opens_nothing(tmp_path):
    # A fresh interpreter: load definitions whose databases do not even exist.
    flows = tmp_path / "flows"
    (flows / "f").mkdir(parents=True)
    (flows / "ingest.yml").write_text(
        "connections:\n  db: {type: sqlalchemy, url: 'postgresql+psycopg://u:${PW}@nowhere/db'}\n"
        "  wh: {type: duckdb, path: missing/wh.duckdb}\n"
    )
    (flows / "f/flow.yml").write_text("home: db\nstore: wh\nentities: [{name: t}]\n")
    script = (
        "import sys, json\n"
        "from ingest_assets.defs.factory import build_definitions\n"
        f"defs = build_definitions({str(flows)!r})\n"
        "import dagster as dg; dg.Definitions.validate_loadable(defs)\n"
        "heavy = ['duckdb', 'pyarrow', 'polars', 'sqlalchemy', 'pyodbc', 'psycopg', 'azure', 'adbc_driver_manager']\n"
        "print(json.dumps(sorted(m for m in heavy if m in sys.modules)))\n"
    )
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(output.stdout.strip().splitlines()[-1]) == []
    assert not (tmp_path / "missing").exists()
