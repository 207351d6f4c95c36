"""The open_mirroring store through Dagster: what Fabric would show equals the source after every run.

Each run is materialized with Dagster (extract step, then publish step), and the landing zone is read
back with the replayer, which applies `_metadata.json`, file order and row markers as the contract
says and fails on any gap, partial file or invalid marker.
"""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest_assets.runtime import check_results as checks
from ingest_assets.storage.base import Storage
from ingest_assets.storage.local import LocalStorage
from ingest_assets.stores.load_record import RECORD_FILE
from ingest_assets.stores.open_mirroring.layout import ROW_MARKER
from ingest_assets.stores.open_mirroring.replay import replay_table
from ingest_assets_tests.conftest import Project

ZONE = "shop.MountedRelationalDatabase/Files/LandingZone"

INGEST_YML = """
connections:
  db: {type: sqlite, path: source.sqlite}
  files: {type: parquet, path: files}
  mirror:
    type: open_mirroring
    local_path: onelake
    mirror_name: shop
    folder_deletion_wait_seconds: 0
"""

# The same store in an Azurite container, through the Blob API (the key from the environment).
AZURITE_YML = """
connections:
  db: {type: sqlite, path: source.sqlite}
  mirror:
    type: open_mirroring
    account_url: %s
    filesystem: %s
    api: blob
    account_key: ${TEST_AZURITE_KEY}
    mirror_name: shop
    folder_deletion_wait_seconds: 0
"""


@dataclass
class Landing:
    """Where a test's landing zone is, as the project's YAML says it and as a Storage to read it back."""

    ingest_yml: str
    storage: Storage | None = None  # None: the project's local folder

    def open(self, project: Project) -> Storage:
        return self.storage or _local(project)


@pytest.fixture(params=["local", "azurite"])
def landing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Landing]:
    if request.param == "local":
        yield Landing(INGEST_YML)
        return
    from ingest_assets.storage.azure import open_azure_storage

    azurite = request.getfixturevalue("azurite")
    container = azurite.create_container("mirror")
    monkeypatch.setenv("TEST_AZURITE_KEY", azurite.account_key)
    yield Landing(AZURITE_YML % (azurite.account_url, container), open_azure_storage(azurite.location(container)))
    azurite.delete_container(container)


FLOW_YML = """
home: db
store: mirror
entities:
  - name: customers
    home: {table: customers}
    keys: [id]
    write_strategy: merge
    delete_missing: true
  - name: orders
    run_type: incremental
    home: {table: orders}
    keys: [id]
    watermark: updated_at
    store: {schema: sales}
"""


def _source(project: Project) -> sqlite3.Connection:
    connection = sqlite3.connect(project.root / "source.sqlite")
    connection.execute("CREATE TABLE IF NOT EXISTS customers (id INTEGER PRIMARY KEY, name TEXT, score REAL)")
    connection.execute("CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, amount INTEGER, updated_at TEXT)")
    return connection


def _local(project: Project) -> Storage:
    return LocalStorage(project.root / "onelake")


def _mirrored(storage: Storage, table: str) -> list[tuple]:
    rows = replay_table(storage, f"{ZONE}/{table}").to_pylist()
    return sorted(tuple(row.values()) for row in rows)


def _source_rows(connection: sqlite3.Connection, table: str) -> list[tuple]:
    return sorted(connection.execute(f"SELECT * FROM {table}").fetchall())


def _data_files(storage: Storage, table: str) -> list[str]:
    return sorted(e.name for e in storage.list(f"{ZONE}/{table}") if e.name.startswith("0"))


def _file(storage: Storage, table: str, name: str) -> pa.Table:
    return pq.read_table(io.BytesIO(storage.read_bytes(f"{ZONE}/{table}/{name}")))


def _markers(storage: Storage, table: str, name: str) -> list[int] | None:
    data = _file(storage, table, name)
    return data.column(ROW_MARKER).to_pylist() if ROW_MARKER in data.column_names else None


def _json(storage: Storage, path: str) -> object:
    return json.loads(storage.read_bytes(f"{ZONE}/{path}"))


def _checks(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], bool]:
    return {(e.asset_key.path[-1], e.check_name): e.passed for e in result.get_asset_check_evaluations()}


