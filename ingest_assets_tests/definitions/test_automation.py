"""The new-data sensor and the schedules, evaluated against real sources and a real instance."""

from __future__ import annotations

import sqlite3

import dagster as dg

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


def evaluate(project: Project, cursor: str | None = None):
    """One sensor tick, as the daemon runs it: (run requests, skip message, new cursor)."""
    defs = project.definitions()
    sensor = defs.resolve_sensor_def("sales_new_data_sensor")
    with dg.build_sensor_context(instance=project.instance, cursor=cursor, resources=defs.resources,
                                 definitions=defs) as context:
        return sensor.evaluate_tick(context)


def test_sensor_requests_a_run_only_when_the_home_has_new_rows(project: Project):
    project.write(PROJECT)
    create_orders_db(project.root / "shop.sqlite", 10)

    # Never materialized: the rows are new.
    first = evaluate(project)
    assert [r.asset_selection for r in first.run_requests] == [[dg.AssetKey(["sales", "orders"])]]

    # The same maximum again: already requested, no second request.
    repeat = evaluate(project, cursor=first.cursor)
    assert repeat.run_requests == [] and "no new rows" in repeat.skip_message

    # After the run committed the cursor, nothing is new.
    project.materialize("sales/orders")
    assert evaluate(project).run_requests == []

    # New rows at the source: a new request with a new run key.
    with sqlite3.connect(project.root / "shop.sqlite") as connection:
        insert_orders(connection, range(11, 15))
    fresh = evaluate(project, cursor=first.cursor)
    assert len(fresh.run_requests) == 1
    assert fresh.run_requests[0].run_key != first.run_requests[0].run_key


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
