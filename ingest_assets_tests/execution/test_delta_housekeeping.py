"""Delta housekeeping on real tables: compaction after the load's commit (rows unchanged, fewer files,
a version of its own), Z-order, vacuum of files no version keeps, the settings from project YAML, and a
housekeeping failure that is reported while the load stays committed."""

from __future__ import annotations

from pathlib import Path

import pytest
from deltalake import DeltaTable

from ingest_assets.connectors.delta import DeltaConnection, DeltaResource
from ingest_assets.stores.base import WriteMode
from ingest_assets.stores.delta_housekeeping import HOUSEKEEPING_METADATA, Housekeeping
from ingest_assets_tests.execution.test_delta_store import Delta
from ingest_assets_tests.execution.test_stores import BASE, D3, KEYS


def _live_files(uri: str) -> set[str]:
    return {path.name for path in Path(uri).glob("*.parquet")}


def test_without_settings_nothing_runs_after_the_commit(tmp_path: Path):
    delta = Delta(tmp_path)
    delta.load(WriteMode("append"), BASE)
    result = delta.load(WriteMode("append"), [(6, D3, "f", 2)])
    assert HOUSEKEEPING_METADATA not in result.details
    assert delta.version() == 1
    assert len(delta.table().file_uris()) == 2


def test_optimize_compacts_the_loads_files_into_one_and_keeps_every_row(tmp_path: Path):
    delta = Delta(tmp_path, optimize=True)
    delta.load(WriteMode("append"), BASE)
    result = delta.load(WriteMode("append"), [(6, D3, "f", 2)])

    assert delta.rows() == sorted([*BASE, (6, D3, "f", 2)])
    assert len(delta.table().file_uris()) == 1
    done = result.details[HOUSEKEEPING_METADATA]
    assert isinstance(done, dict)
    assert (done["optimize_files_removed"], done["optimize_files_added"]) == (2, 1)
    # The load's own commit is what the materialization reports; the compaction is the next version.
    assert result.details["ingest/delta_version"] == 1
    assert done["optimize_version"] == delta.version() == 2
    assert delta.table().history(1)[0]["operation"] == "OPTIMIZE"
    assert result.rows_after == 6


def test_z_order_clusters_by_the_given_columns(tmp_path: Path):
    delta = Delta(tmp_path, z_order=["name"])
    delta.load(WriteMode("append"), BASE)
    delta.load(WriteMode("append"), [(0, D3, "0", 2)])  # a name before every other, in a later file

    assert delta.table().history(1)[0]["operation"] == "OPTIMIZE"
    # One file, its rows clustered by name (with one column, Z-order is its order).
    assert len(delta.table().file_uris()) == 1
    assert delta.table().to_pyarrow_table().column("name").to_pylist() == ["0", "a", "b", "c", "d", "e"]


def test_vacuum_deletes_files_that_left_the_table_and_keeps_the_current_ones(tmp_path: Path):
    delta = Delta(tmp_path, vacuum=True, vacuum_retention_hours=0)
    delta.load(WriteMode("replace", keys=KEYS), BASE)
    first_files = _live_files(delta.uri)
    result = delta.load(WriteMode("replace", keys=KEYS), [(9, D3, "z", 3)])

    done = result.details[HOUSEKEEPING_METADATA]
    assert isinstance(done, dict)
    assert done["vacuum_files_deleted"] == len(first_files) >= 1
    assert _live_files(delta.uri).isdisjoint(first_files)
    assert delta.rows() == [(9, D3, "z", 3)]


def test_the_default_retention_keeps_recent_files_for_time_travel(tmp_path: Path):
    delta = Delta(tmp_path, vacuum=True)
    delta.load(WriteMode("replace", keys=KEYS), BASE)
    delta.load(WriteMode("replace", keys=KEYS), [(9, D3, "z", 3)])
    assert DeltaTable(delta.uri, version=0).to_pyarrow_table().num_rows == len(BASE)


def test_a_housekeeping_failure_is_reported_and_the_load_stays_committed(tmp_path: Path):
    delta = Delta(tmp_path, z_order=["no_such_column"])
    delta.load(WriteMode("append"), BASE)
    result = delta.load(WriteMode("append"), [(6, D3, "f", 2)])

    done = result.details[HOUSEKEEPING_METADATA]
    assert isinstance(done, dict)
    assert "the load committed" in str(done["failed"])
    assert result.rows_written == 1
    assert delta.version() == result.details["ingest/delta_version"] == 1
    assert delta.rows() == sorted([*BASE, (6, D3, "f", 2)])


def test_the_connection_settings_reach_the_store(tmp_path: Path):
    settings = DeltaConnection.model_validate(
        {"type": "delta", "path": "lake", "optimize": True, "vacuum": True, "vacuum_retention_hours": 24})
    resource = DeltaResource.from_settings(settings, tmp_path)
    assert resource.housekeeping() == Housekeeping(optimize=True, vacuum=True, retention_hours=24)


def test_a_negative_retention_is_refused():
    with pytest.raises(ValueError, match="vacuum_retention_hours"):
        DeltaConnection.model_validate({"type": "delta", "path": "lake", "vacuum_retention_hours": -1})


def test_a_recorded_version_whose_files_were_vacuumed_reads_the_latest(tmp_path: Path):
    from ingest_assets_tests.execution.test_delta_store import SPEC

    delta = Delta(tmp_path, vacuum=True, vacuum_retention_hours=0)
    delta.load(WriteMode("replace", keys=KEYS), BASE)
    delta.load(WriteMode("replace", keys=KEYS), [(9, D3, "z", 3)])

    kept = delta.store.read_back_recorded(SPEC, {"ingest/delta_version": 0})
    assert kept is not None and kept.description.endswith(f"version {delta.version()}")  # after VACUUM START, END
    with kept.open() as reader:
        assert reader.read_all().to_pylist() == [{"id": 9, "day": D3, "name": "z", "version": 3}]
