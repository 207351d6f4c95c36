"""Delta housekeeping on real tables: compaction after the load's commit (rows unchanged, fewer files,
a version of its own), Z-order, vacuum of files no version keeps, the settings from project YAML (the
connection's, and an entity's own over them), and a housekeeping failure that is reported while the
load stays committed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from deltalake import DeltaTable

from ingest_assets.config.project_files import StoreSettings
from ingest_assets.connectors.delta import DeltaConnection, DeltaResource
from ingest_assets.stores.base import WriteMode
from ingest_assets.stores.delta_housekeeping import HOUSEKEEPING_METADATA, Housekeeping
from ingest_assets.stores.delta_options import TableHousekeeping
from ingest_assets_tests.conftest import Project, create_orders_db, insert_orders
from ingest_assets_tests.execution.test_delta_store import Delta
from ingest_assets_tests.execution.test_stores import BASE, D3, KEYS
from ingest_assets_tests.unit.test_config_errors import problems


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


def test_an_entitys_own_settings_override_the_connections_for_its_table_only(project: Project):
    project.write({
        "flows/ingest.yml": "connections:\n  shop: {type: sqlite, path: source/shop.sqlite}\n"
                            "  lake: {type: delta, path: lake, vacuum_retention_hours: 0}\n",
        "flows/shop/flow.yml": "home: shop\nstore: lake\nrun_type: incremental\n"
                               "defaults: {home: {table: orders}, watermark: updated_at, write_strategy: append}\nentities:\n"
                               "  - name: tidy\n    store: {optimize: true, vacuum: true}\n"
                               "  - name: plain\n",
    })
    database = project.root / "source/shop.sqlite"
    create_orders_db(database, 5)
    project.materialize("*")
    with sqlite3.connect(database) as connection:
        insert_orders(connection, range(6, 9))
    project.materialize("*")

    tidy, plain = (DeltaTable(str(project.root / "lake/shop" / name)) for name in ("tidy", "plain"))
    done = project.latest_metadata("shop/tidy")[HOUSEKEEPING_METADATA]
    # The second load's file and the first one's, compacted into one; the two vacuumed at once
    # (the connection's retention of 0 hours, the entity's vacuum).
    assert done == {"optimize_files_added": 1, "optimize_files_removed": 2, "optimize_version": 2,
                    "vacuum_files_deleted": 2, "vacuum_retention_hours": 0}
    assert [entry["operation"] for entry in tidy.history()][:3] == ["VACUUM END", "VACUUM START", "OPTIMIZE"]
    assert len(tidy.file_uris()) == len(list(Path(tidy.table_uri.removeprefix("file://")).glob("*.parquet"))) == 1
    assert HOUSEKEEPING_METADATA not in project.latest_metadata("shop/plain")
    assert plain.version() == 1 and {entry["operation"] for entry in plain.history()} == {
        "CREATE OR REPLACE TABLE", "WRITE"}  # the two loads' commits, nothing after them
    assert len(plain.file_uris()) == 2
    for table in (tidy, plain):
        assert sorted(table.to_pyarrow_table().column("id").to_pylist()) == list(range(1, 9))


def test_entity_housekeeping_is_refused_for_a_store_that_is_not_delta(tmp_path: Path):
    files = {
        "flows/ingest.yml": "connections:\n  shop: {type: sqlite, path: shop.sqlite}\n  lake: {type: parquet, path: lake}\n",
        "flows/shop/flow.yml": "home: shop\nstore: lake\nentities:\n  - name: orders\n"
                               "    store: {optimize: true, vacuum_retention_hours: 1}\n",
    }
    assert problems(tmp_path, files) == [
        f"flows/shop/flow.yml:5: shop.orders: store setting {name!r} is for delta stores, and 'lake' is parquet "
        "-> remove it" for name in ("optimize", "vacuum_retention_hours")]


def test_entity_settings_reach_the_store_over_the_connections():
    resource = DeltaResource(local_path="lake", z_order=["day"], vacuum=True, vacuum_retention_hours=24)
    table = TableHousekeeping.of(StoreSettings.model_validate({"vacuum": False, "vacuum_retention_hours": 2}))
    assert table == TableHousekeeping((("vacuum", False), ("vacuum_retention_hours", 2)))
    assert resource.housekeeping(table) == Housekeeping(optimize=True, z_order=("day",), vacuum=False,
                                                        retention_hours=2)
    assert resource.housekeeping() == Housekeeping(optimize=True, z_order=("day",), vacuum=True, retention_hours=24)
    assert TableHousekeeping.of(StoreSettings.model_validate({"path": "t"})) is None