def test_six_runs_of_inserts_updates_and_deletes_mirror_the_source(project: Project, landing: Landing) -> None:
    project.write({"flows/ingest.yml": landing.ingest_yml, "flows/shop/flow.yml": FLOW_YML})
    storage = landing.open(project)
    source = _source(project)
    source.executemany("INSERT INTO customers VALUES (?, ?, ?)", [(i, f"c{i}", i / 4) for i in range(1, 31)])
    source.executemany("INSERT INTO orders VALUES (?, ?, ?)", [(i, i * 10, f"2026-01-01 00:{i:02d}") for i in range(1, 21)])
    source.commit()

    def run_and_compare(run_config: dict | None = None) -> dg.ExecuteInProcessResult:
        result = project.materialize("*", run_config=run_config)
        assert _mirrored(storage, "customers") == _source_rows(source, "customers")
        assert _mirrored(storage, "sales.schema/orders") == _source_rows(source, "orders")
        assert all(_checks(result).values()), _checks(result)
        return result

    # 1. Initial loads: no row markers (every row an insert), and the contract's metadata files.
    run_and_compare()
    assert _data_files(storage, "customers") == ["00000000000000000001.parquet"]
    assert _markers(storage, "customers", "00000000000000000001.parquet") is None
    metadata = _json(storage, "customers/_metadata.json")
    assert metadata == {"keyColumns": ["id"], "fileDetectionStrategy": "SequentialFileName",
                        "isUpsertDefaultRowMarker": False}
    partner = _json(storage, "_partnerEvents.json")
    assert partner == {"partnerName": "ingest_assets", "sourceInfo": {"sourceType": "SQL", "additionalInformation": {}}}

    # 2. Updates and inserts: upserts for the changed and new customers only, and the new orders.
    source.execute("UPDATE customers SET name = 'renamed' WHERE id IN (3, 4)")
    source.execute("INSERT INTO customers VALUES (31, 'c31', 7.75)")
    source.execute("UPDATE orders SET amount = 999, updated_at = '2026-01-02 00:00' WHERE id = 5")
    source.execute("INSERT INTO orders VALUES (21, 210, '2026-01-02 00:01')")
    source.commit()
    run_and_compare()
    upserts = _file(storage, "customers", "00000000000000000002.parquet").to_pylist()
    assert sorted((r["id"], r["name"], r[ROW_MARKER]) for r in upserts) == [
        (3, "renamed", 4), (4, "renamed", 4), (31, "c31", 4)]
    assert _markers(storage, "sales.schema/orders", "00000000000000000002.parquet") == [4, 4]

    # 3. Deletes: a delete row (marker 2, key columns only) for each key gone from the snapshot.
    source.execute("DELETE FROM customers WHERE id IN (7, 8, 9)")
    source.commit()
    result = run_and_compare()
    assert _data_files(storage, "customers")[-1] == "00000000000000000003.parquet"  # no unchanged upserts
    deleted = _file(storage, "customers", "00000000000000000003.parquet")
    assert deleted.column_names == ["id", ROW_MARKER]
    assert sorted(deleted.to_pylist(), key=lambda r: r["id"]) == [{"id": i, ROW_MARKER: 2} for i in (7, 8, 9)]
    assert project.latest_metadata("shop/customers")["ingest/rows_deleted"] == 3
    assert _checks(result)[("customers", checks.SEQUENCE_WITHOUT_GAPS)]

    # 4. Nothing changed at the source: neither table publishes a file (no sequence number is used).
    before = [_data_files(storage, table) for table in ("customers", "sales.schema/orders")]
    run_and_compare()
    assert [_data_files(storage, table) for table in ("customers", "sales.schema/orders")] == before

    # 5. A deliberate rebuild: the folder is deleted and recreated with one initial load.
    source.execute("INSERT INTO customers VALUES (40, 'c40', 1.0)")
    source.commit()
    run_and_compare({"ops": {"shop__customers": {"config": {"rebuild": True}}}})
    assert _data_files(storage, "customers") == ["00000000000000000001.parquet"]
    assert _markers(storage, "customers", "00000000000000000001.parquet") is None

    # 6. Deletes after the rebuild use the key set the rebuild recorded.
    source.execute("DELETE FROM customers WHERE id IN (1, 40)")
    source.execute("UPDATE customers SET score = -1 WHERE id = 2")
    source.commit()
    run_and_compare()
    assert _data_files(storage, "customers") == ["00000000000000000001.parquet", "00000000000000000002.parquet",
                                                 "00000000000000000003.parquet"]
    assert [(r["id"], r["score"]) for r in _file(storage, "customers", "00000000000000000002.parquet").to_pylist()] == [(2, -1.0)]


