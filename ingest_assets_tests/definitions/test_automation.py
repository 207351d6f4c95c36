"""The new-data sensor and the schedules, evaluated against real sources and a real instance."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys

import dagster as dg

from ingest_assets.runtime.dead_runs import WORKER_TAG, has_dead_worker
from ingest_assets_tests.conftest import Project, create_orders_db, insert_orders

PROJECT = {
    "flows/ingest.yml": """
        connections:
          shop: {type: sqlite, path: shop.sqlite}
          lake: {type: parquet, path: lake}
        options:
          sensor_status: running
        """,
    "flows/sales/flow.yml": """
        home: shop
        store: lake
        run_type: incremental
        schedule:
          cron: "15 * * * *"
          status: running
        sensor:
          interval_seconds: 45
        entities:
          - name: orders
            keys: [id]
            watermark: updated_at
          - name: snapshot          # a full reload: not watched by the sensor
            run_type: full_drop
            home: {table: orders}
        """,
}


ORDERS = dg.AssetKey(["sales", "orders"])


def evaluate(project: Project):
    """One sensor tick, as the daemon runs it: (run requests, skip message)."""
    defs = project.definitions()
    sensor = defs.resolve_sensor_def("sales_new_data_sensor")
    with dg.build_sensor_context(instance=project.instance, resources=defs.resources,
                                 definitions=defs) as context:
        return sensor.evaluate_tick(context)


def test_sensor_requests_a_run_only_when_the_home_has_new_rows(project: Project):
    project.write(PROJECT)
    create_orders_db(project.root / "shop.sqlite", 10)

    # Never materialized: the rows are new.
    first = evaluate(project)
    assert [r.asset_selection for r in first.run_requests] == [[ORDERS]]

    # The same maximum again before a run exists: the same run key, which Dagster launches once.
    repeat = evaluate(project)
    assert [r.run_key for r in repeat.run_requests] == [first.run_requests[0].run_key]

    # After the run committed the cursor, nothing is new.
    project.materialize("sales/orders")
    assert evaluate(project).run_requests == []

    # New rows at the source: a new request with a new run key.
    with sqlite3.connect(project.root / "shop.sqlite") as connection:
        insert_orders(connection, range(11, 15))
    fresh = evaluate(project)
    assert len(fresh.run_requests) == 1
    assert fresh.run_requests[0].run_key != first.run_requests[0].run_key


def launch(project: Project, request: dg.RunRequest, *, fail: bool = False) -> dg.ExecuteInProcessResult:
    """The run the daemon launches for a request (with its run key); `fail`: it dies before it commits."""
    database = project.root / "shop.sqlite"
    if fail:  # the home's table is gone while the run reads
        with sqlite3.connect(database) as connection:
            connection.execute("ALTER TABLE orders RENAME TO orders_away")
    try:
        return project.materialize("sales/orders", raise_on_error=False,
                                   tags={**request.tags, "dagster/run_key": str(request.run_key)})
    finally:
        if fail:
            with sqlite3.connect(database) as connection:
                connection.execute("ALTER TABLE orders_away RENAME TO orders")


def test_sensor_requests_the_same_maximum_again_after_the_requested_run_died(project: Project):
    project.write(PROJECT)
    create_orders_db(project.root / "shop.sqlite", 10)

    first = evaluate(project)
    [request] = first.run_requests
    assert not launch(project, request, fail=True).success
    assert project.instance.get_latest_materialization_event(ORDERS) is None  # no cursor committed

    # The rows are still past the committed cursor: requested again, under a run key Dagster has not
    # launched yet (the daemon skips a request whose run key a run already has).
    second = evaluate(project)
    [again] = second.run_requests
    assert again.asset_selection == [ORDERS] and again.run_key != request.run_key

    # While a run of the entity is in progress (any run: here the flow's job), it is not requested again.
    job = project.definitions().resolve_job_def("sales_job")
    running = project.instance.create_run_for_job(job, asset_selection=frozenset({ORDERS}),
                                                 status=dg.DagsterRunStatus.STARTED)
    waiting = evaluate(project)
    assert waiting.run_requests == [] and "in progress" in waiting.skip_message
    project.instance.report_run_failed(running)  # what run monitoring does to a run that died
    assert len(evaluate(project).run_requests) == 1

    # A run left STARTED by a killed worker (its process gone) does not hold the entity back: the
    # requested run fails it (runtime/dead_runs.py).
    exited = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    killed = project.instance.create_run_for_job(
        job, asset_selection=frozenset({ORDERS}), status=dg.DagsterRunStatus.STARTED,
        tags={WORKER_TAG: f"{socket.gethostname()} {os.readlink('/proc/self/ns/pid')} {exited.stdout.strip()} 1"})
    assert has_dead_worker(killed)
    assert len(evaluate(project).run_requests) == 1
    project.instance.report_run_failed(killed)

    # After a run committed the source's maximum, nothing is requested.
    assert launch(project, again).success
    done = evaluate(project)
    assert done.run_requests == [] and "no new rows" in done.skip_message


def test_sensor_and_schedule_settings_come_from_yaml(project: Project):
    project.write(PROJECT)
    defs = project.definitions()
    sensor = defs.resolve_sensor_def("sales_new_data_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.minimum_interval_seconds == 45
    schedule = defs.resolve_schedule_def("sales_schedule")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.cron_schedule == "15 * * * *"
    job = defs.resolve_job_def("sales_job")
    assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == {"sales/orders", "sales/snapshot"}


def test_no_sensor_when_turned_off(project: Project):
    project.write({**PROJECT, "flows/sales/flow.yml": PROJECT["flows/sales/flow.yml"].replace(
        "sensor:\n          interval_seconds: 45", "sensor: false")})
    assert list(project.definitions().sensors) == []
