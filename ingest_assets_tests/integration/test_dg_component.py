"""`IngestFlowsComponent` through the real `dg` CLI: registered by the package's
`dagster_dg_cli.registry_modules` entry point, scaffolded into a new dg project, checked, listed and
launched there (the project is not installed: dg imports it from its folder, the working directory).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from ingest_assets.cli.init_template import SAMPLE_ROWS
from ingest_assets_tests.conftest import duckdb_rows

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
DG = Path(sys.executable).with_name("dg")
TYPE = "ingest_assets.IngestFlowsComponent"
ROOT_MODULE = "shop_dg"

# The minimal dg project (what `create-dagster project` makes, without src/ so that the working
# directory imports it): [tool.dg] in pyproject.toml, a definitions.py that loads the defs folder.
PROJECT = {
    "pyproject.toml": f"""\
        [project]
        name = "{ROOT_MODULE}"
        version = "0.1.0"
        requires-python = ">=3.11"
        dependencies = ["ingest_assets"]

        [tool.dg]
        directory_type = "project"

        [tool.dg.project]
        root_module = "{ROOT_MODULE}"
        """,
    f"{ROOT_MODULE}/__init__.py": "",
    f"{ROOT_MODULE}/defs/__init__.py": "",
    f"{ROOT_MODULE}/definitions.py": """\
        from pathlib import Path

        import dagster as dg


        @dg.definitions
        def defs() -> dg.Definitions:
            return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
        """,
}


def _dg(*arguments: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {k: v for k, v in os.environ.items() if k not in ("INGEST_FLOWS_DIR", "INGEST_ENV")}
    env.update(DAGSTER_HOME=str(home), VIRTUAL_ENV=sys.prefix, NO_COLOR="1", COLUMNS="200")
    result = subprocess.run([str(DG), *arguments], cwd=cwd, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, f"dg {' '.join(arguments)}:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for relative, text in PROJECT.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def _scaffold(tmp_path: Path) -> tuple[Path, Path]:
    """A new dg project with `dg scaffold defs ingest_assets.IngestFlowsComponent sales`: (root, defs folder)."""
    root = _project(tmp_path)
    _dg("scaffold", "defs", TYPE, "sales", cwd=root, home=tmp_path / "home")
    return root, root / ROOT_MODULE / "defs" / "sales"


def _assets(root: Path, tmp_path: Path) -> dict[str, dict[str, Any]]:
    """`dg list defs --json`'s materializable assets (the entities; not the external assets they read)."""
    listed = json.loads(_dg("list", "defs", "--json", cwd=root, home=tmp_path / "home").stdout)
    return {asset["asset_key"]: asset for asset in listed["assets"] if asset["is_executable"]}


def test_dg_lists_the_component_and_its_attributes(tmp_path: Path):
    listed = json.loads(_dg("list", "components", "--json", cwd=REPO, home=tmp_path / "home").stdout)
    [item] = [item for item in listed["items"] if item["key"] == TYPE]
    assert item["summary"].startswith("YAML flows of ingest_assets")
    # `list components` gives key and summary; the attribute schema is `inspect-component`'s.
    schema = json.loads(_dg("utils", "inspect-component", TYPE, "--defs-yaml-json-schema",
                            cwd=REPO, home=tmp_path / "home").stdout)
    attributes = schema["properties"]["attributes"]["properties"]
    assert set(attributes) == {"flows_dir", "environment", "translation"}
    assert attributes["flows_dir"]["default"] == "flows" and attributes["flows_dir"]["type"] == "string"
    assert "relative to this defs.yaml" in attributes["flows_dir"]["description"]
    assert attributes["environment"]["default"] is None


def test_dg_scaffolds_checks_lists_and_launches_the_flows(tmp_path: Path):
    root, sales = _scaffold(tmp_path)
    assert yaml.safe_load((sales / "defs.yaml").read_text()) == {"type": TYPE, "attributes": {"flows_dir": "flows"}}
    assert sorted(p.relative_to(sales).as_posix() for p in sales.rglob("*") if p.is_file()) == [
        ".gitignore", "data/samples/orders.csv", "defs.yaml", "flows/example/flow.yml", "flows/ingest.yml"]

    checked = _dg("check", "defs", cwd=root, home=tmp_path / "home")
    assert "All definitions loaded successfully" in checked.stdout + checked.stderr

    orders = _assets(root, tmp_path)["example/orders"]
    assert orders["group_name"] == "example"
    assert set(orders["kinds"]) == {"csv", "duckdb", "ingest_assets"}
    assert orders["source"] == f"{ROOT_MODULE}/defs/sales/flows/example/flow.yml:7"

    launched = _dg("launch", "--assets", "example/orders", cwd=root, home=tmp_path / "home")
    assert "RUN_SUCCESS" in launched.stdout + launched.stderr
    assert duckdb_rows(sales / "data/warehouse.duckdb", "SELECT count(*), count(DISTINCT customer) FROM example.orders"
                       ) == [(SAMPLE_ROWS, 5)]


def test_post_processing_and_translation_in_defs_yaml(tmp_path: Path):
    root, sales = _scaffold(tmp_path)
    (sales / "defs.yaml").write_text(textwrap.dedent(f"""\
        type: {TYPE}
        attributes:
          flows_dir: flows
          translation:
            key_prefix: shop
            tags:
              home: "{{{{ entity.home.name }}}}"
        post_processing:
          assets:
            - target: "group:example"
              attributes:
                tags:
                  team: sales
        """))
    assets = _assets(root, tmp_path)
    assert set(assets) == {"shop/example/orders"}
    tags = {tag["key"]: tag["value"] for tag in assets["shop/example/orders"]["tags"]}
    assert tags == {"ingest/flow": "example", "ingest/run_type": "full_drop", "home": "samples", "team": "sales"}