def test_a_changed_key_is_refused_before_anything_is_published_until_a_rebuild(project: Project) -> None:
    project.write({"flows/ingest.yml": INGEST_YML, "flows/shop/flow.yml": FLOW_YML})
    source = _source(project)
    source.executemany("INSERT INTO customers VALUES (?, ?, ?)", [(i, f"c{i}", 1.0) for i in range(1, 6)])
    source.commit()
    project.materialize("shop/customers")
    folder = project.root / "onelake" / ZONE / "customers"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    project.write({"flows/shop/flow.yml": FLOW_YML.replace("keys: [id]\n    write_strategy", "keys: [id, name]\n    write_strategy", 1)})
    result = project.materialize("shop/customers", raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.event_specific_data.error.message
    assert "the key changes from ['id'] to ['id', 'name']" in message
    assert "run once with run config {rebuild: true}" in message
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before

    project.materialize("shop/customers", run_config=project.run_config("shop/customers", {"rebuild": True}))
    assert json.loads((folder / "_metadata.json").read_text())["keyColumns"] == ["id", "name"]
    assert _mirrored(_local(project), "customers") == _source_rows(source, "customers")


def test_a_type_change_fabric_cannot_follow_is_refused(project: Project) -> None:
    flow = """
home: files
store: mirror
entities:
  - name: events
    home: {path: events}
    keys: [id]
    write_strategy: upsert
"""
    project.write({"flows/ingest.yml": INGEST_YML, "flows/shop/flow.yml": flow})
    folder = project.root / "files" / "events"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"id": pa.array([1, 2], pa.int64()), "value": pa.array([1, 2], pa.int32())}), folder / "a.parquet")
    project.materialize("shop/events")
    # Every other store widens int32 to int64; Fabric stops replicating a table whose column type changes.
    pq.write_table(pa.table({"id": pa.array([1, 2], pa.int64()), "value": pa.array([5, 2**40], pa.int64())}), folder / "a.parquet")
    result = project.materialize("shop/events", raise_on_error=False)
    message = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE").event_specific_data.error.message
    assert "value changes type int32 -> int64" in message and "rebuild" in message
    assert _data_files(_local(project), "events") == ["00000000000000000001.parquet"]


def test_row_markers_from_a_change_column(project: Project) -> None:
    flow = """
home: files
store: mirror
entities:
  - name: changes
    home: {path: changes}
    keys: [id]
    write_strategy: upsert
    watermark: version
    run_type: incremental
    store: {row_marker_column: op}
"""
    project.write({"flows/ingest.yml": INGEST_YML, "flows/shop/flow.yml": flow})
    folder = project.root / "files" / "changes"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"id": [1, 2, 3], "name": ["a", "b", "c"], "op": ["I", "I", "I"], "version": [1, 1, 1]}),
                   folder / "1.parquet")
    project.materialize("shop/changes")
    pq.write_table(pa.table({"id": [2, 3, 4], "name": ["B", None, "d"], "op": ["update", "D", "insert"],
                             "version": [2, 2, 2]}), folder / "2.parquet")
    project.materialize("shop/changes")
    assert _markers(_local(project), "changes", "00000000000000000002.parquet") == [1, 2, 0]
    assert _mirrored(_local(project), "changes") == [(1, "a", 1), (2, "B", 2), (4, "d", 2)]


ADLS_FLOW = """
home: db
store: lake
entities:
  - name: customers
    home: {table: customers}
  - name: orders
    run_type: incremental
    home: {table: orders}
    watermark: updated_at
"""


