"""The stores the fault suite kills loads into: how a project reaches each, what a reader finds in it,
and what a load may have left behind.

Every store holds the table `sales/orders` of the suite's project. `rows` reads it the way a user's
reader would (DuckDB over the Parquet folder, Delta's log, the database, a replay of the Open
Mirroring landing zone, the ADLS container's files), independently of the store's own code.
"""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest_assets.stores.load_record import RECORD_FILE
from ingest_assets.stores.sql.names import is_helper_table
from ingest_assets_tests.conftest import read_parquet_table

COLUMNS = ("id", "customer", "amount", "updated_at")
MIRROR_ZONE = "shop.MountedRelationalDatabase/Files/LandingZone"
ADLS_FOLDER = "raw/sales/orders"


@dataclass
class Destination:
    """One store of the suite, in the project folder `root`."""

    name: str
    root: Path
    connection: str  # the `target:` entry of ingest.yml (a flow mapping, or lines indented by four)
    watch: dict[str, Any]  # what the runs count their events in (see `points.arm`)
    read: Callable[[], pa.Table | None]
    staged: Callable[[], list[str]]  # what loads staged that is still there
    preload: list[str] = field(default_factory=list)  # modules its loads import, for the run server
    env: dict[str, str] = field(default_factory=dict)  # the variables the connection refers to
    incremental: str = "upsert"  # the write strategy of the incremental load (rows are updated at the source)
    # Whether a committed load is still being published (a journal pending): readers may see part of it.
    publishing: Callable[[], bool] = lambda: False


def destination(name: str, root: Path, request: pytest.FixtureRequest) -> Destination:
    return {
        "parquet": _parquet, "delta": _delta, "duckdb": _duckdb, "sqlite": _sqlite, "postgres": _postgres,
        "open_mirroring": _open_mirroring, "adls": _adls,
    }[name](root, request)


def _calls(*points: str) -> list[str]:
    """Named kill points: the end of staging and the moment after the commit, on every store, and `points`."""
    return ["call:ingest_assets.stores.staged_writer:StagedWriter.finish_staging:after",
            "call:ingest_assets.runtime.materialize:_report:before", *points]


def _files_under(folder: Path) -> list[str]:
    return sorted(str(path) for path in folder.rglob("*") if path.is_file()) if folder.exists() else []


def _parquet(root: Path, request: pytest.FixtureRequest) -> Destination:
    table = root / "lake/sales/orders"
    return Destination(
        "parquet", root, "{type: parquet, path: lake}",
        {"folders": [str(root / "lake")], "calls": _calls("call:ingest_assets.stores.parquet:_move_new:before")},
        read=lambda: read_parquet_table(table) if any(table.glob("*.parquet")) else None,
        staged=lambda: _files_under(root / "lake/_ingest/staging"),
        preload=["ingest_assets.stores.parquet"],
    )


def _delta(root: Path, request: pytest.FixtureRequest) -> Destination:
    table = root / "lake/sales/orders"

    def read() -> pa.Table | None:
        from deltalake import DeltaTable

        return DeltaTable(str(table)).to_pyarrow_table() if (table / "_delta_log").exists() else None

    def staged() -> list[str]:
        return _files_under(root / "lake/_ingest/staging") + _unreferenced_delta_files(table)

    return Destination(
        "delta", root, "{type: delta, path: lake}",
        {"folders": [str(root / "lake")],
         # The staged files moved in and committed (a full load; an upsert is delta-rs' MERGE), then
         # the moment after either commit, before the version is measured.
         "calls": _calls("call:ingest_assets.stores.delta:commit_files:before",
                         "call:ingest_assets.stores.delta:commit_files:after",
                         "call:ingest_assets.stores.delta:committed_version:before")},
        read=read, staged=staged, preload=["ingest_assets.stores.delta"],
    )


def _unreferenced_delta_files(table: Path) -> list[str]:
    """Data files no version of the table's log ever added: written by a load that never committed."""
    log = table / "_delta_log"
    if not log.exists():
        return []
    added = set()
    for entry in log.glob("*.json"):
        for line in entry.read_text().splitlines():
            action = json.loads(line)
            if "add" in action:
                added.add(action["add"]["path"])
    return sorted(str(path) for path in table.rglob("*.parquet")
                  if "_delta_log" not in path.parts and str(path.relative_to(table)) not in added)


def _duckdb(root: Path, request: pytest.FixtureRequest) -> Destination:
    database = root / "warehouse.duckdb"

    def read() -> pa.Table | None:
        import duckdb

        if not database.exists():
            return None
        with duckdb.connect(str(database), read_only=True) as connection:
            exists = connection.sql("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'sales' "
                                    "AND table_name = 'orders'").fetchall()[0][0]
            return connection.sql("SELECT * FROM sales.orders").to_arrow_table() if exists else None

    return Destination(
        "duckdb", root, "{type: duckdb, path: warehouse.duckdb}",
        {"folders": [str(root / "warehouse.duckdb.staging")],
         "calls": _calls("call:ingest_assets.stores.duckdb:_keep_record:after")},
        read=read, staged=lambda: _files_under(root / "warehouse.duckdb.staging"),
        preload=["ingest_assets.stores.duckdb"],
    )


