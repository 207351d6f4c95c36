"""`options.executor`: the executor the definitions carry, per option and per environment, and how a
user replaces it; one real run of the CLI on the in_process executor."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from ingest_assets.defs.executor import ExecutorUnavailable
from ingest_assets.defs.factory import build_definitions
from ingest_assets.defs.multiprocess import forkserver_modules
from ingest_assets.errors import ConfigError
from ingest_assets_tests.conftest import create_orders_db, read_parquet_table, write_project

FLOW = """
    home: shop
    store: lake
    entities:
      - name: orders
    """


def _project(root: Path, options: str = "", environments: str = "") -> Path:
    ingest_yml = ("connections:\n  shop: {type: sqlite, path: source/shop.sqlite}\n  lake: {type: parquet, path: lake}\n"
                  + (options + "\n" if options else "") + (environments + "\n" if environments else ""))
    flows = write_project(root, {"flows/sales/flow.yml": FLOW})
    (flows / "ingest.yml").write_text(ingest_yml)
    return flows


def _config(executor: dg.ExecutorDefinition) -> dict:
    return executor.apply_config_mapping({}).value


def test_the_default_is_multiprocess_bounded_by_concurrency(tmp_path):
    executor = build_definitions(_project(tmp_path, "options: {concurrency: 3}")).executor
    assert executor is not None and executor.name == "multiprocess"
    config = _config(executor)["config"]
    assert config["max_concurrent"] == 3
    # The forkserver imports the runtime and the project's home and store once, for every step it forks.
    assert config["start_method"] == {"forkserver": {"preload_modules": [
        "ingest_assets.runtime.batch", "ingest_assets.stores.staging", "ingest_assets.homes.sqlite",
        "ingest_assets.stores.sql.store", "ingest_assets.homes.files", "ingest_assets.stores.parquet"]}}
    assert config["tag_concurrency_limits"] == []


def test_multiprocess_keeps_the_connection_limits(tmp_path):
    flows = write_project(tmp_path, {
        "flows/ingest.yml": """
            connections:
              shop: {type: postgres, host: db.invalid, database: shop, user: loader, pool_size: 2}
              lake: {type: parquet, path: lake}
            options: {executor: multiprocess, concurrency: 5}
            """,
        "flows/sales/flow.yml": FLOW,
    })
    config = _config(build_definitions(flows).executor)["config"]
    assert config["max_concurrent"] == 5
    assert config["tag_concurrency_limits"] == [{"key": "ingest/connection", "value": "shop", "limit": 2}]


def test_in_process(tmp_path):
    executor = build_definitions(_project(tmp_path, "options: {executor: in_process}")).executor
    assert executor is dg.in_process_executor


def test_the_executor_is_chosen_per_environment(tmp_path):
    flows = _project(tmp_path, "options: {concurrency: 2}",
                     "environments:\n  local:\n    options: {executor: in_process}\n  prod:\n    options: {concurrency: 8}")
    assert build_definitions(flows, "local").executor.name == "in_process"
    prod = build_definitions(flows, "prod").executor
    assert prod.name == "multiprocess" and _config(prod)["config"]["max_concurrent"] == 8


def test_an_unknown_executor_names_ingest_yml_and_the_allowed_values(tmp_path):
    flows = _project(tmp_path, "options:\n  executor: k8s")
    with pytest.raises(ConfigError) as raised:
        build_definitions(flows)
    assert str(raised.value) == ("the ingest project has 1 problem:\n  flows/ingest.yml:5: project: options.executor: "
                                 "'k8s' is not valid -> one of 'multiprocess', 'in_process' or 'celery'")


def test_celery(tmp_path):
    pytest.importorskip("dagster_celery")
    executor = build_definitions(_project(tmp_path, "options: {executor: celery}")).executor
    assert executor.name == "celery"
    # Broker and backend stay Dagster's run config (`execution: {config: {broker: ...}}`).
    assert {"broker", "backend", "include", "config_source", "retries"} <= set(executor.config_schema.as_field()
                                                                             .config_type.fields)


def test_celery_without_dagster_celery_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "dagster_celery", None)  # import fails as when it is not installed
    with pytest.raises(ExecutorUnavailable) as raised:
        build_definitions(_project(tmp_path, "options: {executor: celery}"))
    assert str(raised.value) == ("ingest.yml: options.executor is 'celery', which needs dagster-celery, not installed "
                                 "-> pip install 'ingest_assets[celery]', or set options.executor to multiprocess "
                                 "or in_process")


def test_a_user_replaces_the_executor_and_merges_definitions(tmp_path):
    @dg.asset
    def other() -> None:
        return None

    mine = dg.multiprocess_executor.configured({"max_concurrent": 1})
    defs = dg.Definitions.merge(build_definitions(_project(tmp_path), executor=mine), dg.Definitions(assets=[other]))
    assert defs.executor is mine
    dg.Definitions.validate_loadable(defs)
    # Without `executor=`, merging with definitions that have an executor of their own is refused by Dagster.
    with pytest.raises(dg.DagsterInvariantViolationError, match="executor"):
        dg.Definitions.merge(build_definitions(_project(tmp_path)), dg.Definitions(executor=mine))


def _materialize(tmp_path: Path, flows: Path, selection: str, instance: str = "home") -> list[dg.EventLogEntry]:
    """`dagster asset materialize` of `selection` through the CLI, on a new instance; the run's Dagster events."""
    home = tmp_path / instance
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(home), "INGEST_FLOWS_DIR": str(flows)}
    result = subprocess.run([str(Path(sys.executable).with_name("dagster")), "asset", "materialize",
                             "-m", "ingest_assets.definitions", "--select", selection],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        [run] = instance.get_runs()
        return [e for e in instance.all_logs(run.run_id) if e.is_dagster_event]


def _step_pids(events: list[dg.EventLogEntry]) -> dict[str, int]:
    return {e.step_key: e.dagster_event.pid for e in events
            if e.dagster_event.event_type == dg.DagsterEventType.STEP_START and e.step_key and e.dagster_event.pid}


def _run_pid(events: list[dg.EventLogEntry]) -> int:
    return next(e.dagster_event.pid for e in events if e.dagster_event.event_type == dg.DagsterEventType.RUN_START)


@pytest.mark.slow
def test_a_real_run_on_the_in_process_executor(tmp_path):
    flows = _project(tmp_path, "options: {executor: in_process}")
    create_orders_db(tmp_path / "source/shop.sqlite", 12)
    events = _materialize(tmp_path, flows, "sales/orders")
    assert read_parquet_table(tmp_path / "lake/sales/orders").num_rows == 12
    # The step ran inside the run's own process: no step process, no forkserver.
    pids = {e.dagster_event.pid for e in events} - {None}
    assert len(pids) == 1
    assert any("in process" in (e.message or "").lower() for e in events), [e.message for e in events][:10]
    assert not any("multiprocess" in (e.message or "").lower() for e in events)


@pytest.mark.slow
def test_multiprocess_runs_one_step_in_the_run_process_and_several_in_processes_of_their_own(tmp_path):
    flows = write_project(tmp_path, {
        "flows/ingest.yml": """
            connections:
              shop: {type: sqlite, path: source/shop.sqlite}
              lake: {type: parquet, path: lake}
            options: {concurrency: 2}
            """,
        "flows/sales/flow.yml": FLOW,
        "flows/copy/flow.yml": FLOW,
    })
    create_orders_db(tmp_path / "source/shop.sqlite", 12)

    one = _materialize(tmp_path, flows, "sales/orders")
    assert list(_step_pids(one).values()) == [_run_pid(one)], "a run of one step has no step process"
    assert any("in process" in (e.message or "").lower() for e in one)

    two = _materialize(tmp_path, flows, "*", instance="home_two")
    pids = _step_pids(two)
    assert set(pids) == {"sales__orders", "copy__orders"}
    assert len(set(pids.values())) == 2 and _run_pid(two) not in pids.values(), "each step forks a process of its own"
    assert any("multiprocess executor" in (e.message or "") for e in two)
    for flow in ("sales", "copy"):
        assert read_parquet_table(tmp_path / f"lake/{flow}/orders").num_rows == 12


@pytest.mark.slow
def test_multiprocess_runs_a_chain_of_steps_in_the_run_process(tmp_path):
    """A mirrored entity's extract step and its publish step can only run one after the other."""
    flows = write_project(tmp_path, {
        "flows/ingest.yml": """
            connections:
              shop: {type: sqlite, path: source/shop.sqlite}
              mirror: {type: open_mirroring, local_path: onelake, mirror_name: shop, folder_deletion_wait_seconds: 0}
            """,
        "flows/sales/flow.yml": FLOW.replace("store: lake", "store: mirror").replace("name: orders",
                                                                                   "{name: orders, keys: [id]}"),
    })
    create_orders_db(tmp_path / "source/shop.sqlite", 12)

    events = _materialize(tmp_path, flows, "sales/orders")

    pids = _step_pids(events)
    assert set(pids) == {"sales__orders.sales__orders_extract", "sales__orders.sales__orders_publish"}
    assert set(pids.values()) == {_run_pid(events)}, "neither step has a process of its own"


def test_the_forkserver_preloads_the_code_location_module_first():
    configured = ["ingest_assets.runtime.batch", "ingest_assets.homes.sqlite"]
    assert forkserver_modules("my_project.definitions", configured) == ["my_project.definitions", *configured]
    # A job loaded from a file has no module: the configured ones alone, once each.
    assert forkserver_modules(None, [*configured, configured[0]]) == configured