@pytest.mark.parametrize("backend", ["local", "azurite"])
def test_adls_store_replaces_and_appends_parquet_files(project: Project, backend: str, request: pytest.FixtureRequest,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    if backend == "local":
        connection = "lake: {type: adls, local_path: lake, base_path: raw}"
        storage: Storage = LocalStorage(project.root / "lake")
    else:
        from ingest_assets.storage.azure import open_azure_storage

        azurite = request.getfixturevalue("azurite")
        container = azurite.create_container("adls")
        monkeypatch.setenv("TEST_AZURITE_KEY", azurite.account_key)
        connection = (f"lake: {{type: adls, account_url: '{azurite.account_url}', filesystem: {container}, "
                      "api: blob, account_key: '${TEST_AZURITE_KEY}', base_path: raw}")
        storage = open_azure_storage(azurite.location(container))
    project.write({"flows/ingest.yml": f"connections:\n  db: {{type: sqlite, path: source.sqlite}}\n  {connection}\n",
                   "flows/shop/flow.yml": ADLS_FLOW})
    source = _source(project)
    source.executemany("INSERT INTO customers VALUES (?, ?, ?)", [(i, f"c{i}", 1.0) for i in range(1, 6)])
    source.executemany("INSERT INTO orders VALUES (?, ?, ?)", [(i, i, f"2026-01-01 00:{i:02d}") for i in range(1, 4)])
    source.commit()

    def rows(folder: str) -> list[tuple]:
        names = [e.name for e in storage.list(f"raw/shop/{folder}") if e.name != RECORD_FILE]
        assert not [n for n in names if n.startswith("_")], names  # nothing staged is left behind
        tables = [pq.read_table(io.BytesIO(storage.read_bytes(f"raw/shop/{folder}/{n}"))) for n in names]
        return sorted(tuple(r.values()) for t in tables for r in t.to_pylist())

    project.materialize("*")
    source.execute("DELETE FROM customers WHERE id = 1")
    source.execute("INSERT INTO orders VALUES (4, 4, '2026-01-02 00:00')")
    source.commit()
    project.materialize("*")
    assert rows("customers") == _source_rows(source, "customers")  # replaced after extraction
    assert rows("orders") == _source_rows(source, "orders")  # the first load, then the new row appended
    # Two data files and the load's record (see stores/load_record.py).
    assert sorted(e.name.startswith("part-") for e in storage.list("raw/shop/orders")) == [False, True, True]
    assert any(e.name == RECORD_FILE for e in storage.list("raw/shop/orders"))


def test_adls_files_keep_the_tables_columns_when_the_source_drops_one(project: Project) -> None:
    flow = """
home: files
store: lake
entities:
  - name: events
    home: {path: events}
    run_type: incremental
    watermark: id
"""
    project.write({"flows/ingest.yml": "connections:\n  files: {type: parquet, path: files}\n"
                                       "  lake: {type: adls, local_path: lake}\n",
                   "flows/shop/flow.yml": flow})
    folder = project.root / "files" / "events"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"id": [1, 2], "note": ["a", "b"]}), folder / "1.parquet")
    project.materialize("shop/events")
    pq.write_table(pa.table({"id": [3]}), folder / "2.parquet")  # the source no longer has `note`
    (folder / "1.parquet").unlink()
    project.materialize("shop/events")
    files = sorted((project.root / "lake" / "shop" / "events").glob("part-*.parquet"))
    assert [pq.read_schema(f).names for f in files] == [["id", "note"], ["id", "note"]]
    rows = sorted(r for f in files for r in map(tuple, (d.values() for d in pq.read_table(f).to_pylist())))
    assert rows == [(1, "a"), (2, "b"), (3, None)]


def test_a_load_leaves_no_staging_folder_behind(project: Project) -> None:
    project.write({"flows/ingest.yml": INGEST_YML, "flows/shop/flow.yml": FLOW_YML})
    source = _source(project)
    source.executemany("INSERT INTO customers VALUES (?, ?, ?)", [(i, f"c{i}", 1.0) for i in range(1, 6)])
    source.commit()
    project.materialize("shop/customers")
    source.execute("DELETE FROM customers WHERE id = 2")
    source.commit()
    project.materialize("shop/customers")  # a merge that writes a new key set through _scratchPad
    scratch = project.root / "onelake" / ZONE / "_scratchPad"
    # The table's own staging folder stays (empty); no load's folder, upload or journal is left.
    assert sorted(p.relative_to(scratch).as_posix() for p in scratch.rglob("*")) == [
        "ingest_assets", "ingest_assets/customers"]
