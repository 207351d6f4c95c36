"""`ingest init`, then the real `dagster asset materialize` inside the new project."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from ingest_assets.cli.main import main
from ingest_assets_tests.conftest import duckdb_rows

pytestmark = pytest.mark.slow


def _tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def test_init_creates_a_project_that_materializes_with_the_dagster_cli(tmp_path: Path):
    created = subprocess.run([_tool("ingest"), "init", "shop"], cwd=tmp_path, capture_output=True, text=True)
    assert created.returncode == 0, created.stderr
    project = tmp_path / "shop"
    assert sorted(p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()) == [
        ".gitignore", "README.md", "dagster.yaml", "data/samples/orders.csv", "definitions.py",
        "flows/example/flow.yml", "flows/ingest.yml", "pyproject.toml", "workspace.yaml",
    ]
    env = {k: v for k, v in os.environ.items() if k not in ("INGEST_FLOWS_DIR", "INGEST_ENV")}
    env["DAGSTER_HOME"] = str(project)
    result = subprocess.run([_tool("dagster"), "asset", "materialize", "-f", "definitions.py", "--select", "*"],
                            cwd=project, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    assert duckdb_rows(project / "data/warehouse.duckdb",
                       "SELECT count(*), sum(amount), count(DISTINCT customer) FROM example.orders") == [(20, 2625.0, 5)]


def test_definitions_load_the_projects_own_flows_from_any_working_directory(tmp_path: Path, monkeypatch):
    assert main(["init", str(tmp_path / "shop")]) == 0
    monkeypatch.chdir(tmp_path)  # not the project folder, and no INGEST_FLOWS_DIR
    monkeypatch.delenv("INGEST_FLOWS_DIR", raising=False)
    defs = runpy.run_path(str(tmp_path / "shop/definitions.py"))["defs"]
    assert sorted(key.to_user_string() for key in defs.resolve_all_asset_keys()) == [
        "example/orders", "source/samples/orders.csv"]  # the entity, and the file it reads


def test_init_refuses_a_folder_that_is_not_empty(tmp_path: Path, capsys):
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop/notes.txt").write_text("mine")
    assert main(["init", str(tmp_path / "shop")]) == 1
    assert capsys.readouterr().err == (
        f"ingest init: {tmp_path / 'shop'} already exists and is not an empty folder -> choose another name, "
        "or empty it first (nothing was written)\n"
    )
    assert [p.name for p in (tmp_path / "shop").iterdir()] == ["notes.txt"]


def test_init_accepts_an_empty_folder(tmp_path: Path):
    (tmp_path / "shop").mkdir()
    assert main(["init", str(tmp_path / "shop")]) == 0
    assert (tmp_path / "shop/flows/ingest.yml").read_text().startswith("# The project")
