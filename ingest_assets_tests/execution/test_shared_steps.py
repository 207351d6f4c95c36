"""Entities that share a step: one step for many tables, each keeping its asset, checks and failure."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import dagster as dg

from ingest_assets_tests.conftest import Project, read_parquet_table

ROWS = {"a": 3, "b": 5, "c": 7, "d": 4}


def _source(path: Path, tables: dict[str, int]) -> None:
    with sqlite3.connect(path) as connection:
        for table, count in tables.items():
            connection.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, label TEXT)")
            connection.executemany(f"INSERT INTO {table} VALUES (?, ?)", [(i, f"{table}-{i}") for i in range(count)])


def _project(project: Project, options: str = "") -> None:
    entities = "".join(f"  - name: {name}\n    home: {{table: {name}}}\n    keys: [id]\n" for name in ROWS)
    project.write({
        "flows/ingest.yml": f"""
            connections:
              src: {{type: sqlite, path: source.sqlite}}
              lake: {{type: parquet, path: lake}}
            options:
              concurrency: 2
            {options}
            """,
        "flows/copy/flow.yml": "home: src\nstore: lake\nentities:\n" + entities,
    })


def _ids(project: Project, entity: str) -> list[int]:
    return sorted(read_parquet_table(project.root / "lake/copy" / entity).column("id").to_pylist())


def _step_starts(result: dg.ExecuteInProcessResult) -> list[str]:
    return [event.step_key for event in result.all_events if event.event_type_value == "STEP_START"]


def test_one_step_loads_every_entity_and_a_failing_one_fails_alone(project: Project):
    # `d` reads a table the source does not have yet.
    _source(project.root / "source.sqlite", {name: count for name, count in ROWS.items() if name != "d"})
    _project(project)

    result = project.materialize("*", raise_on_error=False)

    assert _step_starts(result) == ["copy__src_to_lake"]
    for name in ("a", "b", "c"):
        assert _ids(project, name) == list(range(ROWS[name]))
        assert project.latest_metadata(f"copy/{name}")["dagster/row_count"] == ROWS[name]
    assert project.materialization_count("copy/d") == 0
    assert not (project.root / "lake/copy/d").exists()
    assert not result.success
    failure = next(event for event in result.all_events if event.is_step_failure)
    assert failure.step_failure_data is not None
    message = failure.step_failure_data.error.message if failure.step_failure_data.error else ""
    assert "1 of 4 entities of this step failed" in message
    assert "copy.d (declared at flows/copy/flow.yml:" in message and "'d'" in message
    # Each committed entity's checks belong to its own materialization of this run.
    for name in ("a", "b", "c"):
        key = dg.AssetKey(["copy", name])
        materialization = project.instance.fetch_materializations(key, limit=1).records[0]
        history = project.instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(key, "keys_not_null_unique"), limit=1)
        evaluation = history[0].event.dagster_event.event_specific_data  # type: ignore[union-attr]
        assert evaluation.passed
        assert evaluation.target_materialization_data.storage_id == materialization.storage_id

    # The table arrives; a run of `d` alone loads only `d`.
    _source_d = {"d": ROWS["d"]}
    _source(project.root / "source.sqlite", _source_d)
    rerun = project.materialize("copy/d")
    assert _step_starts(rerun) == ["copy__src_to_lake"]
    assert _ids(project, "d") == list(range(ROWS["d"]))
    assert [project.materialization_count(f"copy/{name}") for name in ROWS] == [1, 1, 1, 1]


def test_run_config_of_a_shared_step_reaches_the_selected_entities(project: Project):
    _source(project.root / "source.sqlite", ROWS)
    _project(project)
    project.materialize("*")

    project.materialize("copy/b", run_config=project.run_config("copy/b", {"sample_rows": 2}))

    assert len(_ids(project, "b")) == 2
    assert project.latest_metadata("copy/b")["ingest/sample_rows"] == 2
    assert _ids(project, "a") == list(range(ROWS["a"]))


def test_entities_per_step_splits_and_one_gives_each_entity_its_own_step(project: Project):
    _source(project.root / "source.sqlite", ROWS)
    _project(project, "  entities_per_step: 3\n")
    result = project.materialize("*")
    assert sorted(_step_starts(result)) == ["copy__src_to_lake_1", "copy__src_to_lake_2"]

    _project(project, "  entities_per_step: 1\n")
    result = project.materialize("*")
    assert sorted(_step_starts(result)) == [f"copy__{name}" for name in ROWS]
    for name, count in ROWS.items():
        assert _ids(project, name) == list(range(count))
