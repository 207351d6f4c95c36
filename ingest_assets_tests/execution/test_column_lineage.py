"""`dagster/column_lineage`: an entity's columns come 1:1 from its source asset's (defs/sources.py);
and `dagster/uri`, where a file store's table is."""

from __future__ import annotations

import dagster as dg

from ingest_assets_tests.conftest import Project, create_orders_db

PROJECT = {
    "flows/ingest.yml": """
        connections:
          shop: {type: sqlite, path: source/shop.sqlite}
          lake: {type: parquet, path: lake}
          mirror: {type: open_mirroring, local_path: onelake, mirror_name: shop, folder_deletion_wait_seconds: 0}
        """,
    "flows/sales/flow.yml": """
        home: shop
        store: lake
        entities:
          - {name: orders, audit: {loaded_at: true}}
          - name: totals
            home: {table: orders}
            transform: {sql: "SELECT customer, sum(amount) AS total FROM records GROUP BY customer"}
          - {name: mirrored, home: {table: orders}, store: mirror, keys: [id]}
        """,
}
SOURCE = dg.AssetKey(["source", "shop", "orders"])


def _lineage(project: Project, key: str) -> dict[str, list[dg.TableColumnDep]] | None:
    lineage = project.latest_metadata(key).get("dagster/column_lineage")
    return None if lineage is None else dict(lineage.deps_by_column)  # type: ignore[attr-defined]


def test_each_column_comes_from_the_sources_column_of_its_name(project: Project):
    project.write(PROJECT)
    create_orders_db(project.root / "source/shop.sqlite", 5)

    project.materialize("*")

    expected = {name: [dg.TableColumnDep(asset_key=SOURCE, column_name=name)]
                for name in ("id", "customer", "amount", "updated_at")}
    assert _lineage(project, "sales/orders") == expected  # `_loaded_at` comes from no source column
    assert _lineage(project, "sales/mirrored") == expected  # a two-step (graph) asset too
    assert _lineage(project, "sales/totals") is None  # through a transform: not known


def test_a_file_stores_table_has_its_uri(project: Project):
    project.write(PROJECT)
    create_orders_db(project.root / "source/shop.sqlite", 5)

    project.materialize("sales/orders")

    metadata = project.latest_metadata("sales/orders")
    assert metadata["dagster/uri"] == (project.root / "lake/sales/orders").as_uri()
