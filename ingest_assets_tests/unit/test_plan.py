"""How `load_plan` merges project options, flow settings, flow defaults and entities into a plan."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ingest_assets.plan.load import load_plan
from ingest_assets.plan.model import ChecksPlan, EntityPlan, LoadMode, PartitionPlan, ReadSpec, WatermarkPlan, WriteSpec
from ingest_assets.plan.project import ProjectPlan, ScheduleDef, SensorDef
from ingest_assets_tests.conftest import write_project, yaml_text

INGEST = yaml_text("""
    connections:
      shop_db:
        type: sqlite
        path: ${SHOP_DIR:-data}/shop.sqlite
      catalog:
        type: duckdb
        path: data/catalog.duckdb
      files:
        type: parquet
        path: data/files
      lake:
        type: parquet
        path: data/lake
      warehouse:
        type: duckdb
        path: data/warehouse.duckdb
    options:
      batch_size: 5000
    environments:
      prod:
        connections:
          lake:
            path: /mnt/prod/lake
          shop_db:
            path: ${PROD_SHOP_DB}
        options:
          concurrency: 16
          batch_size: 20000
      test:
        options:
          retries: 0
    """)


def load(tmp_path: Path, files: dict[str, str], environment: str | None = None) -> ProjectPlan:
    return load_plan(write_project(tmp_path, {"flows/ingest.yml": INGEST, **files}), environment)


def entities_by_name(plan: ProjectPlan) -> dict[str, EntityPlan]:
    return {entity.entity: entity for entity in plan.entities}


@pytest.fixture(autouse=True)
def _no_selected_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INGEST_ENV", raising=False)


# ---- merging ------------------------------------------------------------------------------------

DEFAULTS_FLOW = """
    home: shop_db
    store: warehouse
    run_type: incremental
    tags: {domain: sales, tier: gold}
    owners: [team:platform]
    defaults:
      keys: [id]
      watermark: updated_at
      batch_size: 1000
      tags: {tier: silver, pii: "yes"}
      owners: [alice@example.com]
      checks:
        min_rows: 1
        not_null: [id]
    entities:
      - name: orders
      - name: customers
        run_type: full_drop
        keys: [customer_id]
        watermark:
          column: changed_at
        batch_size: 50
        tags: {tier: bronze}
        owners: [team:platform, bob@example.com]
        checks:
          min_rows: 10
          not_null: [customer_id]
    """


def test_flow_defaults_fill_what_an_entity_leaves_out(tmp_path: Path) -> None:
    orders = entities_by_name(load(tmp_path, {"flows/sales/flow.yml": DEFAULTS_FLOW}))["orders"]
    assert orders.run_type == "incremental"
    assert orders.keys == ("id",)
    assert orders.watermark == WatermarkPlan("updated_at")
    assert orders.read.batch_size == 1000
    assert orders.tags == (("domain", "sales"), ("pii", "yes"), ("tier", "silver"))
    assert orders.owners == ("team:platform", "alice@example.com")
    assert orders.checks == ChecksPlan(min_rows=1, not_null=("id",))


def test_entity_settings_win_over_flow_defaults(tmp_path: Path) -> None:
    customers = entities_by_name(load(tmp_path, {"flows/sales/flow.yml": DEFAULTS_FLOW}))["customers"]
    assert customers.run_type == "full_drop"
    assert customers.keys == ("customer_id",)
    assert customers.watermark == WatermarkPlan("changed_at")
    assert customers.read.batch_size == 50
    # tags: flow, then defaults, then entity, key by key; owners: all of them, once each, in order
    assert customers.tags == (("domain", "sales"), ("pii", "yes"), ("tier", "bronze"))
    assert customers.owners == ("team:platform", "alice@example.com", "bob@example.com")
    # checks: min_rows from the entity, column checks from both
    assert customers.checks == ChecksPlan(min_rows=10, not_null=("id", "customer_id"))


def test_batch_size_falls_back_to_project_options(tmp_path: Path) -> None:
    plan = load(tmp_path, {"flows/sales/flow.yml": "home: shop_db\nstore: warehouse\nentities:\n  - name: orders\n"})
    assert plan.entities[0].read.batch_size == 5000


def test_home_and_store_settings_merge_key_by_key(tmp_path: Path) -> None:
    files = {
        "flows/events/flow.yml": """
            home:
              connection: files
            store: lake
            defaults:
              home:
                path: events/*.parquet
              store:
                incremental: true
            """,
        "flows/events/entities/clicks.yml": "keys: [click_id]\n",
        "flows/events/entities/views.yml": """
            home:
              path: views/2026/*.parquet
            store:
              path: web/views
            """,
        "flows/events/entities/archived.yml": """
            store:
              connection: warehouse
              table: archive.events
            """,
    }
    entities = entities_by_name(load(tmp_path, files))

    clicks = entities["clicks"]  # connection from flow.yml, path from defaults, default target
    assert (clicks.home.name, clicks.read.path) == ("files", "events/*.parquet")
    assert (clicks.store.name, clicks.write) == ("lake", WriteSpec(path="events/clicks"))
    assert clicks.store_incremental is True

    views = entities["views"]  # the entity's path wins; the connection still comes from flow.yml
    assert (views.home.name, views.read.path) == ("files", "views/2026/*.parquet")
    assert (views.store.name, views.write) == ("lake", WriteSpec(path="web/views"))
    assert views.store_incremental is True

    archived = entities["archived"]  # the entity changes the store connection; `incremental` still merges in
    assert (archived.store.name, archived.write) == ("warehouse", WriteSpec(table="archive.events"))
    assert archived.store_incremental is True


# ---- shorthands ---------------------------------------------------------------------------------


def test_home_and_store_name_shorthand(tmp_path: Path) -> None:
    files = {
        "flows/shop/flow.yml": "home: catalog\nstore: warehouse\n",
        "flows/shop/entities/customers.yml": "home: shop_db\nstore: lake\n",
    }
    customers = load(tmp_path, files).entities[0]
    assert customers.home.name == "shop_db" and customers.home.type == "sqlite"
    assert customers.store.name == "lake" and customers.store.type == "parquet"


def test_watermark_column_shorthand(tmp_path: Path) -> None:
    files = {
        "flows/shop/flow.yml": "home: shop_db\nstore: lake\nrun_type: incremental\n",
        "flows/shop/entities/orders.yml": "watermark: updated_at\n",
        "flows/shop/entities/payments.yml": "keys: [id]\nwatermark:\n  column: id\n  lookback: 500\n  start: 1000\n",
    }
    entities = entities_by_name(load(tmp_path, files))
    assert entities["orders"].watermark == WatermarkPlan(column="updated_at", lookback=None, start=None)
    assert entities["payments"].watermark == WatermarkPlan(column="id", lookback=500, start=1000)
    assert entities["orders"].uses_cursor


def test_tags_as_a_list_become_tags_without_values(tmp_path: Path) -> None:
    files = {
        "flows/shop/flow.yml": "home: shop_db\nstore: lake\ntags: [nightly]\n",
        "flows/shop/entities/orders.yml": "tags: [critical, pii]\n",
    }
    assert load(tmp_path, files).entities[0].tags == (("critical", ""), ("nightly", ""), ("pii", ""))


def test_schedule_shorthand_and_sensor_off(tmp_path: Path) -> None:
    files = {
        "flows/ingest.yml": INGEST.replace("  batch_size: 5000", "  schedule_status: running"),
        "flows/nightly/flow.yml": "home: catalog\nstore: warehouse\nschedule: '0 5 * * *'\nsensor: false\n",
        "flows/live/flow.yml": """
            home: catalog
            store: warehouse
            schedule:
              cron: '*/15 * * * *'
              timezone: Europe/Amsterdam
              status: stopped
            sensor:
              interval_seconds: 30
            """,
    }
    flows = {flow.name: flow for flow in load(tmp_path, files).flows}
    assert flows["nightly"].schedule == ScheduleDef("0 5 * * *", "UTC", "running")
    assert flows["nightly"].sensor is None
    assert flows["live"].schedule == ScheduleDef("*/15 * * * *", "Europe/Amsterdam", "stopped")
    assert flows["live"].sensor == SensorDef("stopped", 30)


# ---- what to read and where to write ------------------------------------------------------------


def test_database_home_reads_the_table_named_like_the_entity(tmp_path: Path) -> None:
    files = {
        "flows/shop/flow.yml": "home: shop_db\nstore: warehouse\n",
        "flows/shop/entities/customers.yml": "columns: [customer_id, name]\n",
        "flows/shop/entities/products.yml": "home:\n  table: catalog_products\n",
        "flows/shop/entities/big_orders.yml": "home:\n  query: select * from orders where amount > 100\n",
    }
    entities = entities_by_name(load(tmp_path, files))
    assert entities["customers"].read == ReadSpec(table="customers", columns=("customer_id", "name"), batch_size=5000)
    assert entities["products"].read.table == "catalog_products"
    assert entities["big_orders"].read == ReadSpec(query="select * from orders where amount > 100", batch_size=5000)
    assert entities["big_orders"].read.describe() == "query: select * from orders where amount > 100"


def test_store_default_targets(tmp_path: Path) -> None:
    files = {
        "flows/shop/flow.yml": "home: shop_db\nstore: warehouse\n",
        "flows/shop/entities/orders.yml": "",
        "flows/shop/entities/customers.yml": "store: lake\n",
    }
    entities = entities_by_name(load(tmp_path, files))
    assert entities["orders"].write == WriteSpec(table="shop.orders")
    assert entities["customers"].write == WriteSpec(path="shop/customers")


def test_entity_declared_at_its_file_or_its_item_in_flow_yml(tmp_path: Path) -> None:
    files = {
        "flows/shop/flow.yml": "home: shop_db\nstore: warehouse\nentities:\n  - name: stores\n",
        "flows/shop/entities/orders.yml": "# orders\nkeys: [order_id]\n",
    }
    entities = entities_by_name(load(tmp_path, files))
    assert str(entities["stores"].declared_at) == "flows/shop/flow.yml:4"
    assert str(entities["orders"].declared_at) == "flows/shop/entities/orders.yml:2"
    assert (entities["orders"].label, entities["orders"].op_name) == ("shop.orders", "shop__orders")


def test_partition_plan(tmp_path: Path) -> None:
    files = {
        "flows/web/flow.yml": "home: files\nstore: warehouse\n",
        "flows/web/entities/page_views.yml": """
            home:
              path: page_views
            partition:
              column: viewed_at
              start: 2026-01-01
              end: 2026-01-31
              timezone: Europe/Amsterdam
            """,
    }
    page_views = load(tmp_path, files).entities[0]
    assert page_views.partition == PartitionPlan(
        "viewed_at", "daily", date(2026, 1, 1), date(2026, 1, 31), "Europe/Amsterdam", 0
    )
    assert page_views.watermark is None


# ---- environments -------------------------------------------------------------------------------

SHOP = {
    "flows/shop/flow.yml": "home: shop_db\nstore: lake\n",
    "flows/shop/entities/orders.yml": "keys: [order_id]\n",
    "flows/shop/entities/big_orders.yml": "home:\n  table: orders\nbatch_size: 10\n",
}


def connection_settings(plan: ProjectPlan) -> dict[str, dict[str, object]]:
    return {c.name: c.settings.model_dump(exclude_defaults=True) for c in plan.connections}


def assert_prod(plan: ProjectPlan) -> None:
    assert plan.environment == "prod"
    settings = connection_settings(plan)
    assert settings["lake"] == {"type": "parquet", "path": "/mnt/prod/lake"}
    assert settings["shop_db"] == {"type": "sqlite", "path": "${PROD_SHOP_DB}"}
    assert settings["warehouse"] == {"type": "duckdb", "path": "data/warehouse.duckdb"}  # not overridden
    assert plan.concurrency == 16
    entities = entities_by_name(plan)
    assert entities["orders"].read.batch_size == 20000
    assert entities["big_orders"].read.batch_size == 10  # the entity's own setting still wins
    assert entities["orders"].store.settings.path == "/mnt/prod/lake"  # entities use the overridden connection


def test_no_environment_uses_the_base_settings(tmp_path: Path) -> None:
    plan = load(tmp_path, SHOP)
    assert plan.environment is None
    assert connection_settings(plan)["lake"] == {"type": "parquet", "path": "data/lake"}
    assert (plan.concurrency, plan.retries) == (4, 2)
    assert entities_by_name(plan)["orders"].read.batch_size == 5000


def test_environment_argument_overrides_connections_and_options(tmp_path: Path) -> None:
    assert_prod(load(tmp_path, SHOP, environment="prod"))


def test_ingest_env_variable_selects_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INGEST_ENV", "prod")
    assert_prod(load(tmp_path, SHOP))


def test_environment_argument_wins_over_ingest_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INGEST_ENV", "test")
    assert_prod(load(tmp_path, SHOP, environment="prod"))


def test_default_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {**SHOP, "flows/ingest.yml": INGEST + "default_environment: test\n"}
    plan = load(tmp_path, files)
    assert (plan.environment, plan.retries, plan.concurrency) == ("test", 0, 4)
    monkeypatch.setenv("INGEST_ENV", "prod")
    assert_prod(load(tmp_path, files))


# ---- load modes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run_type", "store_incremental", "expected"),
    [
        ("incremental", None, LoadMode("cursor", "append")),
        ("incremental", True, LoadMode("cursor", "append")),
        ("incremental", False, LoadMode("full", "replace")),
        ("full_drop", None, LoadMode("full", "replace")),
        ("full_drop", False, LoadMode("full", "replace")),
        ("full_drop", True, LoadMode("full", "append")),
    ],
)
def test_load_mode_follows_hygges_run_type_table(
    tmp_path: Path, run_type: str, store_incremental: bool | None, expected: LoadMode
) -> None:
    store = "store: lake\n" if store_incremental is None else (
        f"store:\n  connection: lake\n  incremental: {str(store_incremental).lower()}\n"
    )
    files = {
        "flows/shop/flow.yml": f"home: shop_db\n{store}run_type: {run_type}\n",
        "flows/shop/entities/orders.yml": "watermark: updated_at\n",
    }
    orders = load(tmp_path, files).entities[0]
    assert (orders.run_type, orders.store_incremental) == (run_type, store_incremental)
    assert orders.mode() == expected
    assert orders.uses_cursor == (expected.read == "cursor")


@pytest.mark.parametrize(("run_type", "store_incremental"), [("incremental", None), ("full_drop", True)])
def test_partitioned_entities_reload_their_window(
    tmp_path: Path, run_type: str, store_incremental: bool | None
) -> None:
    incremental = "" if store_incremental is None else "  incremental: true\n"
    files = {
        "flows/web/flow.yml": f"home: files\nstore:\n  connection: warehouse\n{incremental}run_type: {run_type}\n",
        "flows/web/entities/page_views.yml": """
            home:
              path: page_views
            partition:
              column: day
              start: 2026-01-01
            """,
    }
    page_views = load(tmp_path, files).entities[0]
    assert page_views.mode() == LoadMode("window", "replace")
    assert page_views.mode().describe() == "reload the partition window and replace it"
    assert not page_views.uses_cursor


def test_mode_for_another_run_type(tmp_path: Path) -> None:
    """A run may ask for a different run type (e.g. a full reload of an incremental entity)."""
    files = {
        "flows/shop/flow.yml": "home: shop_db\nstore: lake\nrun_type: incremental\n",
        "flows/shop/entities/orders.yml": "watermark: updated_at\n",
    }
    orders = load(tmp_path, files).entities[0]
    assert orders.mode("full_drop") == LoadMode("full", "replace")
    assert orders.mode() == LoadMode("cursor", "append")


# ---- code version -------------------------------------------------------------------------------

VERSIONED = {
    "flows/shop/flow.yml": "home: shop_db\nstore: warehouse\nrun_type: incremental\n",
    "flows/shop/entities/orders.yml": "keys: [order_id]\nwatermark: updated_at\n",
    "flows/shop/entities/customers.yml": "keys: [customer_id]\nwatermark: updated_at\n",
}


def code_versions(tmp_path: Path, name: str, changes: dict[str, str] | None = None) -> dict[str, str]:
    plan = load(tmp_path / name, {**VERSIONED, **(changes or {})})
    return {entity.entity: entity.code_version() for entity in plan.entities}


def test_code_version_is_stable(tmp_path: Path) -> None:
    first = code_versions(tmp_path, "first")
    assert first == code_versions(tmp_path, "second")
    assert first["orders"] != first["customers"]
    assert len(first["orders"]) == 16


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"flows/shop/entities/orders.yml": "# orders\n\nkeys: [order_id]\nwatermark: updated_at\n"},
                     id="comment-and-blank-line"),
        pytest.param({"flows/shop/entities/orders.yml": "keys: [order_id]\nwatermark:\n  column: updated_at\n"},
                     id="watermark-long-form"),
        pytest.param({"flows/shop/entities/customers.yml": "keys: [customer_id, region]\nwatermark: updated_at\n"},
                     id="another-entity"),
        pytest.param({"flows/ingest.yml": INGEST.replace("data/catalog.duckdb", "data/other.duckdb")},
                     id="unused-connection"),
    ],
)
def test_code_version_ignores_changes_that_do_not_change_what_is_written(
    tmp_path: Path, changes: dict[str, str]
) -> None:
    assert code_versions(tmp_path, "changed", changes)["orders"] == code_versions(tmp_path, "base")["orders"]


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"flows/shop/entities/orders.yml": "keys: [id]\nwatermark: updated_at\n"}, id="keys"),
        pytest.param({"flows/shop/entities/orders.yml": "keys: [order_id]\nwatermark: changed_at\n"},
                     id="watermark"),
        pytest.param({"flows/shop/entities/orders.yml": "keys: [order_id]\nwatermark: updated_at\n"
                      "store:\n  table: raw.orders\n"}, id="store-table"),
        pytest.param({"flows/shop/entities/orders.yml": "keys: [order_id]\nwatermark: updated_at\n"
                      "columns: [order_id, updated_at]\n"}, id="columns"),
        pytest.param({"flows/shop/flow.yml": "home: shop_db\nstore: warehouse\nrun_type: incremental\n"
                      "defaults:\n  batch_size: 10\n"}, id="flow-defaults"),
        pytest.param({"flows/ingest.yml": INGEST.replace("data/warehouse.duckdb", "data/wh2.duckdb")},
                     id="store-connection-path"),
    ],
)
def test_code_version_changes_with_a_setting(tmp_path: Path, changes: dict[str, str]) -> None:
    assert code_versions(tmp_path, "changed", changes)["orders"] != code_versions(tmp_path, "base")["orders"]


# ---- references ---------------------------------------------------------------------------------


def test_references_are_not_resolved_when_the_project_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOP_DIR", "/srv/shop")
    monkeypatch.delenv("PROD_SHOP_DB", raising=False)  # unset, and still no error: it is resolved at run time
    files = {"flows/shop/flow.yml": "home: shop_db\nstore: lake\n", "flows/shop/entities/orders.yml": ""}
    base = load(tmp_path / "base", files).entities[0]
    assert base.home.settings.path == "${SHOP_DIR:-data}/shop.sqlite"
    prod = load(tmp_path / "prod", files, environment="prod").entities[0]
    assert prod.home.settings.path == "${PROD_SHOP_DB}"

    monkeypatch.setenv("SHOP_DIR", "/srv/other")
    assert load(tmp_path / "base", files).entities[0].code_version() == base.code_version()
