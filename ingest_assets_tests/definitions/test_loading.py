"""How the definitions load: the collector around the build, the code location module, the entity marker.

What the definitions hold is asserted in test_definitions.py; here, that loading them fast changes none
of it and leaves the process as it was.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from ingest_assets.defs.factory import build_definitions
from ingest_assets.defs.translator import ENTITY_METADATA_KEY, IngestTranslator
from ingest_assets.plan.model import EntityPlan
from ingest_assets_tests.conftest import REPOSITORY

DEMO_FLOWS = REPOSITORY / "flows"


def test_building_leaves_the_garbage_collector_as_it_found_it() -> None:
    assert gc.isenabled()
    build_definitions(DEMO_FLOWS)
    assert gc.isenabled()
    gc.disable()
    try:
        build_definitions(DEMO_FLOWS)
        assert not gc.isenabled()
    finally:
        gc.enable()


class _UnmarkedTranslator(IngestTranslator):
    """A translator that builds its own metadata, as a user's may: without the entity marker."""

    def get_asset_spec(self, plan: EntityPlan) -> dg.AssetSpec:
        spec = super().get_asset_spec(plan)
        return spec.replace_attributes(metadata={k: v for k, v in spec.metadata.items() if k != ENTITY_METADATA_KEY})


def test_every_entity_is_marked_whatever_the_translator_does() -> None:
    for translator in (IngestTranslator(), _UnmarkedTranslator()):
        graph = build_definitions(DEMO_FLOWS, translator=translator).resolve_asset_graph()
        orders = graph.get(dg.AssetKey(["shop_sales", "orders"]))
        assert orders.metadata[ENTITY_METADATA_KEY] == "shop_sales.orders"
        # Last among the metadata, where the factory has always put it.
        assert list(orders.metadata)[-1] == ENTITY_METADATA_KEY


def test_partitioned_entities_with_the_same_window_share_one_partitions_definition(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    (flows / "events").mkdir(parents=True)
    (flows / "ingest.yml").write_text(
        "connections:\n  src: {type: parquet, path: src}\n  lake: {type: parquet, path: lake}\n")
    window = "{column: day, granularity: daily, start: 2026-01-01}"
    (flows / "events/flow.yml").write_text(
        "home: src\nstore: lake\nentities:\n"
        f"  - {{name: clicks, home: {{path: clicks}}, keys: [id], partition: {window}}}\n"
        f"  - {{name: views, home: {{path: views}}, keys: [id], partition: {window}}}\n"
        "  - {name: hourly, home: {path: hourly}, keys: [id],\n"
        "     partition: {column: day, granularity: hourly, start: 2026-01-01}}\n")
    graph = build_definitions(flows).resolve_asset_graph()
    clicks, views, hourly = (graph.get(dg.AssetKey(["events", name])).partitions_def
                             for name in ("clicks", "views", "hourly"))
    assert isinstance(clicks, dg.DailyPartitionsDefinition)
    assert clicks is views
    assert isinstance(hourly, dg.HourlyPartitionsDefinition)


def test_the_code_location_module_resolves_its_repository_and_asset_job_once() -> None:
    # A fresh interpreter, as `dagster` and the executor's forkserver import the module.
    script = (
        "import gc, json, sys\n"
        "from ingest_assets.definitions import defs\n"
        "repository = defs.get_repository_def()\n"
        "heavy = ['duckdb', 'pyarrow', 'polars', 'sqlalchemy', 'pyodbc', 'psycopg', 'azure', 'adbc_driver_manager']\n"
        "print(json.dumps({\n"
        "    'resolved': defs.has_resolved_repository_def(),\n"
        "    'same_job': repository.get_implicit_global_asset_job_def() is repository.get_implicit_global_asset_job_def(),\n"
        "    'collector': gc.isenabled(), 'frozen': gc.get_freeze_count() > 0,\n"
        "    'heavy': sorted(m for m in heavy if m in sys.modules)}))\n"
    )
    env = {**os.environ, "INGEST_FLOWS_DIR": str(DEMO_FLOWS)}
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env,
                            cwd=REPOSITORY)
    assert json.loads(output.stdout.strip().splitlines()[-1]) == {
        "resolved": True, "same_job": True, "collector": True, "frozen": True, "heavy": [],
    }
