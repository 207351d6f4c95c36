"""SQL Server as a home: what can be proven without a SQL Server, and a live test for when one exists.

No SQL Server (nor anything that speaks TDS as a server) can run here, so:

- every statement `SqlAlchemyHome` sends to SQL Server is compiled by SQLAlchemy's real `mssql+pyodbc`
  dialect and its exact T-SQL text and bound parameters are asserted;
- the ODBC connection string (ODBC Driver 18 and FreeTDS), secrets resolved only at run time, and the
  Azure AD token handed to the driver are checked on the real resource and engine;
- failures run against the real FreeTDS ODBC driver (Debian `tdsodbc`, see `.ci/system-packages`):
  a closed port, a server that never answers the login, a driver that is not installed, and an
  entity materialized through Dagster that must fail without writing anything;
- the pyodbc cursor code itself runs for real over MariaDB's ODBC driver in `test_mariadb.py`
  (`mssql+pyodbc` and `mysql+pyodbc` share SQLAlchemy's `PyODBCConnector`).

Live tests, skipped unless `INGEST_TEST_MSSQL_URL` is set to an ODBC connection string of a database
the tests may create and drop tables in, e.g. `DRIVER={ODBC Driver 18 for SQL Server};
SERVER=localhost,1433;DATABASE=ingest_test;UID=sa;PWD=...;TrustServerCertificate=yes` (one line)
(it reaches the connection as the reference `url: ${INGEST_TEST_MSSQL_URL}`, never as YAML text).
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal

import dagster as dg
import pyarrow.parquet as pq
import pydantic
import pyodbc
import pytest
import sqlalchemy as sa
from azure.core.credentials import AccessToken
from sqlalchemy.dialects import mssql

from ingest_assets.connectors import azure_auth
from ingest_assets.connectors.mssql import MssqlConnection, MssqlResource
from ingest_assets.errors import MissingEnvironmentVariable, TerminalError, TransientError
from ingest_assets.homes.base import ReadRequest
from ingest_assets.homes.read_query import split_range
from ingest_assets.homes.sql import SqlAlchemyHome
from ingest_assets.plan.model import ReadSpec
from ingest_assets.plan.window import KeyBucket, RowFilter
from ingest_assets_tests.conftest import Project, read_parquet_table

LIVE_URL = os.environ.get("INGEST_TEST_MSSQL_URL")

# Column types as SQLAlchemy reflects them from SQL Server's catalog.
TYPES: dict[str, sa.types.TypeEngine] = {
    "id": mssql.INTEGER(),
    "customer name": mssql.NVARCHAR(100),
    "odd]name": mssql.NVARCHAR(20),
    "created": mssql.DATETIME(),
    "booked": mssql.SMALLDATETIME(),
    "changed": mssql.DATETIME2(7),
    "day": mssql.DATE(),
    "code": mssql.VARCHAR(10),
}
ORDERS = ReadSpec(table="sales.orders")
AT_003 = datetime(2026, 3, 1, 8, 0, 0, 3000)
AT_007 = datetime(2026, 3, 1, 9, 30, 0, 7000)


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch) -> SqlAlchemyHome:
    """A SQL Server home; creating its engine does not connect."""
    monkeypatch.setenv("MSSQL_PASSWORD", "not-used")
    return SqlAlchemyHome(MssqlResource(host="sql.example.com", database="shop", user="loader",
                                        password="${MSSQL_PASSWORD}"))


def tsql(home: SqlAlchemyHome, spec: ReadSpec, conditions=(), select: str | None = None,
         types=TYPES) -> tuple[str, list[tuple[object, str]]]:
    """The statement as the dialect renders it for pyodbc, and its parameters in order with their types."""
    compiled = home._query(spec, list(conditions), types, select).compile(dialect=home.engine.dialect)
    return str(compiled), [(compiled.params[name], repr(compiled.binds[name].type)) for name in compiled.positiontup]


# ---- (a) the T-SQL the home sends -------------------------------------------------------------


def test_table_read_quotes_identifiers_and_types_the_result_columns(home: SqlAlchemyHome):
    spec = ReadSpec(table="sales.Order Lines", columns=("id", "customer name", "odd]name", "created"))

    assert tsql(home, spec) == (
        "SELECT id, [customer name], [odd]]name], created FROM sales.[Order Lines]", [])
    query = home._query(spec, [], TYPES)
    assert [(c.name, repr(c.type)) for c in query.selected_columns] == [
        ("id", "INTEGER()"), ("customer name", "NVARCHAR(length=100)"), ("odd]name", "NVARCHAR(length=20)"),
        ("created", "DATETIME()")]


@pytest.mark.parametrize(("column", "lower", "upper", "where", "bound_type"), [
    # Legacy datetime ticks are 1/300 s: the cursor is cast to the column's type so `>` is exact.
    ("created", AT_003, AT_007, "(created > CAST(? AS DATETIME) AND created <= CAST(? AS DATETIME))", "DATETIME()"),
    ("booked", AT_003, AT_007, "(booked > CAST(? AS SMALLDATETIME) AND booked <= CAST(? AS SMALLDATETIME))",
     "SMALLDATETIME()"),
    ("changed", AT_003, AT_007, "(changed > ? AND changed <= ?)", "DATETIME2(precision=7)"),
    ("day", date(2026, 3, 1), date(2026, 3, 31), "(day > ? AND day <= ?)", "DATE()"),
    ("id", 1000, 2000, "(id > ? AND id <= ?)", "INTEGER()"),
    ("customer name", "Adams", "Zoë", "([customer name] > ? AND [customer name] <= ?)", "NVARCHAR(length=100)"),
])
def test_incremental_window_is_lower_exclusive_upper_inclusive(home, column, lower, upper, where, bound_type):
    assert tsql(home, ORDERS, [RowFilter.past(column, lower, upper)]) == (
        f"SELECT * FROM sales.orders WHERE {where}", [(lower, bound_type), (upper, bound_type)])


def test_text_values_bind_as_the_column_s_own_string_type(home: SqlAlchemyHome):
    """NVARCHAR as SQL_WVARCHAR and VARCHAR as SQL_VARCHAR: a mismatch makes SQL Server convert the
    column, row by row, and scan instead of seek."""
    compiled = home._query(ORDERS, [RowFilter("customer name", lower="Zoë"), RowFilter("code", lower="A-1")],
                           TYPES).compile(dialect=home.engine.dialect)

    bound = [compiled.binds[name].type.dialect_impl(home.engine.dialect).get_dbapi_type(pyodbc)
             for name in compiled.positiontup]
    assert bound == [pyodbc.SQL_WVARCHAR, pyodbc.SQL_VARCHAR]


def test_full_load_keeps_rows_whose_watermark_is_null(home: SqlAlchemyHome):
    window = RowFilter.closed("created", None, AT_007, include_nulls=True)

    assert tsql(home, ORDERS, [window]) == (
        "SELECT * FROM sales.orders WHERE ((created <= CAST(? AS DATETIME)) OR created IS NULL)",
        [(AT_007, "DATETIME()")])


def test_a_first_load_from_start_includes_the_start(home: SqlAlchemyHome):
    window = RowFilter.closed("changed", AT_003, AT_007)

    assert tsql(home, ORDERS, [window])[0] == "SELECT * FROM sales.orders WHERE (changed >= ? AND changed <= ?)"


QUERY = "SELECT o.id, o.created, c.name FROM sales.orders AS o JOIN sales.customers AS c ON c.id = o.customer_id"
# What SQL Server describes for a query: only the legacy datetime columns matter (see sql_types).
QUERY_TYPES = {"created": mssql.DATETIME()}


def test_a_query_is_wrapped_and_filtered_outside(home: SqlAlchemyHome):
    spec = ReadSpec(query=QUERY, columns=("id", "created"))

    assert tsql(home, spec, [RowFilter.past("created", AT_003, AT_007)], types=QUERY_TYPES) == (
        f"SELECT id, created FROM ({QUERY}) AS ingest_source "
        "WHERE (created > CAST(? AS DATETIME) AND created <= CAST(? AS DATETIME))",
        [(AT_003, "DATETIME()"), (AT_007, "DATETIME()")])


def test_query_filter_placeholder_takes_the_conditions_where_the_author_put_it(home: SqlAlchemyHome):
    query = "SELECT id, created FROM sales.orders WITH (NOLOCK) WHERE {query_filter} AND status = N'open'"

    filtered = tsql(home, ReadSpec(query=query), [RowFilter.past("created", AT_003, AT_007)],
                    types=QUERY_TYPES)
    unfiltered = tsql(home, ReadSpec(query=query), [], types=QUERY_TYPES)

    assert filtered == (
        "SELECT id, created FROM sales.orders WITH (NOLOCK) WHERE "
        "(created > CAST(? AS DATETIME) AND created <= CAST(? AS DATETIME)) AND status = N'open'",
        [(AT_003, "DATETIME()"), (AT_007, "DATETIME()")])
    assert unfiltered == ("SELECT id, created FROM sales.orders WITH (NOLOCK) WHERE 1=1 AND status = N'open'", [])


def test_key_bucket_of_a_dagster_key_partition(home: SqlAlchemyHome):
    assert tsql(home, ORDERS, [KeyBucket("id", 4, 3)]) == (
        "SELECT * FROM sales.orders WHERE (((id % ?) + ?) % ?) = ?",
        [(4, "INTEGER()"), (4, "INTEGER()"), (4, "INTEGER()"), (3, "INTEGER()")])


def test_parallel_ranges_within_an_incremental_window(home: SqlAlchemyHome):
    window = RowFilter.past("created", AT_003, AT_007)
    ranges = split_range(1, 1000, 3, "id")

    statements = [tsql(home, ORDERS, [window, key_range]) for key_range in ranges]

    where = "SELECT * FROM sales.orders WHERE (created > CAST(? AS DATETIME) AND created <= CAST(? AS DATETIME)) AND "
    window_values = [(AT_003, "DATETIME()"), (AT_007, "DATETIME()")]
    assert statements == [
        (where + "(id >= ? AND id < ?)", [*window_values, (1, "INTEGER()"), (334, "INTEGER()")]),
        (where + "(id >= ? AND id < ?)", [*window_values, (334, "INTEGER()"), (667, "INTEGER()")]),
        (where + "(id >= ? AND id <= ?)", [*window_values, (667, "INTEGER()"), (1000, "INTEGER()")]),
        (where + "id IS NULL", window_values),  # nulls on their own: an OR would defeat the key's index
    ]


def test_max_and_min_max_statements(home: SqlAlchemyHome):
    """The select lists `max_value` and the parallel split pass (their MySQL text is asserted on a real
    server in test_mariadb.py)."""
    quote = home.engine.dialect.identifier_preparer.quote
    window = RowFilter.past("created", AT_003, AT_007)

    assert tsql(home, ORDERS, [], f"max({quote('created')})") == ("SELECT max(created) FROM sales.orders", [])
    assert tsql(home, ReadSpec(query=QUERY), [], f"max({quote('created')})", QUERY_TYPES) == (
        f"SELECT max(created) FROM ({QUERY}) AS ingest_source", [])
    assert tsql(home, ORDERS, [window], f"min({quote('odd]name')}), max({quote('odd]name')})") == (
        "SELECT min([odd]]name]), max([odd]]name]) FROM sales.orders "
        "WHERE (created > CAST(? AS DATETIME) AND created <= CAST(? AS DATETIME))",
        [(AT_003, "DATETIME()"), (AT_007, "DATETIME()")])


class CatalogStandIn:
    """Stands in for a SQL Server connection, which cannot run here: it compiles what the home sends
    with the real mssql dialect, records it, and answers with the rows SQL Server's
    sys.dm_exec_describe_first_result_set gives for the query below."""

    def __init__(self, dialect: sa.Dialect, rows: list[tuple[str, str]]):
        self.dialect = dialect
        self.rows = rows
        self.executed: list[tuple[str, dict, list[int]]] = []

    def execute(self, statement: sa.TextClause, parameters: dict) -> list[tuple[str, str]]:
        compiled = statement.compile(dialect=self.dialect)
        bound = [compiled.binds[name].type.dialect_impl(self.dialect).get_dbapi_type(pyodbc)
                 for name in compiled.positiontup]
        self.executed.append((str(compiled), parameters, bound))
        return self.rows


def test_describe_statement_finds_the_legacy_datetime_columns_of_a_query(home: SqlAlchemyHome):
    query = "SELECT id, created, booked, changed FROM sales.orders WHERE {query_filter} AND note = N'café'"
    catalog = CatalogStandIn(home.engine.dialect, [("id", "int"), ("created", "datetime"),
                                                   ("booked", "smalldatetime"), ("changed", "datetime2(7)")])

    types = home._column_types(catalog, ReadSpec(query=query))

    assert catalog.executed == [(
        "SELECT name, system_type_name FROM sys.dm_exec_describe_first_result_set(?, NULL, 0)",
        {"tsql": "SELECT id, created, booked, changed FROM sales.orders WHERE 1=1 AND note = N'café'"},
        # No declared type, so no setinputsizes entry: pyodbc binds a Python str as SQL_WVARCHAR, so
        # the query text keeps characters outside the server's code page.
        [None],
    )]
    assert {name: repr(value) for name, value in types.items()} == {
        "created": "DATETIME()", "booked": "SMALLDATETIME()"}


# ---- (b) connection strings, secrets, Azure AD --------------------------------------------------


def test_odbc_driver_18_connection_string(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MSSQL_USER", "loader")
    monkeypatch.setenv("MSSQL_PASSWORD", "s3;cr}t=")
    resource = MssqlResource(host="sql.example.com", port=14330, database="shop", user="${MSSQL_USER}",
                             password="${MSSQL_PASSWORD}", odbc={"ApplicationIntent": "ReadOnly",
                                                                 "APP": "ingest {nightly}"})

    assert resource.odbc_connection_string() == (
        "DRIVER=ODBC Driver 18 for SQL Server;SERVER=sql.example.com,14330;Encrypt=yes;"
        "TrustServerCertificate=no;DATABASE=shop;UID=loader;PWD={s3;cr}}t=};ApplicationIntent=ReadOnly;"
        "APP={ingest {nightly}}}")


def test_odbc_driver_18_without_encryption_and_a_trusted_certificate():
    resource = MssqlResource(host="sql.internal", database="shop", user="loader", encrypt=False,
                             trust_server_certificate=True)

    assert resource.odbc_connection_string() == (
        "DRIVER=ODBC Driver 18 for SQL Server;SERVER=sql.internal,1433;Encrypt=no;"
        "TrustServerCertificate=yes;DATABASE=shop;UID=loader")


@pytest.mark.parametrize(("encrypt", "encryption"), [(True, "require"), (False, "request")])
def test_freetds_connection_string(monkeypatch: pytest.MonkeyPatch, encrypt: bool, encryption: str):
    monkeypatch.setenv("MSSQL_PASSWORD", " spaced ")
    resource = MssqlResource(driver="FreeTDS", host="sql.internal", port=1444, database="shop", user="loader",
                             password="${MSSQL_PASSWORD}", encrypt=encrypt, odbc={"ClientCharset": "UTF-8"})

    assert resource.odbc_connection_string() == (
        f"DRIVER=FreeTDS;SERVER=sql.internal;PORT=1444;TDS_Version=7.4;Encryption={encryption};"
        "DATABASE=shop;UID=loader;PWD={ spaced };ClientCharset=UTF-8")


def test_a_url_is_the_whole_connection_string_resolved_at_run_time(monkeypatch: pytest.MonkeyPatch):
    resource = MssqlResource(url="${MSSQL_ODBC}")
    with pytest.raises(MissingEnvironmentVariable, match="environment variable MSSQL_ODBC is not set"):
        resource.odbc_connection_string()

    monkeypatch.setenv("MSSQL_ODBC", "DSN=erp;UID=loader;PWD=x")
    assert resource.odbc_connection_string() == "DSN=erp;UID=loader;PWD=x"
    url = resource.sqlalchemy_url()
    assert (url.drivername, dict(url.query)) == ("mssql+pyodbc", {"odbc_connect": "DSN=erp;UID=loader;PWD=x"})


@pytest.mark.parametrize("setting", ["password", "client_secret"])
def test_a_secret_written_in_the_yaml_is_refused(setting: str):
    settings = {"type": "mssql", "host": "sql.internal", "database": "shop", "user": "loader",
                "authentication": "sql" if setting == "password" else "service_principal",
                "tenant_id": "t", "client_id": "c", "client_secret": "${SECRET}", setting: "hunter2"}

    with pytest.raises(pydantic.ValidationError,
                       match=f"'{setting}' is written in the YAML -> write it as a reference such as "
                             r"\$\{DB_PASSWORD\} and set that environment variable"):
        MssqlConnection.model_validate(settings)


def test_definitions_hold_references_and_the_secret_is_read_only_when_connecting(project: Project, monkeypatch):
    monkeypatch.delenv("ERP_PASSWORD", raising=False)
    project.write({
        "flows/ingest.yml": """
            connections:
              erp: {type: mssql, driver: FreeTDS, host: sql.internal, database: shop, user: loader,
                    password: "${ERP_PASSWORD}"}
              lake: {type: parquet, path: lake}
            """,
        "flows/erp/flow.yml": "home: erp\nstore: lake\nentities:\n  - name: orders\n    home: {table: dbo.orders}\n",
    })

    resource = project.definitions().resources["erp"]

    assert resource.password == "${ERP_PASSWORD}"
    with pytest.raises(MissingEnvironmentVariable, match="ERP_PASSWORD is not set"):
        resource.odbc_connection_string()
    monkeypatch.setenv("ERP_PASSWORD", "from-the-environment")
    assert resource.odbc_connection_string().endswith(";UID=loader;PWD=from-the-environment")


class TokenStandIn:
    """Stands in for an azure-identity credential: a real token needs Azure AD, unreachable offline."""

    def __init__(self, token: str = "eyJ0"):
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)


def test_token_is_packed_as_a_length_prefixed_utf16_string():
    source = TokenStandIn("eyJ0")

    packed = azure_auth.sql_server_token(source)

    assert packed == b"\x08\x00\x00\x00e\x00y\x00J\x000\x00"
    assert struct.unpack("<I", packed[:4])[0] == len(packed) - 4
    assert source.scopes == [("https://database.windows.net/.default",)]


def test_a_credential_that_cannot_get_a_token_is_a_terminal_error():
    class NoToken:
        def get_token(self, *scopes: str):
            raise RuntimeError("ManagedIdentityCredential: no managed identity endpoint found")

    with pytest.raises(TerminalError, match="could not get an Azure AD token for SQL Server: "
                                            "ManagedIdentityCredential: no managed identity endpoint found"):
        azure_auth.sql_server_token(NoToken())


@pytest.mark.parametrize(("method", "arguments", "credential_type"), [
    ("managed_identity", (None, "client-id", None), "ManagedIdentityCredential"),
    ("azure_cli", ("tenant", None, None), "AzureCliCredential"),
    ("service_principal", ("00000000-0000-0000-0000-000000000001", "client-id", "secret"), "ClientSecretCredential"),
    ("azure_default", (None, None, None), "DefaultAzureCredential"),
])
def test_each_authentication_method_makes_its_azure_identity_credential(method, arguments, credential_type):
    assert type(azure_auth.credential(method, *arguments)).__name__ == credential_type


def test_every_connection_gets_a_fresh_token_before_login(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SP_SECRET", "from-the-environment")
    source = TokenStandIn("eyJ0")
    asked: list[tuple] = []
    monkeypatch.setattr(azure_auth, "credential", lambda *arguments: asked.append(arguments) or source)
    resource = MssqlResource(host="127.0.0.1", port=1, database="shop", authentication="service_principal",
                             tenant_id="tenant", client_id="client", client_secret="${SP_SECRET}",
                             driver="ODBC Driver 99 for SQL Server", login_timeout_seconds=5)
    engine = resource.engine()
    handed_to_pyodbc: list[tuple[list, dict]] = []
    sa.event.listen(engine, "do_connect", lambda dialect, record, cargs, cparams: handed_to_pyodbc.append(
        (list(cargs), dict(cparams))))

    for _ in range(2):
        # pyodbc really connects with these arguments; the driver is not installed, so it fails there.
        with pytest.raises(sa.exc.DBAPIError, match="Can't open lib 'ODBC Driver 99 for SQL Server'"):
            engine.connect()

    assert asked == [("service_principal", "tenant", "client", "from-the-environment")]
    packed = azure_auth.sql_server_token(TokenStandIn("eyJ0"))
    assert handed_to_pyodbc == 2 * [(
        ["DRIVER=ODBC Driver 99 for SQL Server;SERVER=127.0.0.1,1;Encrypt=yes;TrustServerCertificate=no;"
         "DATABASE=shop"],
        {"timeout": 5, "attrs_before": {azure_auth.SQL_COPT_SS_ACCESS_TOKEN: packed}},
    )]
    assert len(source.scopes) == 2  # a token per connection: a long load outlives one


def test_freetds_with_azure_ad_is_refused():
    home = SqlAlchemyHome(MssqlResource(driver="FreeTDS", host="127.0.0.1", database="shop",
                                        authentication="managed_identity"))

    with pytest.raises(TerminalError, match="^managed_identity authentication needs Microsoft's ODBC driver, "
                                            "FreeTDS cannot pass an access token -> set driver: "
                                            "ODBC Driver 18 for SQL Server$"), home.read(ReadRequest(ORDERS)):
        pass


# ---- (c) failures through the real FreeTDS driver -----------------------------------------------


@pytest.fixture(scope="module")
def freetds() -> str:
    if "FreeTDS" not in pyodbc.drivers():
        pytest.fail(f"the FreeTDS ODBC driver is not registered (drivers: {pyodbc.drivers()}) -> "
                    "run .ci/system-packages")
    return "FreeTDS"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections and never answers the TDS login."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()


def freetds_home(port: int, **settings) -> SqlAlchemyHome:
    return SqlAlchemyHome(MssqlResource(driver="FreeTDS", host="127.0.0.1", port=port, database="shop",
                                        user="loader", password="${MSSQL_PASSWORD:-unused}", **settings))


def test_a_closed_port_is_a_quick_transient_error(freetds: str):
    home = freetds_home(closed_port())
    started = time.monotonic()

    with pytest.raises(TransientError) as read_error, home.read(ReadRequest(ORDERS)):
        pass
    with pytest.raises(TransientError) as max_error:
        home.max_value(ORDERS, "created")

    assert time.monotonic() - started < 5
    message = ("home database error: ('08S01', '[08S01] [FreeTDS][SQL Server]Unable to connect: "
               "Adaptive Server is unavailable or does not exist (20009) (SQLDriverConnect)')")
    assert str(read_error.value) == str(max_error.value) == message


def test_a_server_that_never_answers_the_login_times_out(freetds: str, silent_server: int):
    home = freetds_home(silent_server, login_timeout_seconds=1)
    started = time.monotonic()

    with pytest.raises(TransientError, match=r"^home database error: \('HYT00', '\[HYT00\] \[FreeTDS\]\[SQL Server\]"
                                             r"Timeout expired \(0\) \(SQLDriverConnect\)'\)$"):
        home.max_value(ORDERS, "created")

    assert 0.9 < time.monotonic() - started < 5


def test_a_driver_that_is_not_installed_is_a_terminal_error_naming_it():
    home = SqlAlchemyHome(MssqlResource(driver="ODBC Driver 99 for SQL Server", host="127.0.0.1", port=1,
                                        database="shop", user="loader"))

    with pytest.raises(TerminalError, match="Can't open lib 'ODBC Driver 99 for SQL Server' : file not found"):
        with home.read(ReadRequest(ORDERS)):
            pass


def test_an_unreachable_server_fails_the_asset_and_writes_nothing(freetds: str, project: Project, monkeypatch):
    monkeypatch.setenv("ERP_PASSWORD", "from-the-environment")
    project.write({
        "flows/ingest.yml": f"""
            connections:
              erp: {{type: mssql, driver: FreeTDS, host: 127.0.0.1, port: {closed_port()}, database: shop,
                    user: loader, password: "${{ERP_PASSWORD}}"}}
              lake: {{type: parquet, path: lake}}
            options:
              retries: 0
            """,
        "flows/erp/flow.yml": """
            home: erp
            store: lake
            run_type: incremental
            entities:
              - name: orders
                home: {table: dbo.orders}
                watermark: created
            """,
    })

    result = project.materialize("*", raise_on_error=False)

    assert not result.success
    assert [event.step_key for event in result.get_step_failure_events()] == ["erp__orders"]
    warnings = [record.user_message for record in project.instance.all_logs(result.run_id)
                if record.level == logging.WARNING and "Unable to connect" in record.user_message]
    assert warnings == ["erp.orders: home database error: ('08S01', '[08S01] [FreeTDS][SQL Server]Unable to "
                        "connect: Adaptive Server is unavailable or does not exist (20009) (SQLDriverConnect)')"]
    assert not (project.root / "lake").exists()
    assert project.instance.get_latest_materialization_event(dg.AssetKey(["erp", "orders"])) is None


# ---- (d) live: a real SQL Server, when INGEST_TEST_MSSQL_URL is set -----------------------------

live = pytest.mark.skipif(not LIVE_URL, reason="set INGEST_TEST_MSSQL_URL to an ODBC connection string to run")


@pytest.fixture
def live_table() -> Iterator[tuple[pyodbc.Connection, str]]:
    """A table name of its own in the live database, dropped afterwards."""
    assert LIVE_URL is not None
    name = f"ingest_test_{uuid.uuid4().hex[:12]}"
    connection = pyodbc.connect(LIVE_URL, autocommit=True)
    try:
        yield connection, name
    finally:
        connection.execute(f"DROP TABLE IF EXISTS dbo.{name}")
        connection.close()


def _live_project(project: Project, table: str, entity_settings: str = "") -> None:
    project.write({
        "flows/ingest.yml": """
            connections:
              erp: {type: mssql, url: "${INGEST_TEST_MSSQL_URL}"}
              lake: {type: parquet, path: lake}
            options:
              retries: 0
            """,
        "flows/erp/flow.yml": f"""
            home: erp
            store: lake
            entities:
              - {{name: copied, home: {{table: dbo.{table}}}{entity_settings}}}
            """,
    })


def _plain(value: object) -> object:
    return value.bytes if isinstance(value, uuid.UUID) else value


@live
def test_live_every_column_type_round_trips_to_parquet(project: Project, live_table):
    connection, table = live_table
    connection.execute(f"""CREATE TABLE dbo.{table} (id INT PRIMARY KEY, legacy DATETIME, modern DATETIME2(7),
        amount DECIMAL(12, 2), name NVARCHAR(50), token UNIQUEIDENTIFIER, payload VARBINARY(16))""")
    connection.execute(f"""INSERT INTO dbo.{table} VALUES
        (1, '2026-03-01T08:00:00.003', '2026-03-01T08:00:00.1234567', 1234567890.12, N'zoë ✓',
         '5F0E6C2E-8A6B-4D0E-9D8B-2F1A0C3E4B5D', 0x0001FEFF),
        (2, NULL, NULL, NULL, NULL, NULL, NULL),
        (3, '1753-01-01T00:00:00.007', '0001-01-01T00:00:00', -0.01, N'',
         '00000000-0000-0000-0000-000000000000', 0x)""")
    _live_project(project, table)

    project.materialize("*")

    # Values as Microsoft's ODBC driver returns them (legacy datetime ticks rounded to milliseconds).
    lake = pq.read_table(sorted((project.root / "lake/erp/copied").glob("*.parquet"))).sort_by("id")
    assert [str(field.type) for field in lake.schema] == [
        "int64", "timestamp[us]", "timestamp[us]", "decimal128(12, 2)", "string", "extension<arrow.uuid>", "binary"]
    assert [tuple(map(_plain, row.values())) for row in lake.to_pylist()] == [
        (1, datetime(2026, 3, 1, 8, 0, 0, 3000), datetime(2026, 3, 1, 8, 0, 0, 123456), Decimal("1234567890.12"),
         "zoë ✓", uuid.UUID("5f0e6c2e-8a6b-4d0e-9d8b-2f1a0c3e4b5d").bytes, b"\x00\x01\xfe\xff"),
        (2, None, None, None, None, None, None),
        (3, datetime(1753, 1, 1, 0, 0, 0, 7000), datetime(1, 1, 1), Decimal("-0.01"), "", bytes(16), b""),
    ]


@live
def test_live_incremental_on_a_legacy_datetime_never_re_reads_the_last_row(project: Project, live_table):
    connection, table = live_table
    connection.execute(f"CREATE TABLE dbo.{table} (id INT PRIMARY KEY, updated_at DATETIME NOT NULL)")
    # Stored in 1/300 s ticks: .003 is .00333..., which widened to datetime2 is greater than a .003
    # cursor, so without the CAST the last row would be read again on every run.
    connection.execute(f"""INSERT INTO dbo.{table} VALUES (1, '2026-03-01T08:00:00.007'),
        (2, '2026-03-01T08:00:01.997'), (3, '2026-03-01T08:00:02.003')""")
    _live_project(project, table, ", run_type: incremental, watermark: updated_at, keys: [id]")

    project.materialize("*")
    project.materialize("*")
    connection.execute(f"INSERT INTO dbo.{table} VALUES (4, '2026-03-01T08:00:02.007')")
    project.materialize("*")

    records = project.instance.fetch_materializations(dg.AssetKey(["erp", "copied"]), limit=10, ascending=True)
    assert [r.asset_materialization.metadata["ingest/rows_read"].value for r in records.records] == [3, 0, 1]
    lake = read_parquet_table(project.root / "lake/erp/copied").sort_by("id")
    assert lake.column("id").to_pylist() == [1, 2, 3, 4]
    assert lake.column("updated_at").to_pylist()[-1] == datetime(2026, 3, 1, 8, 0, 2, 7000)
    assert project.latest_metadata("erp/copied")["ingest/cursor"]["value"] == "2026-03-01T08:00:02.007000"

