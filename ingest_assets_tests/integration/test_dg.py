"""This repository is a `dg` project: `dg list defs` and `dg check defs` load the demo's code location."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest_assets import build_definitions

REPO = Path(__file__).resolve().parents[2]
DG = Path(sys.executable).with_name("dg")


def _dg(*arguments: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INGEST_FLOWS_DIR": str(REPO / "flows"), "DAGSTER_HOME": str(home)}
    return subprocess.run([str(DG), *arguments], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_dg_lists_and_checks_the_demo_definitions(tmp_path: Path):
    listed = _dg("list", "defs", "--json", home=tmp_path)
    assert listed.returncode == 0, listed.stderr[-2000:]
    document = json.loads(listed.stdout)
    demo = build_definitions(REPO / "flows").resolve_asset_graph()
    assert {asset["asset_key"] for asset in document["assets"]} == {  # the entities and what they read
        key.to_user_string() for key in demo.get_all_asset_keys()}
    orders = next(asset for asset in document["assets"] if asset["asset_key"] == "shop_sales/orders")
    assert orders["group_name"] == "shop_sales" and "sqlite" in orders["kinds"]

    checked = _dg("check", "defs", home=tmp_path)
    assert checked.returncode == 0, checked.stderr[-2000:]
    assert "All definitions loaded successfully" in checked.stdout + checked.stderr
