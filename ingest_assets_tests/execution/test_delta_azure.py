"""The Delta store in Azure storage, on Azurite through delta-rs' own object store (Blob API, the
emulator's endpoint): every write strategy compared row by row with what was loaded, a YAML project
materialized through Dagster and read back by Polars, `ingest check` reaching the account, and the
options delta-rs gets for each kind of sign-in and for OneLake.

Azurite (3.35) takes a table's first two commits and refuses every later one (delta-rs 1.6 reads
its log listing wrongly: `Invalid table version`), so each test here commits at most twice; the
README says so."""

from __future__ import annotations

import sqlite3

import polars as pl
import pytest
from deltalake import DeltaTable

from ingest_assets.cli.main import main
from ingest_assets.connectors.delta import DeltaResource
from ingest_assets.storage.azure import AzureLocation
from ingest_assets.storage.delta_object_store import storage_options, table_uri
from ingest_assets.stores.base import WriteMode
from ingest_assets.stores.delta import DeltaStore
from ingest_assets.stores.delta_location import DeltaTableLocation
from ingest_assets_tests.conftest import Project, create_orders_db, insert_orders
from ingest_assets_tests.execution.test_delta_store import SPEC, Delta
from ingest_assets_tests.execution.test_stores import BASE, STRATEGIES, counts


def azure_resource(azurite, container: str, base_path: str = "") -> DeltaResource:  # type: ignore[no-untyped-def]
    """A delta connection's resource on `container`, signed in with Azurite's account key."""
    return DeltaResource(account_url=azurite.account_url, filesystem=container, api="blob",
                         credential="account_key", account_key=azurite.account_key, base_path=base_path)


def azure_connection(azurite, name: str, container: str) -> str:  # type: ignore[no-untyped-def]
    """The same connection in ingest.yml, its key a `${LAKE_KEY}` reference, below `Tables`."""
    return f"""
              {name}:
                type: delta
                account_url: {azurite.account_url}
                api: blob
                filesystem: {container}
                account_key: ${{LAKE_KEY}}
                base_path: Tables"""


class AzureDelta(Delta):
    """The `Delta` helper's loads and reads, on a table in an Azurite container."""

    def __init__(self, azurite, container: str):  # type: ignore[no-untyped-def]
        resource = azure_resource(azurite, container, "lake")
        self.store = DeltaStore(resource)
        location = resource.location()
        self.uri = table_uri(location, "lake/shop/t")
        self.options = storage_options(location)

    def table(self) -> DeltaTable:
        return DeltaTable(self.uri, storage_options=self.options)


@pytest.fixture
def container(azurite):  # type: ignore[no-untyped-def]
    name = azurite.create_container("delta")
    yield name
    azurite.delete_container(name)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_write_strategy_on_azure_storage_leaves_the_rows_it_should(azurite, container: str, strategy: str):
    delta = AzureDelta(azurite, container)
    mode, loaded, expected, expected_counts = STRATEGIES[strategy]
    delta.load(WriteMode("append"), BASE)

    result = delta.load(mode, loaded)

    assert delta.rows() == expected
    assert counts(result) == expected_counts
    assert delta.version() == result.details["ingest/delta_version"] == 1
    assert result.location == f"abfss://{container}@devstoreaccount1.dfs.core.windows.net/lake/shop/t"
    assert azurite.account_key not in repr(result)  # the key signs requests; it is in no metadata


def test_a_project_writes_a_delta_table_into_azure_storage_and_check_reaches_it(
        azurite, container: str, project: Project, monkeypatch: pytest.MonkeyPatch, capsys):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LAKE_KEY", azurite.account_key)
    project.write({
        "flows/ingest.yml": f"""
            connections:
              shop: {{type: sqlite, path: source/shop.sqlite}}{azure_connection(azurite, "lake", container)}
            """,
        "flows/sales/flow.yml": "home: shop\nstore: lake\n",
        "flows/sales/entities/orders.yml": "home: {table: orders}\nkeys: [id]\nwrite_strategy: upsert\n",
    })
    create_orders_db(project.root / "source/shop.sqlite", 40)

    assert main(["check", "--flows-dir", str(project.flows)]) == 0
    out = capsys.readouterr().out
    assert f"  ok    can list {azurite.account_url}/{container}/Tables" in out.splitlines()
    assert f"  ok    can write and delete files in {azurite.account_url}/{container}" in out.splitlines()

    project.materialize("sales/orders")
    metadata = project.latest_metadata("sales/orders")
    uri = f"abfss://{container}@devstoreaccount1.dfs.core.windows.net/Tables/sales/orders"
    assert metadata["ingest/destination"] == uri
    assert metadata["ingest/delta_version"] == 0
    assert azurite.account_key not in str(metadata)

    # The second load upserts through MERGE: new rows added, a changed one updated.
    with sqlite3.connect(project.root / "source/shop.sqlite") as connection:
        insert_orders(connection, range(41, 51))
        connection.execute("UPDATE orders SET amount = amount + 1000 WHERE id = 7")
    project.materialize("sales/orders")
    metadata = project.latest_metadata("sales/orders")
    assert (metadata["ingest/delta_version"], metadata["ingest/delta_operation"]) == (1, "MERGE")

    options = {"account_name": "devstoreaccount1", "account_key": azurite.account_key,
               "azure_storage_endpoint": azurite.account_url, "allow_http": "true"}
    lake = pl.read_delta(uri, storage_options=options).sort("id")
    with sqlite3.connect(project.root / "source/shop.sqlite") as connection:
        source = connection.execute("SELECT id, amount FROM orders ORDER BY id").fetchall()
    assert len(source) == 50
    assert list(zip(lake["id"].to_list(), lake["amount"].to_list(), strict=True)) == source


