"""The MySQL / MariaDB home's connectorx path against the SQLAlchemy (PyMySQL) path it must equal, on
a real MariaDB (`servers/mariadb.py`).

Every read runs on both paths; the connectorx one with the SQLAlchemy stream made to fail, so a pass
proves the rows came through connectorx (and the fallback tests make the connectorx stream fail instead).
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from ingest_assets.connectors.mysql import MysqlConnection, MysqlResource
from ingest_assets.errors import TerminalError
from ingest_assets.homes.base import ReadRequest
from ingest_assets.homes.mysql import MysqlHome, mysql_home
from ingest_assets.homes.sql import SqlAlchemyHome
from ingest_assets.plan.model import ParallelPlan, ReadSpec
from ingest_assets.plan.window import RowFilter
from ingest_assets_tests.servers.mariadb import MariaDBServer

T0 = datetime(2026, 3, 1, 8, 30, 15, 123456)
QUOTED = "o'b\\rien\" `x` %s ?"  # a quote, a backslash (an escape unless NO_BACKSLASH_ESCAPES), markers
UNICODE = "zoë ✓ 😀"

THINGS_DDL = """
CREATE TABLE things (
    id BIGINT PRIMARY KEY,
    n INT,
    small SMALLINT,
    flag TINYINT(1),
    positive INT UNSIGNED,
    amount DECIMAL(12, 2),
    status VARCHAR(40),
    note TEXT,
    long_text LONGTEXT,
    kind ENUM('a', 'bb'),
    code CHAR(3),
    updated_at DATETIME(6),
    stamp TIMESTAMP NULL,
    day DATE,
    payload VARBINARY(16),
    picture BLOB
)
"""
COLUMNS = [line.split()[0] for line in THINGS_DDL.strip().splitlines()[1:-1]]

# With batch_size 2, the first batch is all null in every nullable column.
ROWS = [
    (1, *([None] * (len(COLUMNS) - 1))),
    (2, *([None] * (len(COLUMNS) - 1))),
    (3, -2147483648, -32768, 1, 4294967295, Decimal("1234567890.12"), QUOTED, UNICODE, "x" * 200_000,
     "bb", "abc", T0, datetime(2026, 3, 1, 8, 30, 15), date(2026, 3, 1), b"\x00\xff", b"\x01" * 60_000),
    (4, 70000, 12, 0, 0, Decimal("-0.01"), "paid", None, "", "a", "", datetime(2026, 3, 2), None,
     date(1970, 1, 1), b"", None),
    (5, 5, 0, 1, 7, Decimal("12.50"), UNICODE, "x" * 5000, "y", None, "z", datetime(2026, 3, 3, 23, 59, 59, 999999),
     datetime(2038, 1, 1), date(2026, 12, 31), None, b""),
]
EXPECTED_SCHEMA = pa.schema([
    ("id", pa.int64()), ("n", pa.int64()), ("small", pa.int16()), ("flag", pa.int64()), ("positive", pa.int64()),
    ("amount", pa.decimal128(12, 2)), ("status", pa.string()), ("note", pa.string()),
    ("long_text", pa.string()), ("kind", pa.string()), ("code", pa.string()), ("updated_at", pa.timestamp("us")),
    ("stamp", pa.timestamp("us")), ("day", pa.date32()), ("payload", pa.binary()), ("picture", pa.binary()),
])


@pytest.fixture
def database(mariadb: MariaDBServer, request: pytest.FixtureRequest) -> str:
    """A fresh database named after the test, holding `things`."""
    name = "h_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:50]
    mariadb.create_database(name)
    mariadb.execute(name, THINGS_DDL)
    mariadb.executemany(name, f"INSERT INTO things VALUES ({', '.join(['%s'] * len(COLUMNS))})", ROWS)
    return name


def resource(mariadb: MariaDBServer, database: str, **settings: object) -> MysqlResource:
    return MysqlResource(host=mariadb.host, port=mariadb.port, database=database, user=mariadb.user, **settings)


def read_both(mariadb: MariaDBServer, database: str, request: ReadRequest, monkeypatch: pytest.MonkeyPatch,
              pool_size: int | None = None) -> tuple[pa.Table, pa.Table]:
    """The read through connectorx (the SQLAlchemy stream disabled) and through the SQLAlchemy path."""
    source = resource(mariadb, database, pool_size=pool_size)
    with SqlAlchemyHome(source).read(request) as reader:
        rows = reader.read_all()
    with monkeypatch.context() as patched:
        patched.setattr(SqlAlchemyHome, "_stream", _must_not_run)
        with MysqlHome(source).read(request) as reader:
            fast = reader.read_all()
    return fast, rows


def read_fallback(mariadb: MariaDBServer, database: str, request: ReadRequest,
                  monkeypatch: pytest.MonkeyPatch) -> tuple[pa.Table, pa.Table]:
    """The read through MysqlHome with connectorx disabled, and through the SQLAlchemy home."""
    source = resource(mariadb, database)
    with monkeypatch.context() as patched:
        patched.setattr(MysqlHome, "_stream_connectorx", _must_not_run)
        with MysqlHome(source).read(request) as reader:
            table = reader.read_all()
    with SqlAlchemyHome(source).read(request) as reader:
        return table, reader.read_all()


def _must_not_run(*args: object) -> None:
    raise AssertionError("this path must not read")


def sorted_rows(table: pa.Table) -> list[dict[str, object]]:
    return sorted(table.to_pylist(), key=lambda row: row["id"])


def test_connectorx_reads_every_type_and_null_exactly_as_sqlalchemy(mariadb, database, monkeypatch):
    fast, rows = read_both(mariadb, database, ReadRequest(ReadSpec(table="things", batch_size=2)), monkeypatch)
    assert fast.schema == rows.schema == EXPECTED_SCHEMA
    assert fast.equals(rows)
    assert [tuple(row.values()) for row in fast.to_pylist()] == [
        tuple(int(v) if isinstance(v, bool) else v for v in row) for row in ROWS]


def test_selected_columns_keep_their_order(mariadb, database, monkeypatch):
    spec = ReadSpec(table="things", columns=("updated_at", "id", "amount"))
    fast, rows = read_both(mariadb, database, ReadRequest(spec), monkeypatch)
    assert fast.equals(rows)
    assert fast.schema.names == ["updated_at", "id", "amount"]
    assert fast.column("amount").to_pylist() == [None, None, Decimal("1234567890.12"), Decimal("-0.01"),
                                                 Decimal("12.50")]


@pytest.mark.parametrize(("row_filter", "ids"), [
    # the incremental window: lower < updated_at <= upper, to the microsecond
    (RowFilter.past("updated_at", T0, datetime(2026, 3, 3, 23, 59, 59, 999999)), [4, 5]),
    (RowFilter.past("updated_at", datetime(2026, 3, 1), T0), [3]),
    (RowFilter.past("updated_at", T0, datetime(2026, 3, 3, 23, 59, 59, 999998)), [4]),
    (RowFilter.closed("amount", Decimal("-0.01"), Decimal("12.50")), [4, 5]),
    (RowFilter.closed("amount", Decimal("12.51"), None), [3]),
    # quotes, a backslash and the markers of other drivers in a value: written as hex, never as text
    (RowFilter.closed("status", QUOTED, QUOTED), [3]),
    (RowFilter.closed("status", UNICODE, UNICODE), [5]),
    (RowFilter.past("status", "p", None), [4, 5]),  # utf8mb4_bin: 'z...' > 'p'
    (RowFilter.closed("day", date(2026, 3, 1), None, include_nulls=True), [1, 2, 3, 5]),
    (RowFilter.closed("id", 2**63 - 1, None), []),
    (RowFilter.closed("payload", b"\x00", None), [3]),
])
def test_windows_write_their_values_as_pymysql_does(mariadb, database, monkeypatch, row_filter, ids):
    fast, rows = read_both(mariadb, database, ReadRequest(ReadSpec(table="things"), row_filter), monkeypatch)
    assert fast.equals(rows)
    assert fast.column("id").to_pylist() == ids


def test_empty_result_has_the_declared_schema(mariadb, database, monkeypatch):
    request = ReadRequest(ReadSpec(table="things"), RowFilter.past("id", 5, None))
    fast, rows = read_both(mariadb, database, request, monkeypatch)
    assert fast.num_rows == rows.num_rows == 0
    assert fast.schema == rows.schema == EXPECTED_SCHEMA


def test_sample_stops_at_its_limit(mariadb, database, monkeypatch):
    request = ReadRequest(ReadSpec(table="things", parallel=ParallelPlan("id", 3)), limit=3)
    fast, rows = read_both(mariadb, database, request, monkeypatch)
    assert fast.num_rows == rows.num_rows == 3
    assert fast.schema == rows.schema == EXPECTED_SCHEMA


def test_parallel_ranges_read_every_row_once(mariadb, database, monkeypatch):
    # 103 rows: n is the key, null in every 10th row (its own range), with a window on top.
    more = [(key, None if key % 10 == 0 else key * 3, *ROWS[key % 5][2:]) for key in range(6, 104)]
    mariadb.executemany(database, f"INSERT INTO things VALUES ({', '.join(['%s'] * len(COLUMNS))})", more)
    spec = ReadSpec(table="things", batch_size=7, parallel=ParallelPlan("n", 4))
    request = ReadRequest(spec, RowFilter.closed("id", 2, None))
    fast, slow = read_both(mariadb, database, request, monkeypatch, pool_size=2)
    assert fast.schema == slow.schema == EXPECTED_SCHEMA
    assert sorted_rows(fast) == sorted_rows(slow)
    assert [row["id"] for row in sorted_rows(fast)] == list(range(2, 104))


def test_query_and_inexact_columns_fall_back_to_sqlalchemy(mariadb, database, monkeypatch):
    # A query's types come from its data on the SQLAlchemy path: it keeps reading them there.
    query = ReadRequest(ReadSpec(query="SELECT id, amount * 2 AS doubled FROM things WHERE {query_filter}"),
                        RowFilter.past("id", 3, None))
    table, rows = read_fallback(mariadb, database, query, monkeypatch)
    assert table.equals(rows)
    assert table.to_pylist() == [{"id": 4, "doubled": Decimal("-0.02")}, {"id": 5, "doubled": Decimal("25.00")}]

    # FLOAT (connectorx's float32), DECIMAL beyond decimal(38, 10), TIME and BIGINT UNSIGNED; DOUBLE is read
    # by both (as a float: SQLAlchemy reflects it `asdecimal`, the home reads it as what it is).
    mariadb.execute(database, "CREATE TABLE loose (id INT PRIMARY KEY, f FLOAT, wide DECIMAL(30, 15), t TIME, "
                              "big BIGINT UNSIGNED, ratio DOUBLE)")
    mariadb.execute(database, "INSERT INTO loose VALUES (1, 0.1, 123456789012345.123456789012345, '-01:02:03', 5, "
                              "-2.5e300)")
    for column in ("f", "wide", "t", "big"):
        request = ReadRequest(ReadSpec(table="loose", columns=("id", column)))
        table, rows = read_fallback(mariadb, database, request, monkeypatch)
        assert table.equals(rows), column
    assert table.num_rows == 1
    # Only the exactly read columns: the connectorx path.
    fast, rows = read_both(mariadb, database, ReadRequest(ReadSpec(table="loose", columns=("id", "ratio"))),
                           monkeypatch)
    assert fast.equals(rows)
    assert fast.to_pylist() == [{"id": 1, "ratio": -2.5e300}]
    table, rows = read_fallback(mariadb, database, ReadRequest(ReadSpec(table="loose", columns=("f",))), monkeypatch)
    assert table.column("f").to_pylist() == [0.1]  # the server's text of the float, as PyMySQL parses it


def test_a_value_that_cannot_be_written_falls_back(mariadb, database, monkeypatch):
    # A TIME bound (a timedelta) has no literal here: the whole read goes through SQLAlchemy.
    mariadb.execute(database, "CREATE TABLE shifts (id INT PRIMARY KEY, starts TIME)")
    mariadb.execute(database, "INSERT INTO shifts VALUES (1, '08:00:00'), (2, '17:30:00')")
    request = ReadRequest(ReadSpec(table="shifts", columns=("id",)), RowFilter.past("starts", timedelta(hours=9), None))
    table, rows = read_fallback(mariadb, database, request, monkeypatch)
    assert table.equals(rows)
    assert table.to_pylist() == [{"id": 2}]


def test_engine_setting_chooses_the_path():
    settings = MysqlConnection(type="mariadb", host="db", database="shop")
    assert type(mysql_home(MysqlResource.from_settings(settings, Path(".")))) is MysqlHome
    settings = MysqlConnection(type="mariadb", host="db", database="shop", engine="sqlalchemy")
    chosen = MysqlResource.from_settings(settings, Path("."))
    assert chosen.engine_name == "sqlalchemy"
    assert type(mysql_home(chosen)) is SqlAlchemyHome


def test_connectorx_url_keeps_the_password_and_the_tcp_address():
    source = MysqlResource(host="127.0.0.1", port=3307, database="shop", user="ingest", password="p@ss:w/rd")
    assert source.connectorx_url() == "mysql://ingest:p%40ss%3Aw%2Frd@127.0.0.1:3307/shop?prefer_socket=false"


def test_a_read_stopped_early_ends_its_query(mariadb, database):
    # connectorx's reader, closed, would read the rest of the result to its end before letting go.
    rows = 300_000
    mariadb.execute(database, "CREATE TABLE many (id BIGINT PRIMARY KEY, note VARCHAR(100))")
    mariadb.execute(database, f"INSERT INTO many SELECT seq, REPEAT('x', 100) FROM seq_1_to_{rows}")

    def rows_read() -> int:
        return sum(int(value) for _, value in mariadb.execute(None, "SHOW GLOBAL STATUS LIKE 'Handler\\_read\\_%'"))

    def running() -> list[tuple]:
        return mariadb.execute(None, "SELECT id, info FROM information_schema.processlist "
                                     "WHERE info LIKE '%ingest\\_assets read%' AND id <> CONNECTION_ID()")

    home = MysqlHome(resource(mariadb, database))
    before = rows_read()
    with home.read(ReadRequest(ReadSpec(table="many", batch_size=100))) as reader:
        assert reader.read_next_batch().num_rows == 100
    deadline = time.monotonic() + 30
    while running() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert running() == []
    # The query was ended, not read to its end.
    assert rows_read() - before < rows


def test_max_value_and_statement_are_the_sqlalchemy_homes(mariadb, database):
    home = MysqlHome(resource(mariadb, database))
    assert home.max_value(ReadSpec(table="things"), "updated_at") == datetime(2026, 3, 3, 23, 59, 59, 999999)
    assert home.max_value(ReadSpec(table="things"), "amount") == Decimal("1234567890.12")
    statement = home.source_query(ReadRequest(ReadSpec(table="things"), RowFilter.past("id", 3, None)))
    assert statement.parameters == {"ingest_1": 3}


def test_a_password_with_url_characters_reaches_the_server_over_tcp(mariadb, database, monkeypatch):
    # The account is for 127.0.0.1 only: over the server's unix socket (connectorx's choice on this
    # machine, unless told otherwise) the login would be 'cx_user'@'localhost' and fail.
    password = "p@ss:w/rd?#%{x};"
    mariadb.execute(None, "CREATE USER 'cx_user'@'127.0.0.1' IDENTIFIED BY %s", (password,))
    mariadb.execute(None, f"GRANT SELECT ON `{database}`.* TO 'cx_user'@'127.0.0.1'")
    try:
        source = MysqlResource(host=mariadb.host, port=mariadb.port, database=database, user="cx_user",
                               password=password)
        with monkeypatch.context() as patched:
            patched.setattr(SqlAlchemyHome, "_stream", _must_not_run)
            with MysqlHome(source).read(ReadRequest(ReadSpec(table="things", columns=("id",)))) as reader:
                assert reader.read_all().column("id").to_pylist() == [1, 2, 3, 4, 5]
    finally:
        mariadb.execute(None, "DROP USER 'cx_user'@'127.0.0.1'")


@pytest.mark.parametrize("engine", ["connectorx", "sqlalchemy"])
def test_a_wrong_password_fails_for_good_with_its_fix(mariadb, database, engine):
    """A refused login is not retried as a transient error: it says which setting to fix."""
    mariadb.execute(None, "CREATE USER 'pw_user'@'127.0.0.1' IDENTIFIED BY 'right'")
    try:
        source = MysqlResource(host=mariadb.host, port=mariadb.port, database=database, user="pw_user",
                               password="wrong", engine_name=engine)
        with pytest.raises(TerminalError, match=r"refused the read: .*Access denied for user 'pw_user'.* -> check "
                                                r"'user:' and the environment variable behind 'password:'"):
            with mysql_home(source).read(ReadRequest(ReadSpec(table="things"))) as reader:
                reader.read_all()
    finally:
        mariadb.execute(None, "DROP USER 'pw_user'@'127.0.0.1'")
