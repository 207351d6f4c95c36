"""A run killed while it stages: Dagster is told it failed, and what it staged is removed, by the next run.

The kill is real and of the whole command: `dagster asset materialize` runs the entity in its own
process (a run of one step), whose code location exits with `os._exit(137)` (no cleanup, like
SIGKILL) at the kill point. The run stays STARTED, its staging stays behind; the next run of the
entity fails the dead run in the instance, removes its staging and loads every row once; the run's
page in the UI (headless Chromium) then says Failure, and why.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from ingest_assets.stores.sql.names import is_helper_table
from ingest_assets_tests.conftest import Project, create_orders_db, insert_orders
from ingest_assets_tests.execution.test_crash_after_commit import FLOW, KILLED, _ids, _store_connection
from ingest_assets_tests.integration.test_delta_ui import served_page

pytestmark = pytest.mark.slow

# The code location, with the kill point armed: after the load staged its files (every store), or
# after a SQL store loaded them into its staging table (a helper table on the database).
KILLING_DEFINITIONS = textwrap.dedent("""
    import os
    from ingest_assets.stores import staged_writer
    from ingest_assets.stores.sql import store as sql_store

    def killed_after(function):
        def then_exit(*args, **kwargs):
            function(*args, **kwargs)
            os._exit(137)
        return then_exit

    if os.environ["KILL_POINT"] == "staged":
        staged_writer.StagedWriter.finish_staging = killed_after(staged_writer.StagedWriter.finish_staging)
    else:
        sql_store.load_staging = killed_after(sql_store.load_staging)

    from ingest_assets.definitions import defs
