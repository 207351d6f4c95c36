"""What the entities read, as external assets upstream of them: keys, sharing, the translator's say."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from ingest_assets import build_definitions
from ingest_assets.defs.translator import IngestTranslator, source_name
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
    assert _parents(graph, "sales/orders") == {"source/shop/orders"}
    assert _parents(graph, "sales/big_orders") == {"source/shop/big_orders_query"}
    assert _parents(graph, "sales/clicks") == {"source/files/web/clicks"}  # the glob's folders
    assert _parents(graph, "copy/orders") == {"source/shop/main/orders"}  # a schema-qualified table
    sources = graph.get_all_asset_keys() - graph.materializable_asset_keys
    assert {k.to_user_string() for k in sources} == {"source/shop/orders", "source/shop/big_orders_query",
                                                      "source/files/web/clicks", "source/shop/main/orders"}
    assert graph.get(dg.AssetKey(["source", "files", "web", "clicks"])).kinds == {"parquet"}


def test_a_connection_named_like_a_flow_takes_no_entitys_key(tmp_path: Path):
    """Flow `shop`, entity `orders`, reading table `orders` of connection `shop`: keys of three parts and
    more never meet an entity's (flow, entity)."""
    project = {**PROJECT, "flows/shop/flow.yml": "home: shop\nstore: lake\nentities: [{name: orders}]\n"}
    graph = build_definitions(write_project(tmp_path, project)).resolve_asset_graph()
    assert _parents(graph, "shop/orders") == {"source/shop/orders"}


def test_a_translator_renames_sources_or_leaves_them_out(tmp_path: Path):
    class Operational(IngestTranslator):
        def get_source_asset_key(self, plan: EntityPlan) -> dg.AssetKey | None:
            return None if plan.home.name == "files" else dg.AssetKey(["operational", *source_name(plan.read, "")])

    graph = _graph(tmp_path, Operational())
    assert _parents(graph, "sales/orders") == {"operational/orders"}
    assert _parents(graph, "sales/clicks") == set()
    assert dg.AssetKey(["source", "files", "web", "clicks"]) not in graph.get_all_asset_keys()


def test_a_translators_source_key_that_is_an_entitys_is_refused(tmp_path: Path):
    class Flat(IngestTranslator):
        def get_source_asset_key(self, plan: EntityPlan) -> dg.AssetKey | None:
            return dg.AssetKey([plan.home.name, *source_name(plan.read, plan.entity)])

    project = {**PROJECT, "flows/shop/flow.yml": "home: shop\nstore: lake\nentities: [{name: orders}]\n"}
    with pytest.raises(ConfigError) as refused:
        build_definitions(write_project(tmp_path, project), translator=Flat())
    assert str(refused.value) == (
        "the ingest project has 1 problem:\n  flows/sales/flow.yml:4: sales.orders: what it reads would be the "
        "source asset 'shop/orders', which is the key of entity shop.orders -> give sources other keys in the "
        "translator's get_source_asset_key")
