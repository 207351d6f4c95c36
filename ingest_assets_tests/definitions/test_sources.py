"""What the entities read, as external assets upstream of them: keys, sharing, the translator's say."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from ingest_assets import build_definitions
from ingest_assets.defs.translator import IngestTranslator
from ingest_assets.errors import ConfigError
from ingest_assets.plan.model import EntityPlan
from ingest_assets_tests.conftest import write_project

PROJECT = {
    "flows/ingest.yml": """
        connections:
          shop: {type: sqlite, path: shop.sqlite}
          files: {type: parquet, path: landing}
          lake: {type: parquet, path: lake}
        """,
    "flows/sales/flow.yml": """
        home: shop
        store: lake
        entities:
          - {name: orders, home: {table: orders}}
          - {name: big_orders, home: {query: "SELECT * FROM orders WHERE amount > 100"}}
          - {name: clicks, home: {connection: files, path: "web/clicks/*.parquet"}}
        """,
    "flows/copy/flow.yml": """
        home: shop
        store: lake
        entities:
          - {name: orders, home: {table: main.orders}}
        """,
}


def _graph(root: Path, translator: IngestTranslator | None = None):
    return build_definitions(write_project(root, PROJECT), translator=translator).resolve_asset_graph()


def _parents(graph, key: str) -> set[str]:
    return {k.to_user_string() for k in graph.get(dg.AssetKey(key.split("/"))).parent_keys}


def test_a_table_a_query_and_files_each_become_a_source(tmp_path: Path):
    graph = _graph(tmp_path)
    assert _parents(graph, "sales/orders") == {"shop/orders"}
    assert _parents(graph, "sales/big_orders") == {"shop/big_orders_query"}
    assert _parents(graph, "sales/clicks") == {"files/web/clicks"}  # the glob's folders
    assert _parents(graph, "copy/orders") == {"shop/main/orders"}  # a schema-qualified table
    sources = graph.get_all_asset_keys() - graph.materializable_asset_keys
    assert {k.to_user_string() for k in sources} == {"shop/orders", "shop/big_orders_query", "files/web/clicks",
                                                      "shop/main/orders"}
    assert graph.get(dg.AssetKey(["files", "web", "clicks"])).kinds == {"parquet"}


def test_a_translator_renames_sources_or_leaves_them_out(tmp_path: Path):
    class Prefixed(IngestTranslator):
        def get_source_asset_key(self, plan: EntityPlan) -> dg.AssetKey | None:
            key = super().get_source_asset_key(plan)
            return None if plan.home.name == "files" else key.with_prefix("operational")  # type: ignore[union-attr]

    graph = _graph(tmp_path, Prefixed())
    assert _parents(graph, "sales/orders") == {"operational/shop/orders"}
    assert _parents(graph, "sales/clicks") == set()
    assert dg.AssetKey(["files", "web", "clicks"]) not in graph.get_all_asset_keys()


def test_a_source_that_would_take_an_entitys_key_is_refused(tmp_path: Path):
    project = {**PROJECT, "flows/shop/flow.yml": "home: shop\nstore: lake\nentities: [{name: orders}]\n"}
    with pytest.raises(ConfigError) as refused:
        build_definitions(write_project(tmp_path, project))
    assert str(refused.value) == (
        "the ingest project has 1 problem:\n  flows/sales/flow.yml:4: sales.orders: what it reads would be the "
        "source asset 'shop/orders', which is the key of entity shop.orders -> rename the connection, or give "
        "sources other keys with a translator's get_source_asset_key")