def _sqlite(root: Path, request: pytest.FixtureRequest) -> Destination:
    database = root / "target.sqlite"

    def read() -> pa.Table | None:
        if not database.exists():
            return None
        with sqlite3.connect(database) as connection:
            if not connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'sales__orders'").fetchall():
                return None
            rows = connection.execute(f"SELECT {', '.join(COLUMNS)} FROM sales__orders").fetchall()
        return pa.Table.from_pylist([dict(zip(COLUMNS, row, strict=True)) for row in rows])

    def staged() -> list[str]:
        if not database.exists():
            return []
        with sqlite3.connect(database) as connection:
            names = [name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return [name for name in names if is_helper_table(name)]

    return Destination(
        "sqlite", root, "{type: sqlite, path: target.sqlite}",
        {"database": "target.sqlite", "calls": _calls("call:ingest_assets.stores.sql.store:load_staging:after")},
        read=read, staged=staged, preload=["ingest_assets.stores.sql.store"],
    )


def _postgres(root: Path, request: pytest.FixtureRequest) -> Destination:
    server = request.getfixturevalue("postgres_server")
    database = server.create_database("faults_" + root.name.lower().replace("-", "_")[-40:])

    def read() -> pa.Table | None:
        with server.connect(database) as connection:
            if connection.execute("SELECT to_regclass('sales.orders')").fetchall()[0][0] is None:
                return None
            rows = connection.execute(f"SELECT {', '.join(COLUMNS)} FROM sales.orders").fetchall()
        return pa.Table.from_pylist([dict(zip(COLUMNS, row, strict=True)) for row in rows])

    def staged() -> list[str]:
        with server.connect(database) as connection:
            names = [name for (name,) in connection.execute("SELECT tablename FROM pg_tables").fetchall()]
        return [name for name in names if is_helper_table(name)]

    return Destination(
        "postgres", root, "\n" + server.connection_yaml(database),
        {"database": database, "calls": _calls("call:ingest_assets.stores.sql.store:load_staging:after")},
        read=read, staged=staged, preload=["ingest_assets.stores.sql.store", "psycopg"],
    )


def _open_mirroring(root: Path, request: pytest.FixtureRequest) -> Destination:
    from ingest_assets.storage.local import LocalStorage
    from ingest_assets.stores.open_mirroring.replay import replay_table
    from ingest_assets.stores.open_mirroring.snapshots import key_files

    storage = LocalStorage(root / "onelake")
    zone = root / "onelake" / MIRROR_ZONE

    def read() -> pa.Table | None:
        if not (zone / "orders/_metadata.json").exists():
            return None
        return replay_table(storage, f"{MIRROR_ZONE}/orders")

    def staged() -> list[str]:
        # What Fabric must never see and a finished load never leaves: uploads under staged
        # (`_`-prefixed) names, the scratch pad's journals and files. The key snapshot stays by design.
        table, table_path = zone / "orders", f"{MIRROR_ZONE}/orders"
        kept = {"_metadata.json", *[path.rpartition("/")[2] for path in key_files(storage, table_path)][-1:]}
        leftovers = [str(path) for path in table.glob("_*") if path.name not in kept]
        return sorted(leftovers + _files_under(zone / "_scratchPad"))

    return Destination(
        "open_mirroring", root, "{type: open_mirroring, local_path: onelake, mirror_name: shop, "
                                "folder_deletion_wait_seconds: 0}",
        {"folders": [str(root / "onelake")], "storage": True,
         "calls": _calls("call:ingest_assets.stores.open_mirroring.store:OpenMirroringStore.complete:before")},
        read=read, staged=staged, preload=["ingest_assets.stores.open_mirroring.store"],
        publishing=lambda: (zone / "_scratchPad/ingest_assets/orders.journal.json").exists(),
    )


def _adls(root: Path, request: pytest.FixtureRequest) -> Destination:
    from ingest_assets.storage.azure import open_azure_storage

    azurite = request.getfixturevalue("azurite")
    container = azurite.create_container("faults")
    request.addfinalizer(lambda: azurite.delete_container(container))
    storage = open_azure_storage(azurite.location(container))

    def data_files() -> list[str]:
        return [entry.name for entry in storage.list(ADLS_FOLDER)]

    def read() -> pa.Table | None:
        names = [name for name in data_files() if name.endswith(".parquet") and not name.startswith("_")]
        if not names:
            return None
        return pa.concat_tables([pq.read_table(io.BytesIO(storage.read_bytes(f"{ADLS_FOLDER}/{name}")))
                                 for name in names], promote_options="default")

    return Destination(
        "adls", root,
        f"{{type: adls, account_url: '{azurite.account_url}', filesystem: {container}, api: blob, "
        f"account_key: '${{FAULTS_AZURITE_KEY}}', base_path: raw}}",
        {"storage": True, "calls": _calls()},
        read=read,
        staged=lambda: [name for name in data_files() if name.startswith("_") and name != RECORD_FILE],
        preload=["ingest_assets.stores.adls", "azure.storage.blob"],
        env={"FAULTS_AZURITE_KEY": azurite.account_key},
        incremental="append",  # files in a folder: appended or replaced, never updated (the source only inserts)
        publishing=lambda: storage.exists(f"{ADLS_FOLDER}/_ingest_journal.json"),
    )


def normalized(table: pa.Table | None) -> list[tuple[object, ...]]:
    """The table's rows as comparable tuples, in key order: ints, text, amounts to the cent, times to
    the second (stores type them differently: decimal or float, timestamp or ISO text)."""
    if table is None:
        return []
    rows = [(int(row["id"]), row["customer"], None if row["amount"] is None else f"{float(row['amount']):.2f}",
             _time_text(row["updated_at"])) for row in table.select(list(COLUMNS)).to_pylist()]
    return sorted(rows, key=lambda row: row[0])


def _time_text(value: object) -> str:
    text = value.isoformat(sep=" ") if hasattr(value, "isoformat") else str(value)
    return text.replace("T", " ")[:19]
