"""Fixtures shared by the execution tests: small real projects in a temporary folder."""

from __future__ import annotations

import sqlite3
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest_assets.defs.factory import build_definitions

REPOSITORY = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--faults", choices=["short", "long"], default="short",
                     help="kill points per store in the fault suite: short 20, long 60")


def yaml_text(text: str) -> str:
    """Dedented YAML whose line 1 is the first line after the opening quotes."""
    return textwrap.dedent(text).lstrip("\n")


def write_files(root: Path, files: dict[str, str]) -> None:
    """Write `relative path -> YAML text` files (see `yaml_text`)."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml_text(text), encoding="utf-8")


def write_project(root: Path, files: dict[str, str]) -> Path:
    """Write a project's files; returns its flows folder."""
    write_files(root, files)
    return root / "flows"


@dataclass
class Project:
    root: Path
    instance: dg.DagsterInstance

    @property
    def flows(self) -> Path:
        return self.root / "flows"

    def write(self, files: dict[str, str]) -> None:
        write_files(self.root, files)

    def definitions(self) -> dg.Definitions:
        return build_definitions(self.flows)

    def materialize(
        self,
        selection: str,
        *,
        partition_key: str | None = None,
        run_config: dict | None = None,
        raise_on_error: bool = True,
        tags: dict[str, str] | None = None,
    ) -> dg.ExecuteInProcessResult:
        defs = self.definitions()
        assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
        return dg.materialize(
            assets,
            selection=selection,
            resources=defs.resources,
            instance=self.instance,
            partition_key=partition_key,
            run_config=run_config,
            raise_on_error=raise_on_error,
            tags=tags,
        )

    def run_config(self, key: str, overrides: dict[str, object]) -> dict[str, object]:
        """Run config giving `overrides` to the step that loads `key` (its own, or one it shares)."""
        step = self.definitions().get_assets_def(dg.AssetKey(key.split("/"))).node_def.name
        return {"ops": {step: {"config": overrides}}}

    def latest_metadata(self, key: str) -> dict[str, object]:
        event = self.instance.get_latest_materialization_event(dg.AssetKey(key.split("/")))
        assert event is not None and event.asset_materialization is not None
        return {k: v.value for k, v in event.asset_materialization.metadata.items()}

    def materialization_count(self, key: str) -> int:
        return len(self.instance.fetch_materializations(dg.AssetKey(key.split("/")), limit=1000).records)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    (tmp_path / ".dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / ".dagster")) as instance:
        yield Project(tmp_path, instance)


# ---- source data --------------------------------------------------------------------------------

BASE_TIME = datetime(2026, 3, 1, 8, 0, 0)


def create_orders_db(path: Path, count: int, start_id: int = 1) -> None:
    """An SQLite `orders` table: id, customer, amount, updated_at (one minute apart)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, "
            "amount NUMERIC(10, 2), updated_at DATETIME NOT NULL)"
        )
        insert_orders(connection, range(start_id, start_id + count))


def insert_orders(connection: sqlite3.Connection, ids, minute_offset: int = 0) -> None:
    connection.executemany(
        "INSERT INTO orders VALUES (?, ?, ?, ?)",
        [(i, f"customer-{i % 7}", round(i * 1.25, 2),
          (BASE_TIME + timedelta(minutes=i + minute_offset)).isoformat(" ")) for i in ids],
    )


def sqlite_rows(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as connection:
        return connection.execute(sql).fetchall()


def write_events_parquet(path: Path, day: datetime, count: int, first_id: int) -> None:
    """Events spread evenly over one day."""
    path.parent.mkdir(parents=True, exist_ok=True)
    step = 86_400 // count
    table = pa.table({
        "event_id": pa.array(range(first_id, first_id + count), pa.int64()),
        "kind": [("view", "click", "buy")[i % 3] for i in range(count)],
        "happened_at": pa.array([day + timedelta(seconds=i * step) for i in range(count)], pa.timestamp("us")),
    })
    pq.write_table(table, path)


def read_parquet_table(folder: Path) -> pa.Table:
    """What a reader sees in a Parquet store's table folder."""
    import duckdb

    return duckdb.connect().sql(f"SELECT * FROM read_parquet('{folder}/*.parquet')").to_arrow_table()


def duckdb_rows(database: Path, sql: str) -> list[tuple]:
    import duckdb

    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.sql(sql).fetchall()


ProjectFactory = Callable[..., Project]


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory):
    """One real PostgreSQL server for the session; tests create their own databases in it."""
    from ingest_assets_tests.servers.postgres import postgres_server as start

    with start(tmp_path_factory.mktemp("postgres")) as server:
        yield server


@pytest.fixture
def pg_database(postgres_server, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database named after the test."""
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:50]
    return postgres_server.create_database(name)


@pytest.fixture(scope="session")
def mariadb():
    """One real MariaDB server for the session; tests create their own databases in it."""
    from ingest_assets_tests.servers.mariadb import mariadb_server

    with mariadb_server() as server:
        yield server


# ---- storage backends ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def azurite():
    """One Azurite (Blob endpoint) for the session; tests create their own containers in it."""
    from ingest_assets_tests.servers.azurite import azurite_server

    with azurite_server() as server:
        yield server


@pytest.fixture(scope="session")
def dfs_server():
    """One ADLS Gen2 (DFS) test server for the session; tests create their own file systems in it."""
    from ingest_assets_tests.servers.dfs_server import dfs_server as start

    with start() as server:
        yield server


@pytest.fixture(params=["local", "blob", "dfs"])
def storage_backend(request: pytest.FixtureRequest, tmp_path: Path):
    """`(storage, label)` for each backend, empty: a fresh folder, Azurite container or DFS file system.

    `label` is the backend's name ("local", "blob" or "dfs"). The servers start only when a test
    first needs them, so a run of the local cases alone never starts Azurite.
    """
    label = request.param
    if label == "local":
        from ingest_assets.storage.local import LocalStorage

        (tmp_path / "storage").mkdir()
        yield LocalStorage(tmp_path / "storage"), label
        return
    from ingest_assets.storage.azure import open_azure_storage

    if label == "blob":
        server = request.getfixturevalue("azurite")
        container = server.create_container()
        yield open_azure_storage(server.location(container)), label
        server.delete_container(container)  # Azurite keeps blobs in memory for the whole session
    else:
        server = request.getfixturevalue("dfs_server")
        filesystem = server.create_filesystem()
        yield open_azure_storage(server.location(filesystem)), label
        server.delete_filesystem(filesystem)
