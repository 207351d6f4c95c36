"""The environment is part of the run: every step carries the project it was built from, every run
ends up tagged with the project it was planned with, and a step whose process resolved another
project (another INGEST_ENV) fails at once, naming both, before it reads or writes anything."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster._grpc.types import ExecuteRunArgs
from dagster._serdes import serialize_value

from ingest_assets.defs.factory import build_definitions
from ingest_assets.runtime.project_guard import ENV_TAG, FINGERPRINT_TAG, FLOWS_DIR_TAG
from ingest_assets_tests.conftest import Project, create_orders_db, write_project

INGEST_YML = """
    connections:
      shop: {type: sqlite, path: source/shop.sqlite}
      lake: {type: parquet, path: lake}
    default_environment: dev
    environments:
      dev: {}
      prod:
        connections:
          lake: {path: prod_lake}
    """
FLOWS = {
    "flows/ingest.yml": INGEST_YML,
    "flows/sales/flow.yml": """
        home: shop
        store: lake
        entities:
          - name: orders
          - name: customers
            home: {table: orders}
            columns: [id, customer]
        """,
}
KEY = dg.AssetKey(["sales", "orders"])


def _op_tags(defs: dg.Definitions) -> list[dict[str, str]]:
    job = defs.resolve_implicit_global_asset_job_def()
    return [dict(node.definition.tags) for node in job.graph.nodes]


def test_every_step_carries_the_project_it_was_built_from(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    flows = write_project(tmp_path, FLOWS)
    dev, prod = build_definitions(flows, "dev"), build_definitions(flows, "prod")
    [dev_tags] = {tuple(sorted((k, v) for k, v in t.items() if k.startswith("ingest/") and k != "ingest/step"))
                  for t in _op_tags(dev)}
    tags = dict(dev_tags)
    assert tags[ENV_TAG] == "dev"
    assert tags[FLOWS_DIR_TAG] == "flows"  # relative to the working directory: never a machine path
    assert re.fullmatch(r"[0-9a-f]{16}", tags[FINGERPRINT_TAG])
    prod_tags = _op_tags(prod)[0]
    assert prod_tags[ENV_TAG] == "prod"
    assert prod_tags[FINGERPRINT_TAG] != tags[FINGERPRINT_TAG]  # prod writes elsewhere: another project


def test_the_fingerprint_is_stable_where_the_project_is_copied(tmp_path):
    first = write_project(tmp_path / "a", FLOWS)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    outside = _op_tags(build_definitions(first, "dev"))[0]
    again = _op_tags(build_definitions(tmp_path / "b/flows", "dev"))[0]
    assert outside[FINGERPRINT_TAG] == again[FINGERPRINT_TAG]
    assert outside[FLOWS_DIR_TAG] == "flows"  # outside the working directory: the folder's name


def test_a_run_of_the_asset_job_is_tagged_with_its_project(project: Project):
    project.write(FLOWS)
    create_orders_db(project.root / "source/shop.sqlite", 5)
    result = project.materialize("sales/orders")
    tags = project.instance.get_run_by_id(result.run_id).tags
    assert tags[ENV_TAG] == "dev"
    assert tags[FINGERPRINT_TAG] == _op_tags(project.definitions())[0][FINGERPRINT_TAG]


def test_a_run_created_with_another_projects_tags_fails_its_steps(project: Project):
    project.write(FLOWS)
    create_orders_db(project.root / "source/shop.sqlite", 5)
    # As a job of the prod project would tag its runs (a schedule's, a sensor's request).
    planned = {ENV_TAG: "prod", FLOWS_DIR_TAG: "flows", FINGERPRINT_TAG: "0123456789abcdef"}
    result = project.materialize("sales/orders", tags=planned, raise_on_error=False)
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert failure.step_failure_data.error.message.startswith(
        "dagster._core.definitions.events.Failure: step sales__shop_to_lake resolved another project than its run: "
        "the run was planned with environment prod, flows, fingerprint 0123456789abcdef, this step's process "
        "resolved environment dev, ")
    assert not (project.root / "lake").exists()
    assert project.instance.get_run_by_id(result.run_id).tags[ENV_TAG] == "prod"  # the run's tags are kept


@pytest.mark.slow
def test_a_step_whose_process_resolves_another_environment_fails_before_touching_anything(tmp_path):
    flows = write_project(tmp_path, FLOWS)
    create_orders_db(tmp_path / "source/shop.sqlite", 5)
    (tmp_path / "home").mkdir()
    (tmp_path / "home/dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    repository = ReconstructableRepository.for_module("ingest_assets.definitions", "defs",
                                                      working_directory=str(tmp_path))
    job_origin = repository.get_reconstructable_job("__ASSET_JOB").get_python_origin()

    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        # The launching process (a webserver's code server, the daemon) selects dev and plans the run...
        job = build_definitions(flows, "dev").resolve_implicit_global_asset_job_def().get_subset(
            asset_selection={KEY})
        run = instance.create_run_for_job(job, asset_selection=frozenset({KEY}), job_code_origin=job_origin)
        # ...and the run worker and its steps start where INGEST_ENV is prod.
        env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home"), "INGEST_FLOWS_DIR": str(flows),
               "INGEST_ENV": "prod"}
        arguments = serialize_value(ExecuteRunArgs(job_origin=job_origin, run_id=run.run_id,
                                                   instance_ref=instance.get_ref()))
        result = subprocess.run([str(Path(sys.executable).with_name("dagster")), "api", "execute_run", arguments],
                                cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)

        finished = instance.get_run_by_id(run.run_id)
        assert finished.status == dg.DagsterRunStatus.FAILURE, result.stdout[-3000:] + result.stderr[-3000:]
        failures = list(instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE))
        [failure] = failures
        assert failure.step_key == "sales__shop_to_lake"  # the step both entities share
        message = failure.dagster_event.step_failure_data.error.message
        dev = _op_tags(build_definitions(flows, "dev"))[0]
        prod = _op_tags(build_definitions(flows, "prod"))[0]
        assert (f"step sales__shop_to_lake resolved another project than its run: the run was planned with environment dev, "
                f"flows, fingerprint {dev[FINGERPRINT_TAG]}, this step's process resolved environment prod, flows, "
                f"fingerprint {prod[FINGERPRINT_TAG]} -> start the workers with the launcher's INGEST_ENV (dev) and "
                "the same flows/ files; nothing was read or written") in message
        # One attempt only (no retry), the planned project recorded on the run, nothing materialized.
        assert len(instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START)) == 1
        assert finished.tags[ENV_TAG] == "dev"
        assert instance.get_latest_materialization_event(KEY) is None
    # Neither the dev lake nor the prod one was written.
    assert not (tmp_path / "lake").exists()
    assert not (tmp_path / "prod_lake").exists()