# ---- what delta-rs is given, per sign-in (no server needed) ---------------------------------------


def _location(**settings: str) -> AzureLocation:
    values = {"account_url": "https://acme.dfs.core.windows.net", "filesystem": "raw", "api": "dfs",
              "credential": "account_key", "account_key": "k"}
    return AzureLocation(**{**values, **settings})  # type: ignore[arg-type]


def test_adls_gen2_addresses_the_account_by_name_with_each_sign_in():
    assert table_uri(_location(), "/base/orders/") == "abfss://raw@acme.dfs.core.windows.net/base/orders"
    assert storage_options(_location()) == {"account_name": "acme", "account_key": "k"}
    assert storage_options(_location(credential="sas", sas_token="?sv=1&sig=x")) == {
        "account_name": "acme", "sas_key": "sv=1&sig=x"}
    assert storage_options(_location(credential="service_principal", tenant_id="t", client_id="c",
                                     client_secret="s")) == {
        "account_name": "acme", "tenant_id": "t", "client_id": "c", "client_secret": "s"}
    assert storage_options(_location(credential="azure_cli")) == {"account_name": "acme", "use_azure_cli": "true"}
    assert storage_options(_location(credential="managed_identity", client_id="mi")) == {
        "account_name": "acme", "client_id": "mi"}
    blob = _location(account_url="https://acme.blob.core.windows.net")
    assert table_uri(blob, "t") == "abfss://raw@acme.dfs.core.windows.net/t"


def test_a_onelake_lakehouse_table_is_under_tables_with_the_fabric_endpoint():
    onelake = _location(account_url="https://onelake.dfs.fabric.microsoft.com", filesystem="Sales",
                        credential="service_principal", tenant_id="t", client_id="c", client_secret="s")
    assert table_uri(onelake, "Shop.Lakehouse/Tables/dbo/orders") == (
        "abfss://Sales@onelake.dfs.fabric.microsoft.com/Shop.Lakehouse/Tables/dbo/orders")
    assert storage_options(onelake)["use_fabric_endpoint"] == "true"


def test_a_connection_string_gives_the_account_its_key_and_endpoint():
    location = _location(account_url=None, credential="connection_string", account_key=None,  # type: ignore[arg-type]
                         connection_string="DefaultEndpointsProtocol=http;AccountName=dev;AccountKey=abc;"
                                           "BlobEndpoint=http://127.0.0.1:10000/dev;")
    assert storage_options(location) == {"account_name": "dev", "azure_storage_endpoint": "http://127.0.0.1:10000/dev",
                                         "allow_http": "true", "account_key": "abc"}
    assert table_uri(location, "t") == "abfss://raw@dev.dfs.core.windows.net/t"


def test_the_delta_home_reads_a_table_in_azure_storage_incrementally(
        azurite, container: str, project: Project, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from deltalake import write_deltalake

    from ingest_assets_tests.execution.test_delta_home import lake_rows, orders

    monkeypatch.setenv("LAKE_KEY", azurite.account_key)
    location = DeltaTableLocation(azure_resource(azurite, container, "Tables"), "sales/orders")
    write_deltalake(location.uri, orders(range(1, 11)), storage_options=location.options)
    project.write({
        "flows/ingest.yml": f"""
            connections:{azure_connection(azurite, "lakehouse", container)}
              lake: {{type: parquet, path: lake}}
            """,
        "flows/sales/flow.yml": "home: lakehouse\nstore: lake\nrun_type: incremental\n",
        "flows/sales/entities/orders.yml": "home: {path: sales/orders}\nkeys: [id]\nwatermark: updated_at\n",
    })
    project.materialize("sales/orders")
    assert [row["id"] for row in lake_rows(project)] == list(range(1, 11))

    write_deltalake(location.uri, orders(range(11, 15)), mode="append", storage_options=location.options)
    project.materialize("sales/orders")
    assert project.latest_metadata("sales/orders")["ingest/rows_read"] == 4
    assert [row["id"] for row in lake_rows(project)] == list(range(1, 15))


def test_a_missing_table_in_azure_storage_names_where_it_was_looked_for(azurite, container: str):
    from ingest_assets.errors import DeltaTableUnreadable
    from ingest_assets.homes.delta import delta_home
    from ingest_assets.plan.model import ReadSpec

    resource = azure_resource(azurite, container)
    with pytest.raises(DeltaTableUnreadable, match=f"abfss://{container}@devstoreaccount1.dfs.core.windows.net/"
                                                   "nowhere is not a Delta table"):
        delta_home(resource).max_value(ReadSpec(path="nowhere"), "id")


def test_nothing_staged_for_azure_is_left_on_the_local_disk(azurite, container: str):
    delta = AzureDelta(azurite, container)
    delta.load(WriteMode("append"), BASE)
    staging = DeltaTableLocation(delta.store._resource, SPEC.path or "").staging
    assert not any(staging.glob("**/*.parquet"))
    assert delta.rows() == BASE


def test_a_connection_string_without_a_key_names_what_is_missing():
    from ingest_assets.errors import DeltaSignInUnsupported

    location = _location(account_url=None, credential="connection_string", account_key=None,  # type: ignore[arg-type]
                         connection_string="AccountName=dev;SharedAccessSignature=sv=1&sig=secret")
    with pytest.raises(DeltaSignInUnsupported, match="has no AccountKey -> give AccountKey=") as raised:
        storage_options(location)
    assert "secret" not in str(raised.value)
