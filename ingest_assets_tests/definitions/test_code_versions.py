"""The demo's asset code versions are pinned: a refactor that moves a plan field must not change them.

A code version tells Dagster (and its users) that what an asset writes has changed. It is a hash of an
explicit fingerprint of the plan, so reshaping the plan's classes leaves it alone; only a change to
what the asset writes may move it, and then this list is updated on purpose.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from ingest_assets import build_definitions

DEMO_FLOWS = Path(__file__).resolve().parents[2] / "flows"

PINNED = {
    "fabric_mirror/customers": "fb9eb542bb05033e",
    "fabric_mirror/orders": "cbc9e48b7c79635c",
    "shop_catalog/customers": "59fb22f3979431bb",
    "shop_catalog/products": "3817cc66bbb1b1e3",
    "shop_catalog/stores": "72c4e12bac7b9f01",
    "shop_lakehouse/customers": "cc00d4f5934ba7b9",
    "shop_lakehouse/orders": "77c180d21aafaa88",
    "shop_sales/order_lines": "e2358efb8cd1f973",
    "shop_sales/orders": "5f6c93fcfce7b95a",
    "shop_sales/revenue_per_customer": "1b7d2ad6b3ee963c",
    "web_traffic/page_views": "25f841a911f7651f",
}


def test_the_demo_assets_keep_their_code_versions() -> None:
    graph = build_definitions(DEMO_FLOWS).resolve_asset_graph()
    versions = {key.to_user_string(): graph.get(key).code_version for key in graph.materializable_asset_keys}
    assert versions == PINNED


def test_code_versions_do_not_depend_on_where_the_project_is(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(DEMO_FLOWS, tmp_path / "flows")
    graph = build_definitions(tmp_path / "flows").resolve_asset_graph()
    assert {k.to_user_string(): graph.get(k).code_version for k in graph.materializable_asset_keys} == PINNED
    assert isinstance(graph.get(dg.AssetKey(["shop_sales", "orders"])).code_version, str)


def test_every_field_of_the_plan_is_in_its_fingerprint_or_left_out_on_purpose() -> None:
    """A field added to EntityPlan must be added to `fingerprint()` too (or here, with the reason), or a
    change to it would not change the asset's code version."""
    from dataclasses import fields

    from ingest_assets.plan.load import load_plan
    from ingest_assets.plan.model import EntityPlan

    # where the entity is written, how DuckDB may run its SQL, and what its columns mean: not what it writes
    left_out = {"declared_at", "query_memory_limit", "column_descriptions"}
    plan = next(entity for entity in load_plan(DEMO_FLOWS).entities if entity.sample_rows is None)
    fingerprinted = set(plan.fingerprint()) | {"sample_rows"}  # only when set: see EntityPlan.fingerprint
    assert fingerprinted == {field.name for field in fields(EntityPlan)} - left_out


def test_how_a_home_reads_does_not_change_a_code_version(tmp_path: Path) -> None:
    """`engine:` picks ADBC or SQLAlchemy, which read the same values (test_sqlite_home.py holds them to it):
    switching it must not tell Dagster that the assets changed."""
    import shutil

    shutil.copytree(DEMO_FLOWS, tmp_path / "flows")
    settings = tmp_path / "flows" / "ingest.yml"
    text = settings.read_text()
    assert text.count("type: sqlite\n") == 1
    settings.write_text(text.replace("type: sqlite\n", "type: sqlite\n    engine: sqlalchemy\n"))
    graph = build_definitions(tmp_path / "flows").resolve_asset_graph()
    assert {k.to_user_string(): graph.get(k).code_version for k in graph.materializable_asset_keys} == PINNED
