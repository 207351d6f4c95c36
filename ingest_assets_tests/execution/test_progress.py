"""A load's progress in the run's log: every few seconds while it reads, and a closing line."""

from __future__ import annotations

import re

import pyarrow as pa
import pytest

from ingest_assets.runtime import progress
from ingest_assets.runtime.progress import LoadProgress
from ingest_assets_tests.conftest import Project, create_orders_db


def test_progress_is_logged_every_interval_not_every_batch():
    now = [0.0]
    lines: list[str] = []
    shown = LoadProgress(lines.append, "sales.orders", interval=10.0, clock=lambda: now[0])
    batch = pa.record_batch({"id": pa.array(range(1_000), pa.int64())})  # 8,000 bytes
    for second in range(1, 26):  # a batch a second for 25 s
        now[0] = float(second)
        shown.read(second * 1_000, batch)
    shown.finish()

    assert lines == [
        "sales.orders: 10,000 rows read so far (1,000 rows/s), batch 10",
        "sales.orders: 20,000 rows read so far (1,000 rows/s), batch 20",
        "sales.orders: read 25,000 rows (0.2 MiB in Arrow) in 25.0 s (1,000 rows/s), 25 batches",
    ]


def test_a_short_load_logs_no_progress():
    lines: list[str] = []
    quick = LoadProgress(lines.append, "sales.orders", interval=10.0, clock=lambda: 0.0)
    quick.read(5, pa.record_batch({"id": pa.array(range(5))}))
    quick.finish()
    assert lines == []


def test_a_run_logs_its_loads_progress(project: Project, monkeypatch: pytest.MonkeyPatch):
    project.write({
        "flows/ingest.yml": "options: {batch_size: 100}\nconnections:\n  shop: {type: sqlite, path: source/shop.sqlite}\n"
                            "  lake: {type: parquet, path: lake}\n",
        "flows/sales/flow.yml": "home: shop\nstore: lake\nentities: [{name: orders}]\n",
    })
    create_orders_db(project.root / "source/shop.sqlite", 450)
    monkeypatch.setattr(progress, "PROGRESS_SECONDS", 0.0)  # a line for every batch, to count them

    result = project.materialize("sales/orders")

    messages = [entry.user_message for entry in project.instance.all_logs(result.run_id)
                if entry.dagster_event is None]
    shown = [int(found[1].replace(",", "")) for m in messages
             if (found := re.match(r"sales\.orders: ([\d,]+) rows read so far \([\d,]+ rows/s\), batch \d+$", m))]
    assert shown == sorted(set(shown)) and shown[-1] == 450 and len(shown) >= 5  # batches of at most 100 rows
    [closing] = [m for m in messages if m.startswith("sales.orders: read 450 rows (")]
    assert closing.endswith(f"rows/s), {len(shown)} batches")
    assert project.latest_metadata("sales/orders")["ingest/rows_read"] == 450
