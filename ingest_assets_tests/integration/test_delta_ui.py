"""What the Dagster UI shows of a Delta asset, read from the page a real browser renders.

A project loads 40 orders into a local Delta table with the real CLI (twice: a create, then a MERGE);
the real webserver serves it and headless Chromium renders the asset's page. The page must show the
Delta kind, the row count, the version and operation of the latest commit, the recorded schema as
readable JSON, and no account key.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ingest_assets_tests.conftest import create_orders_db, write_files
from ingest_assets_tests.integration.test_cli import _graphql, dagster
from ingest_assets_tests.servers.processes import free_port

pytestmark = pytest.mark.slow

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
PROJECT = {
    "flows/ingest.yml": """
        connections:
          shop: {type: sqlite, path: source/shop.sqlite}
          lakehouse: {type: delta, path: delta}
        """,
    "flows/sales/flow.yml": "home: shop\nstore: lakehouse\n",
    "flows/sales/entities/orders.yml": "home: {table: orders}\nkeys: [id]\nwrite_strategy: upsert\n",
}


def rendered_page(url: str) -> str:
    """The page's DOM after its scripts ran (the UI is a single-page app)."""
    chromium = shutil.which("chromium")
    assert chromium, "chromium is installed by .ci/system-packages"
    page = subprocess.run([chromium, *CHROMIUM_FLAGS, "--virtual-time-budget=20000", "--dump-dom", url],
                          capture_output=True, text=True, timeout=120)
    assert page.returncode == 0, page.stderr[-2000:]
    return page.stdout


def served_page(workdir: Path, dagster_home: Path, flows: Path, page: str) -> str:
    """`page` (e.g. `assets/sales/orders`) of the real webserver over the project, as Chromium renders it."""
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "INGEST_FLOWS_DIR": str(flows)}
    with subprocess.Popen([str(Path(sys.executable).with_name("dagster-webserver")), "-m", "ingest_assets.definitions",
                           "-h", "127.0.0.1", "-p", str(port)],
                          cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as server:
        try:
            _graphql(port, "{ version }")  # waits until the webserver answers
            return rendered_page(f"http://127.0.0.1:{port}/{page}")
        finally:
            server.terminate()
            server.wait(timeout=30)


def test_the_asset_page_shows_the_delta_kind_version_and_row_count(tmp_path: Path):
    write_files(tmp_path, PROJECT)
    create_orders_db(tmp_path / "source/shop.sqlite", 40)
    (tmp_path / "home").mkdir()
    (tmp_path / "home/dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    for _ in range(2):
        result = dagster(tmp_path, "asset", "materialize", "-m", "ingest_assets.definitions", "--select", "sales/orders")
        assert result.returncode == 0, result.stderr[-3000:]

    page = served_page(tmp_path, tmp_path / "home", tmp_path / "flows", "assets/sales/orders")

    assert ">Delta Lake<" in page and ">SQLite<" in page and ">ingest_assets<" in page  # the kinds, with icons
    assert "ingest/delta_version" in page and "ingest/delta_operation" in page
    assert ">MERGE<" in page  # the latest load's commit
    assert ">40<" in page  # dagster/row_count
    assert str(tmp_path / "delta/sales/orders") in page  # ingest/destination: the table's folder
    # The recorded schema reads as JSON columns, not the base64 Arrow IPC it was ("/////" starts one).
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert "ingest/table_schema" in text and '"name": "customer", "nullable": true, "type": "string"' in text
    assert "/////" not in page
