"""The one place that maps a connection `type` to its resource, home and store.

Homes and stores are named by import path and imported only when a run needs them, so loading
definitions imports no database driver. Capabilities are data here, not `if type == ...` elsewhere.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import dagster as dg
from pydantic import BaseModel

from ingest_assets.connectors import database_resources
from ingest_assets.connectors import file_resources as resources
from ingest_assets.connectors import storage_resources as storage_resource
from ingest_assets.config.models import Connection

if TYPE_CHECKING:
    from ingest_assets.homes.base import Home
    from ingest_assets.stores.base import Store

ReadKindName = Literal["table", "query", "path"]
WriteKindName = Literal["table", "path"]


@dataclass(frozen=True)
class ConnectorType:
    name: str
    make_resource: Callable[[Connection, Path], dg.ConfigurableResource]
    home: str | None  # "module:factory" taking the resource, or None when it cannot be read
    store: str | None  # "module:factory" taking the resource, or None when it cannot be written
    read_kinds: frozenset[ReadKindName]
    write_kind: WriteKindName | None
    parallel_reads: bool = False  # can split a read into key ranges over several connections
    write_strategies: frozenset[str] = frozenset({"append", "replace", "upsert", "merge"})
    partitioned_writes: bool = True  # can replace one partition's rows
    counts_table: bool = True  # can count and measure its table after a commit (row count, key checks)
    # Publishes in a step of its own after extraction (Open Mirroring: it may wait minutes for Fabric
    # to drop a table, and must not hold an extraction slot meanwhile).
    publish_step: bool = False
    store_settings: frozenset[str] = frozenset()  # entity `store:` settings only this store reads
    # Its committed tables can be read back (`read_back`, see stores/read_back.py): derived assets
    # read their inputs this way.
    reads_back: bool = False
    # A plugin's connection settings model (see `ingest_assets.plugins`); built-in types leave it None,
    # their models are the members of `config.models.Connection`.
    model: type[BaseModel] | None = None


def _folder(connection, root: Path) -> dg.ConfigurableResource:
    return resources.FolderResource(path=connection.path, project_root=str(root))


def _csv(connection, root: Path) -> dg.ConfigurableResource:
    return resources.CsvFolderResource(
        path=connection.path, project_root=str(root), delimiter=connection.delimiter, header=connection.header
    )


def _duckdb(connection, root: Path) -> dg.ConfigurableResource:
    return resources.DuckDBFileResource(path=connection.path, project_root=str(root))


def _sqlite(connection, root: Path) -> dg.ConfigurableResource:
    return resources.SqliteFileResource(path=connection.path, project_root=str(root))


def _sqlalchemy(connection, root: Path) -> dg.ConfigurableResource:
    return database_resources.SqlAlchemyResource(url=connection.url, pool_size=connection.pool_size)


def _server_fields(connection) -> dict[str, object]:
    return {name: getattr(connection, name)
            for name in ("url", "host", "port", "database", "user", "password", "pool_size")}


def _postgres(connection, root: Path) -> dg.ConfigurableResource:
    return database_resources.PostgresResource(
        **_server_fields(connection), sslmode=connection.sslmode, engine_name=connection.engine,
        parameters=connection.parameters,
    )


def _mssql(connection, root: Path) -> dg.ConfigurableResource:
    return database_resources.MssqlResource(
        **_server_fields(connection), driver=connection.driver, authentication=connection.authentication,
        tenant_id=connection.tenant_id, client_id=connection.client_id, client_secret=connection.client_secret,
        encrypt=connection.encrypt, trust_server_certificate=connection.trust_server_certificate,
        login_timeout_seconds=connection.login_timeout_seconds, odbc=connection.odbc,
    )


def _mysql(connection, root: Path) -> dg.ConfigurableResource:
    return database_resources.MysqlResource(**_server_fields(connection))


_STORAGE_FIELDS = ("local_path", "account_url", "filesystem", "account_key", "sas_token", "connection_string",
                   "tenant_id", "client_id", "client_secret")


def _storage_fields(connection, root: Path) -> dict[str, object]:
    return {**{name: getattr(connection, name) for name in _STORAGE_FIELDS}, "project_root": str(root),
            "api": connection.storage_api, "credential": connection.credential_kind}


def _adls(connection, root: Path) -> dg.ConfigurableResource:
    return storage_resource.AdlsResource(**_storage_fields(connection, root), base_path=connection.base_path)


def _open_mirroring(connection, root: Path) -> dg.ConfigurableResource:
    return storage_resource.OpenMirroringResource(
        **_storage_fields(connection, root), mirror_name=connection.mirror_name, schema_name=connection.schema_name,
        key_columns=connection.key_columns, folder_deletion_wait_seconds=connection.folder_deletion_wait_seconds,
        partner_name=connection.partner_name, source_type=connection.source_type,
        source_version=connection.source_version,
    )


_SQL_READS: frozenset[ReadKindName] = frozenset({"table", "query"})
# Entity `store:` settings that only some store types read (each type lists its own in `store_settings`).
STORE_ONLY_SETTINGS = ("folder_deletion_wait_seconds", "schema_name", "row_marker_column")
_SQLALCHEMY_HOME = "ingest_assets.homes.sql:SqlAlchemyHome"
_SQL_STORE = "ingest_assets.stores.sql.store:SqlStore"


CONNECTOR_TYPES: dict[str, ConnectorType] = {
    connector.name: connector
    for connector in (
        ConnectorType("parquet", _folder, "ingest_assets.homes.files:parquet_home",
                      "ingest_assets.stores.parquet:ParquetStore", frozenset({"path"}), "path", reads_back=True),
        ConnectorType("csv", _csv, "ingest_assets.homes.files:csv_home", None, frozenset({"path"}), None),
        ConnectorType("duckdb", _duckdb, "ingest_assets.homes.duckdb:DuckDBHome",
                      "ingest_assets.stores.duckdb:DuckDBStore", frozenset({"table", "query"}), "table",
                      reads_back=True),
        ConnectorType("sqlite", _sqlite, _SQLALCHEMY_HOME, _SQL_STORE, _SQL_READS, "table", True, reads_back=True),
        ConnectorType("sqlalchemy", _sqlalchemy, _SQLALCHEMY_HOME, _SQL_STORE, _SQL_READS, "table", True,
                      reads_back=True),
        *(ConnectorType(name, _postgres, "ingest_assets.homes.postgres:postgres_home", _SQL_STORE, _SQL_READS,
                        "table", True, reads_back=True)
          for name in ("postgres", "postgresql")),
        *(ConnectorType(name, _mssql, _SQLALCHEMY_HOME, _SQL_STORE, _SQL_READS, "table", True, reads_back=True)
          for name in ("mssql", "sqlserver")),
        *(ConnectorType(name, _mysql, _SQLALCHEMY_HOME, _SQL_STORE, _SQL_READS, "table", True, reads_back=True)
          for name in ("mysql", "mariadb")),
        *(ConnectorType(name, _adls, None, "ingest_assets.stores.adls:AdlsStore", frozenset(), "path",
                        write_strategies=frozenset({"append", "replace"}), partitioned_writes=False,
                        counts_table=False)
          for name in ("adls", "onelake")),
        ConnectorType("open_mirroring", _open_mirroring, None, "ingest_assets.stores.open_mirroring.store:OpenMirroringStore",
                      frozenset(), "table", partitioned_writes=False, counts_table=False, publish_step=True,
                      store_settings=frozenset(STORE_ONLY_SETTINGS)),
    )
}


def connector_types() -> dict[str, ConnectorType]:
    """Every connection type: the built-in ones, then the installed plugins' (discovered once)."""
    from ingest_assets.connectors.plugins import plugin_connector_types

    return {**CONNECTOR_TYPES, **plugin_connector_types()}


def connector(type_name: str) -> ConnectorType:
    return connector_types()[type_name]


def home_types() -> list[str]:
    return sorted(name for name, c in connector_types().items() if c.home)


def store_types() -> list[str]:
    return sorted(name for name, c in connector_types().items() if c.store)


def readable_store_types() -> list[str]:
    return sorted(name for name, c in connector_types().items() if c.store and c.reads_back)


def _import(target: str):
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def open_home(type_name: str, resource: dg.ConfigurableResource) -> "Home":
    factory = connector(type_name).home
    assert factory is not None, f"{type_name} cannot be a home (validated when the project loads)"
    return _import(factory)(resource)


def open_store(type_name: str, resource: dg.ConfigurableResource) -> "Store":
    factory = connector(type_name).store
    assert factory is not None, f"{type_name} cannot be a store (validated when the project loads)"
    return _import(factory)(resource)
