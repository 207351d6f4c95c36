"""A mirrored table waiting for Fabric does not hold an extraction slot: the real CLI and executor.

Two Open Mirroring entities are rebuilt (full_drop) with `concurrency: 1`. Each publish waits
`folder_deletion_wait_seconds` after deleting its table folder; the multiprocess executor's limits
(one extract step, one publish step at a time) let the second entity extract meanwhile.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from ingest_assets_tests.conftest import write_files

pytestmark = pytest.mark.slow

WAIT_SECONDS = 5

PROJECT = {
    "flows/ingest.yml": f"""
        options: {{concurrency: 1}}
        connections:
          db: {{type: sqlite, path: source.sqlite}}
          mirror:
            type: open_mirroring
            local_path: onelake
            mirror_name: shop
            folder_deletion_wait_seconds: {WAIT_SECONDS}
        """,
    "flows/shop/flow.yml": """
        home: db
        store: mirror
        entities:
          - {name: customers, keys: [id]}
          - {name: products, keys: [id]}
        """,
}


def _materialize_all(root: Path) -> str:
    env = {**os.environ, "DAGSTER_HOME": str(root / "home"), "INGEST_FLOWS_DIR": str(root / "flows")}
    command = [str(Path(sys.executable).with_name("dagster")), "asset", "materialize",
               "-m", "ingest_assets.definitions", "--select", "shop/customers,shop/products"]
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    with dg.DagsterInstance.from_config(str(root / "home")) as instance:
        [run] = instance.get_run_records(limit=1)
        return run.dagster_run.run_id


def _step_spans(root: Path, run_id: str) -> dict[str, tuple[float, float]]:
    """Each step's (start, end) wall times, from the run's event log."""
    spans: dict[str, list[float]] = {}
    with dg.DagsterInstance.from_config(str(root / "home")) as instance:
        for event in instance.all_logs(run_id, of_type={dg.DagsterEventType.STEP_START,
                                                        dg.DagsterEventType.STEP_SUCCESS}):
            spans.setdefault(event.step_key, []).append(event.timestamp)
    return {step: (min(times), max(times)) for step, times in spans.items()}


def test_one_entity_extracts_while_another_waits_for_fabric_to_drop_its_table(tmp_path: Path) -> None:
    write_files(tmp_path, PROJECT)
    (tmp_path / "home").mkdir()
    (tmp_path / "home/dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with sqlite3.connect(tmp_path / "source.sqlite") as connection:
        for table in ("customers", "products"):
            connection.execute(f"create table {table} (id integer primary key, name text)")
            connection.executemany(f"insert into {table} values (?, ?)", [(i, f"{table} {i}") for i in range(50)])

    _materialize_all(tmp_path)  # the initial loads: nothing to drop, no wait
    spans = _step_spans(tmp_path, _materialize_all(tmp_path))  # full_drop: each publish waits

    publishes = {entity: spans[f"shop__{entity}.shop__{entity}_publish"] for entity in ("customers", "products")}
    extracts = {entity: spans[f"shop__{entity}.shop__{entity}_extract"] for entity in ("customers", "products")}
    for start, end in publishes.values():
        assert end - start >= WAIT_SECONDS
    first, second = sorted(publishes, key=lambda entity: publishes[entity][0])
    # The second entity extracted while the first one's publish waited: its extract step started once
    # the first extract step had ended (the one extraction slot) and ended before that publish did.
    assert extracts[first][1] <= extracts[second][0] and extracts[second][1] < publishes[first][1] - 1
    # With concurrency 1, two publish steps never overlap either.
    assert publishes[first][1] <= publishes[second][0]
