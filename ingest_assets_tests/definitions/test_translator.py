"""A translator that changes asset keys, as the README's "Extending" section offers, works everywhere.

The translator is the only maker of asset keys: checks, jobs, sensors, cursors of incremental runs,
derived assets' deps and `ingest plan` all use the key it gives, so a prefix reaches all of them.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import textwrap

import dagster as dg
import pytest

from ingest_assets import build_definitions
from ingest_assets.cli.main import main
from ingest_assets.defs.translator import IngestTranslator, TranslatorError
from ingest_assets.plan.model import EntityPlan
from ingest_assets.runtime import check_results
from ingest_assets_tests.conftest import Project, create_orders_db, insert_orders

PREFIX = "warehouse"

PROJECT = {
    "flows/ingest.yml": """
        connections:
          shop: {type: sqlite, path: shop.sqlite}
          lake: {type: parquet, path: lake}
        """,
    "flows/sales/flow.yml": """
        home: shop
        store: lake
        run_type: incremental
        sensor:
          interval_seconds: 30
        entities:
          - name: orders
            keys: [id]
            watermark: updated_at
            tags: {tier: gold}
            checks: {min_rows: 1}
        """,
    "flows/sales/derived/totals.yml": """
        inputs: [sales.orders]
        sql: SELECT customer, count(*) AS orders FROM sales.orders GROUP BY customer
        keys: [customer]
        """,
}

ORDERS = dg.AssetKey([PREFIX, "sales", "orders"])
TOTALS = dg.AssetKey([PREFIX, "sales", "totals"])


class PrefixedTranslator(IngestTranslator):
    def get_asset_key(self, plan: EntityPlan) -> dg.AssetKey:
        return super().get_asset_key(plan).with_prefix(PREFIX)


def prefixed(project: Project) -> dg.Definitions:
    return build_definitions(project.flows, translator=PrefixedTranslator())


def materialize(project: Project, selection: list[dg.AssetKey]) -> dg.ExecuteInProcessResult:
    defs = prefixed(project)
    assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    return dg.materialize(assets, selection=selection, resources=defs.resources, instance=project.instance)


def checks_of(result: dg.ExecuteInProcessResult) -> dict[tuple[dg.AssetKey, str], bool]:
    return {(c.asset_key, c.check_name): c.passed for c in result.get_asset_check_evaluations()}


def test_every_definition_uses_the_translators_keys(project: Project) -> None:
    project.write(PROJECT)
    defs = prefixed(project)
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()

    assert graph.materializable_asset_keys == {ORDERS, TOTALS}
    assert {key.asset_key for key in graph.asset_check_keys} == {ORDERS, TOTALS}
    assert graph.get(TOTALS).parent_keys == {ORDERS}
    assert defs.resolve_job_def("sales_job").asset_layer.executable_asset_keys == {ORDERS}
    assert defs.resolve_job_def("tag_tier_gold_job").asset_layer.executable_asset_keys == {ORDERS}
    sensor = defs.resolve_sensor_def("sales_new_data_sensor")
    assert sensor.job.selection.resolve(graph) == {ORDERS}


def test_materialize_checks_cursor_and_derived_assets_follow_the_prefixed_keys(project: Project) -> None:
    project.write(PROJECT)
    database = project.root / "shop.sqlite"
    create_orders_db(database, 10)

    first = materialize(project, [ORDERS, TOTALS])
    assert first.success
    assert {e.asset_key for e in first.get_asset_materialization_events()} == {ORDERS, TOTALS}
    assert checks_of(first)[(ORDERS, check_results.ROWS_READ_EQUAL_WRITTEN)]
    assert checks_of(first)[(ORDERS, check_results.MIN_ROWS)]
    assert checks_of(first)[(TOTALS, check_results.KEYS_NOT_NULL_UNIQUE)]

    # The second run finds the cursor the first recorded under the prefixed key: it reads the new rows only.
    with sqlite3.connect(database) as connection:
        insert_orders(connection, range(11, 14))
    second = materialize(project, [ORDERS])
    [event] = second.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert metadata["ingest/rows_read"].value == 3
    assert metadata["ingest/watermark"].text == "updated_at = 2026-03-01 08:13:00"
    assert project.instance.get_latest_materialization_event(dg.AssetKey(["sales", "orders"])) is None


def test_the_new_data_sensor_reads_the_cursor_of_the_prefixed_key(project: Project) -> None:
    project.write(PROJECT)
    database = project.root / "shop.sqlite"
    create_orders_db(database, 10)

    def tick() -> list[list[dg.AssetKey] | None]:
        defs = prefixed(project)
        with dg.build_sensor_context(instance=project.instance, resources=defs.resources,
                                     definitions=defs) as context:
            result = defs.resolve_sensor_def("sales_new_data_sensor").evaluate_tick(context)
        return [request.asset_selection for request in result.run_requests]

    assert tick() == [[ORDERS]]
    assert materialize(project, [ORDERS]).success
    assert tick() == []  # the committed cursor (under the prefixed key) covers the source's maximum
    with sqlite3.connect(database) as connection:
        insert_orders(connection, range(11, 12))
    assert tick() == [[ORDERS]]


def test_ingest_plan_plans_a_code_location_built_with_a_translator(
    project: Project, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write(PROJECT)
    create_orders_db(project.root / "shop.sqlite", 10)
    assert materialize(project, [ORDERS]).success
    (project.root / "prefixed_location.py").write_text(textwrap.dedent(f"""
        from ingest_assets import build_definitions
        from ingest_assets_tests.definitions.test_translator import PrefixedTranslator

        defs = build_definitions({str(project.flows)!r}, translator=PrefixedTranslator())
        """))
    monkeypatch.syspath_prepend(str(project.root))
    monkeypatch.setenv("DAGSTER_HOME", str(project.root / ".dagster"))
    monkeypatch.delitem(sys.modules, "prefixed_location", raising=False)

    code = main(["plan", "--flows-dir", str(project.flows), "-m", "prefixed_location", "--json",
                 "--select", f"{PREFIX}/sales/orders"])

    assert code == 0
    [orders] = json.loads(capsys.readouterr().out)["entities"]
    assert orders["asset_key"] == f"{PREFIX}/sales/orders"
    assert orders["committed_cursor"] == "updated_at = 2026-03-01 08:10:00"


def test_a_spec_whose_key_is_not_the_translators_key_is_refused(project: Project) -> None:
    class SpecOnly(IngestTranslator):
        def get_asset_spec(self, plan: EntityPlan) -> dg.AssetSpec:
            return super().get_asset_spec(plan).replace_attributes(key=dg.AssetKey(["elsewhere", plan.entity]))

    project.write(PROJECT)
    with pytest.raises(TranslatorError) as refused:
        build_definitions(project.flows, translator=SpecOnly())
    assert str(refused.value) == (
        "SpecOnly.get_asset_spec gives sales.orders the key 'elsewhere/orders', but get_asset_key gives "
        "'sales/orders' -> change keys in get_asset_key only (checks, jobs, sensors and runs all use it)"
    )
