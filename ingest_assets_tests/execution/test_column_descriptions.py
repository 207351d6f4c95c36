"""`column_descriptions`: what each column means, in the column schema the asset page shows."""

from __future__ import annotations

import dagster as dg
import pytest

from ingest_assets.errors import ConfigError
from ingest_assets_tests.conftest import Project, create_orders_db

INGEST = "connections:\n  shop: {type: sqlite, path: source/shop.sqlite}\n  lake: {type: parquet, path: lake}\n"
FLOW = """
    home: shop
    store: lake
    defaults:
      column_descriptions: {updated_at: when the order last changed}
    """


def _code_version(project: Project) -> str | None:
    return project.definitions().get_assets_def(dg.AssetKey(["sales", "orders"])).code_versions_by_key[
        dg.AssetKey(["sales", "orders"])]


def test_the_column_schema_carries_the_descriptions_and_the_code_version_ignores_them(project: Project):
    project.write({"flows/ingest.yml": INGEST, "flows/sales/flow.yml": FLOW,
                   "flows/sales/entities/orders.yml": "home: {table: orders}\nkeys: [id]\n"})
    undocumented = _code_version(project)
    project.write({"flows/sales/entities/orders.yml": """
        home: {table: orders}
        keys: [id]
        column_descriptions:
          id: the order's key
          amount: in euros, tax included
        """})
    create_orders_db(project.root / "source/shop.sqlite", 5)

    project.materialize("sales/orders")

    schema = project.latest_metadata("sales/orders")["dagster/column_schema"]
    assert {column.name: column.description for column in schema.columns} == {  # type: ignore[attr-defined]
        "id": "the order's key", "customer": None, "amount": "in euros, tax included",
        "updated_at": "when the order last changed"}  # the flow's default
    assert _code_version(project) == undocumented  # documentation: no asset becomes stale by it


def test_a_description_of_a_column_the_entity_leaves_out_is_refused(project: Project):
    project.write({"flows/ingest.yml": INGEST, "flows/sales/flow.yml": "home: shop\nstore: lake\n",
                   "flows/sales/entities/orders.yml": """
        home: {table: orders}
        columns: [id, amount]
        column_descriptions: {amount: in euros, customer: who ordered}
        """})
    with pytest.raises(ConfigError) as refused:
        project.definitions()
    assert str(refused.value) == (
        "the ingest project has 1 problem:\n  flows/sales/entities/orders.yml:2: sales.orders: column_descriptions "
        "names column 'customer' which 'columns' leaves out -> add it to columns (id, amount)")
