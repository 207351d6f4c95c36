"""Where an asset comes from and where it lands, as the asset page shows it: Dagster's own metadata keys.

`dagster/code_references` (the entity's YAML file and line) becomes the page's *Source code* link,
`dagster/table_name` its *Storage*, `dagster/storage_kind` the store's kind, and `column_descriptions`
the descriptions in its column schema; checked in the definitions and in the page the real webserver
serves to headless Chromium.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from ingest_assets.defs.factory import build_definitions
from ingest_assets_tests.conftest import create_orders_db, write_files
from ingest_assets_tests.integration.test_cli import dagster
from ingest_assets_tests.integration.test_delta_ui import served_page

PROJECT = {
    "flows/ingest.yml": """
        connections:
          shop: {type: sqlite, path: source/shop.sqlite}
          warehouse: {type: duckdb, path: warehouse.duckdb}
          lake: {type: parquet, path: lake}
        """,
    "flows/sales/flow.yml": """
        home: shop
        store: warehouse
        entities:
          - name: customers
            store: lake
        """,
    "flows/sales/entities/orders.yml": """
        # the orders, by key
        home: {table: orders}
        keys: [id]
        column_descriptions: {amount: the order's total in euros}
        """,
}


def _metadata(root: Path, key: str) -> dict[str, object]:
    specs = {spec.key: spec for spec in build_definitions(root / "flows").resolve_all_asset_specs()}
    return dict(specs[dg.AssetKey(key.split("/"))].metadata)


def test_each_asset_names_its_yaml_line_its_table_and_its_storage(tmp_path: Path):
    write_files(tmp_path, PROJECT)

    orders = _metadata(tmp_path, "sales/orders")
    [reference] = orders["dagster/code_references"].code_references  # type: ignore[attr-defined]
    assert (reference.file_path, reference.line_number) == (str(tmp_path / "flows/sales/entities/orders.yml"), 2)
    assert reference.label == "flows/sales/entities/orders.yml"
    assert (orders["dagster/table_name"], orders["dagster/storage_kind"]) == ("sales.orders", "duckdb")

    customers = _metadata(tmp_path, "sales/customers")  # declared in the flow's list, written to a folder
    [reference] = customers["dagster/code_references"].code_references  # type: ignore[attr-defined]
    assert (reference.file_path, reference.line_number) == (str(tmp_path / "flows/sales/flow.yml"), 4)
    assert "dagster/table_name" not in customers and customers["dagster/storage_kind"] == "parquet"


@pytest.mark.slow
def test_the_asset_page_links_to_the_yaml_and_shows_the_table_and_columns(tmp_path: Path):
    write_files(tmp_path, PROJECT)
    create_orders_db(tmp_path / "source/shop.sqlite", 3)
    (tmp_path / "home").mkdir()
    (tmp_path / "home/dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    loaded = dagster(tmp_path, "asset", "materialize", "-m", "ingest_assets.definitions", "--select", "sales/orders")
    assert loaded.returncode == 0, loaded.stderr[-3000:]

    page = served_page(tmp_path, tmp_path / "home", tmp_path / "flows", "assets/sales/orders")

    yaml_file = tmp_path / "flows/sales/entities/orders.yml"
    assert f'href="vscode://file/{yaml_file}:2"' in page  # Source code: open the YAML at the entity's line
    assert 'title="flows/sales/entities/orders.yml"' in page
    assert ">Storage<" in page and 'title="sales.orders"' in page  # Storage: the table as the store names it
    assert "the order's total in euros" in page  # the column's description, in the page's column schema
    assert 'href="/assets/source/shop/orders"' in page  # Lineage: the source table, upstream