""")

ENTITY = """
    home: {table: orders}
    keys: [id]
    watermark: updated_at
    write_strategy: upsert
    """


def temporary_folder(project: Project) -> Path:
    """The runs' system temporary folder: the project's own, so another suite's runs on the host (which
    remove the folders of dead processes, as they should) cannot take the evidence first."""
    folder = project.root / "tmp"
    folder.mkdir(exist_ok=True)
    return folder


def dagster_materialize(project: Project, module: str, kill_point: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DAGSTER_HOME": str(project.root / ".dagster"), "INGEST_FLOWS_DIR": str(project.flows),
           "KILL_POINT": kill_point, "PYTHONPATH": str(project.root), "TMPDIR": str(temporary_folder(project))}
    command = [str(Path(sys.executable).with_name("dagster")), "asset", "materialize", "-m", module,
               "--select", "sales/orders"]
    return subprocess.run(command, cwd=project.root, env=env, capture_output=True, text=True, timeout=300)


def _leftovers(store: str, project: Project, run_id: str, request: pytest.FixtureRequest) -> list[str]:
    """What the run `run_id` staged that is still there (files of the store, helper tables, temporary folders)."""
    token_start = run_id[:8]
    staging = {
        "parquet": project.root / "lake/_ingest/staging/sales/orders",
        "delta": project.root / "lake/_ingest/staging/sales/orders",
        "duckdb": project.root / "warehouse.duckdb.staging",
    }.get(store)
    found = [str(path) for path in staging.iterdir() if path.name.startswith(token_start)] if staging else []
    found += [str(path) for path in temporary_folder(project).glob(f"ingest-sql-{token_start}-*")]
    if store == "sqlite":
        engine = sa.create_engine(f"sqlite:///{project.root / 'target.sqlite'}")
        found += [name for name in sa.inspect(engine).get_table_names() if is_helper_table(name)]
        engine.dispose()
    if store == "postgres":
        server = request.getfixturevalue("postgres_server")
        with server.connect(request.getfixturevalue("pg_database")) as connection:
            found += [name for (name,) in connection.execute(
                "SELECT tablename FROM pg_tables WHERE tablename LIKE '\\_ingest\\_%'").fetchall()
                if is_helper_table(name)]
    return found


def _project_killed_while_loading(project: Project, store: str, kill_point: str,
                                   request: pytest.FixtureRequest) -> dg.DagsterRun:
    """A first load, 50 more rows at the source, and a run of them killed at `kill_point`: that run."""
    project.write({
        "flows/ingest.yml": "connections:\n  shop: {type: sqlite, path: source/shop.sqlite}\n"
                            + _store_connection(store, project, request) + "\n",
        "flows/sales/flow.yml": FLOW,
        "flows/sales/entities/orders.yml": ENTITY,
    })
    (project.root / "killing_definitions.py").write_text(KILLING_DEFINITIONS)
    source = project.root / "source/shop.sqlite"
    create_orders_db(source, 100)
    assert dagster_materialize(project, "ingest_assets.definitions").returncode == 0
    with sqlite3.connect(source) as connection:
        insert_orders(connection, range(101, 151))

    killed = dagster_materialize(project, "killing_definitions", kill_point)
    assert killed.returncode == KILLED, killed.stderr[-3000:]
    [dead] = project.instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
    return dead


@pytest.mark.parametrize(("store", "kill_point"), [
    ("parquet", "staged"), ("delta", "staged"), ("duckdb", "staged"), ("sqlite", "staged"),
    ("sqlite", "loaded"), ("postgres", "loaded"),
])
def test_the_next_run_fails_a_killed_run_and_removes_what_it_staged(
    project: Project, store: str, kill_point: str, request: pytest.FixtureRequest
):
    dead = _project_killed_while_loading(project, store, kill_point, request)
    assert _leftovers(store, project, dead.run_id, request), "the kill left its staging behind"
    assert _ids(store, project, request) == list(range(1, 101))  # the destination as it was

    recovered = dagster_materialize(project, "ingest_assets.definitions")
    assert recovered.returncode == 0, recovered.stderr[-3000:]
    status = project.instance.get_run_by_id(dead.run_id)
    assert status is not None and status.status == dg.DagsterRunStatus.FAILURE
    failure = project.instance.all_logs(dead.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    assert "the run's worker process" in failure[-1].dagster_event.message
    assert _leftovers(store, project, dead.run_id, request) == []
    assert _ids(store, project, request) == list(range(1, 151))
    assert project.latest_metadata("sales/orders")["ingest/rows_read"] == 50


def test_the_run_page_shows_the_killed_run_failed_and_why(project: Project, request: pytest.FixtureRequest):
    """What a user opening the dead run in the UI reads, from the page headless Chromium renders."""
    dead = _project_killed_while_loading(project, "parquet", "staged", request)
    assert dagster_materialize(project, "ingest_assets.definitions").returncode == 0

    page = served_page(project.root, project.root / ".dagster", project.flows, f"runs/{dead.run_id}")

    assert ">Failure<" in page  # the run's status, no longer Started
    assert "the run's worker process (" in page and "is gone: it was killed without writing a failure" in page


def test_a_live_run_is_not_failed_and_keeps_its_staging(project: Project):
    """The same check made while the run's worker lives (this test's process) changes nothing."""
    from ingest_assets.runtime import dead_runs

    instance = project.instance
    run = instance.add_run(dg.DagsterRun(job_name="copy", run_id="0123abcd-0000-0000-0000-000000000000",
                                         status=dg.DagsterRunStatus.STARTED))
    dead_runs.record_run_worker(instance, run)
    started = instance.get_run_by_id(run.run_id)
    assert started is not None and started.status == dg.DagsterRunStatus.STARTED
    runs = dead_runs.runs_in_progress(instance)

    assert dead_runs.fail_dead_runs(instance, runs, [dg.AssetKey(["sales", "orders"])], "another") == []
    abandoned = dead_runs.abandoned_by(runs)
    assert not abandoned("0123abcd-fdf1bb7954fa") and not abandoned("_ingest_stage_0123abcd_fdf1bb7954fa")
    assert abandoned("99999999-fdf1bb7954fa")
    assert not abandoned("orders")  # a nested table's staging folder: no token


@pytest.mark.parametrize(("seconds_ago", "later_event", "failed"), [
    (60, False, True),  # killed between its start event and the record of its worker
    (5, False, False),  # may be just starting
    (60, True, False),  # went on (an executor that records no worker): alive for all we know
])
def test_a_run_that_died_as_it_started_is_failed_after_a_while(
    project: Project, seconds_ago: float, later_event: bool, failed: bool
):
    import time

    from ingest_assets.runtime import dead_runs

    instance = project.instance
    run = instance.add_run(dg.DagsterRun(job_name="copy", run_id="0123abcd-0000-0000-0000-000000000001"))
    instance.report_dagster_event(dg.DagsterEvent(dg.DagsterEventType.RUN_START.value, job_name="copy"),
                                  run_id=run.run_id, timestamp=time.time() - seconds_ago)
    if later_event:
        instance.report_engine_event("executing steps", run)
    started = instance.get_run_by_id(run.run_id)
    assert started is not None and started.status == dg.DagsterRunStatus.STARTED

    marked = dead_runs.fail_dead_runs(instance, dead_runs.runs_in_progress(instance),
                                      [dg.AssetKey(["sales", "orders"])], "another1")

    assert [r.run_id for r in marked] == ([run.run_id] if failed else [])
    status = instance.get_run_by_id(run.run_id)
    assert status is not None and status.status == (dg.DagsterRunStatus.FAILURE if failed else dg.DagsterRunStatus.STARTED)
    if failed:
        [failure] = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        assert failure.dagster_event.message == ("the run's process died as the run started: nothing happened in "
                                                 "the 30 s after its start event; marked failed by run another1 "
                                                 "of sales/orders")
