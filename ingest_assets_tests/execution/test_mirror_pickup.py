"""The opt-in `files_applied_by_fabric` check, on a local landing zone where the test plays Fabric.

Fabric moves each applied file into `_ProcessedFiles` (or `_FilesReadyToDelete`) and leaves the
table's newest file where it is; the test moves files the same way and runs the check through Dagster.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from ingest_assets.defs.pickup_check import FILES_APPLIED
from ingest_assets.storage.local import LocalStorage
from ingest_assets.stores.open_mirroring.layout import sequence_name
from ingest_assets.stores.open_mirroring.pickup import pickup
from ingest_assets_tests.conftest import Project

TABLE = Path("onelake/shop.MountedRelationalDatabase/Files/LandingZone/customers")
KEY = dg.AssetKey(["mirror_flow", "customers"])
CHECK = dg.AssetCheckKey(KEY, FILES_APPLIED)

INGEST_YML = """
connections:
  db: {type: sqlite, path: source.sqlite}
  mirror:
    type: open_mirroring
    local_path: onelake
    mirror_name: shop
    folder_deletion_wait_seconds: 0
    processed_check: {within_minutes: %d, cron: '*/10 * * * *'}
"""

FLOW_YML = """
home: db
store: mirror
entities:
  - name: customers
    home: {table: customers}
    keys: [id]
    write_strategy: merge
    delete_missing: true
"""


def _write_project(project: Project, within_minutes: int) -> None:
    project.write({"flows/ingest.yml": INGEST_YML % within_minutes, "flows/mirror_flow/flow.yml": FLOW_YML})


def _insert(project: Project, ids: range) -> None:
    with sqlite3.connect(project.root / "source.sqlite") as connection:
        connection.execute("create table if not exists customers (id integer primary key, name text)")
        connection.executemany("insert or replace into customers values (?, ?)", [(i, f"c{i}") for i in ids])


def _run_check(project: Project) -> dg.AssetCheckEvaluation:
    defs = project.definitions()
    job = dg.define_asset_job("pickup", selection=dg.AssetSelection.checks(CHECK))
    with_job = dg.Definitions(assets=defs.assets, asset_checks=defs.asset_checks, resources=defs.resources,
                              jobs=[job])
    result = with_job.resolve_job_def("pickup").execute_in_process(instance=project.instance)
    [evaluation] = result.get_asset_check_evaluations()
    return evaluation


def _delete(project: Project, ids: list[int]) -> None:
    with sqlite3.connect(project.root / "source.sqlite") as connection:
        connection.executemany("delete from customers where id = ?", [(i,) for i in ids])


def _data_files(project: Project) -> list[str]:
    return sorted(p.name for p in (project.root / TABLE).glob("0*.parquet"))


def _apply(project: Project, name: str, folder: str = "_ProcessedFiles") -> None:
    """What Fabric does with a file it has applied."""
    target = project.root / TABLE / folder
    target.mkdir(exist_ok=True)
    (project.root / TABLE / name).rename(target / name)


def test_the_check_passes_once_fabric_has_moved_the_files_and_leaves_the_newest_in_place(project: Project) -> None:
    _write_project(project, within_minutes=30)
    assert _run_check(project).description == "no load has published files yet"
    _insert(project, range(1, 6))
    project.materialize("mirror_flow/customers")
    _delete(project, [2])
    _insert(project, range(4, 9))  # a merge with delete_missing: a file of upserts, then one of deletes
    project.materialize("mirror_flow/customers")
    initial, upserts, deletes = _data_files(project)

    waiting = _run_check(project)
    # The newest file stays in place even once applied; the upserts wait, within the 30 minutes allowed.
    assert waiting.passed
    assert waiting.metadata["waiting"].value == [upserts]
    assert waiting.metadata["left_in_place"].value == deletes
    assert waiting.description.startswith("0 of 2 files applied, 0 min after publishing; 1 still waiting; ")

    _apply(project, initial)
    _apply(project, upserts, "_FilesReadyToDelete")
    applied = _run_check(project)
    assert applied.passed
    assert applied.metadata["applied"].value == [upserts] and applied.metadata["waiting"].value == []


def test_a_file_removed_by_something_other_than_fabric_fails_the_check(project: Project) -> None:
    _write_project(project, within_minutes=30)
    _insert(project, range(1, 6))
    project.materialize("mirror_flow/customers")
    _delete(project, [3])
    _insert(project, range(5, 7))
    project.materialize("mirror_flow/customers")
    _, upserts, _ = _data_files(project)
    (project.root / TABLE / upserts).unlink()
    failed = _run_check(project)
    assert not failed.passed and failed.severity == dg.AssetCheckSeverity.ERROR
    assert failed.metadata["vanished"].value == [upserts]
    assert ("1 neither in the table folder nor in a processed folder: something other than Fabric removed them"
            in failed.description)


@pytest.mark.parametrize("minutes, passed", [(29.0, True), (31.0, False)])
def test_files_waiting_longer_than_allowed_fail(tmp_path: Path, minutes: float, passed: bool) -> None:
    table = tmp_path / "table"
    (table / "_ProcessedFiles").mkdir(parents=True)
    for number in (1, 2, 3):
        (table / sequence_name(number)).write_bytes(b"PAR1")
    status = pickup(LocalStorage(tmp_path), "table", [sequence_name(2), sequence_name(3)])
    assert status.waiting == (sequence_name(2),) and status.left_in_place == sequence_name(3)
    verdict, description = status.assess(minutes, 30)
    assert verdict is passed
    assert ("1 still waiting after more than 30 min: is the mirrored database running and replicating?"
            in description) is not passed


def test_a_bad_cron_is_refused_when_the_project_loads(project: Project) -> None:
    project.write({"flows/ingest.yml": (INGEST_YML % 5).replace("*/10 * * * *", "every ten"),
                   "flows/mirror_flow/flow.yml": FLOW_YML})
    with pytest.raises(Exception) as error:
        project.definitions()
    assert "'every ten' is not a cron expression -> e.g. '*/15 * * * *' (every 15 minutes)" in str(error.value)


# Dagster's own test utility passes a beta parameter internally (AssetSelection.all(include_sources)).
@pytest.mark.filterwarnings("ignore::dagster.BetaWarning")
def test_dagster_automation_requests_the_check_on_its_cron(project: Project) -> None:
    _write_project(project, within_minutes=30)
    defs = project.definitions()
    start = datetime(2026, 5, 4, 9, 1, tzinfo=UTC)
    first = dg.evaluate_automation_conditions(defs=defs, instance=project.instance, evaluation_time=start)
    later = dg.evaluate_automation_conditions(defs=defs, instance=project.instance, cursor=first.cursor,
                                              evaluation_time=start + timedelta(minutes=5))
    after_tick = dg.evaluate_automation_conditions(defs=defs, instance=project.instance, cursor=later.cursor,
                                                   evaluation_time=start + timedelta(minutes=10))
    assert later.total_requested == 0  # no '*/10' tick between 09:01 and 09:06
    assert after_tick.total_requested == 1  # 09:10 passed
    assert {r.key for r in after_tick.results if r.true_subset.size} == {CHECK}
