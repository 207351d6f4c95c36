"""MySQL / MariaDB as a home for real, and the pyodbc code path that SQL Server uses.

One MariaDB server (Debian's `mariadb-server`, started by `servers/mariadb.py`) serves the session;
each test gets its own database.

- The `mariadb` connection type end to end through Dagster (SQLAlchemy + PyMySQL, unbuffered).
- The pyodbc path: SQL Server's `mssql+pyodbc` and `mysql+pyodbc` share SQLAlchemy's
  `PyODBCConnector`, and no SQL Server can run here, so a `sqlalchemy` connection to
  `mysql+pyodbc` over MariaDB's ODBC driver (Debian's `odbc-mariadb`) runs the same pyodbc cursor,
  parameter binding and connection-string handling against a real driver manager and driver.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pyodbc
import pytest
import sqlalchemy as sa

from ingest_assets.connectors.mssql import odbc_value
from ingest_assets.connectors.mysql import MysqlResource
from ingest_assets.connectors.sqlalchemy import SqlAlchemyResource
from ingest_assets.homes.base import ReadRequest
from ingest_assets.homes.sql import SqlAlchemyHome
from ingest_assets.plan.model import ParallelPlan, ReadSpec
from ingest_assets.plan.window import RowFilter
from ingest_assets_tests.conftest import Project, read_parquet_table
from ingest_assets_tests.servers.mariadb import MariaDBServer


@pytest.fixture
def database(mariadb: MariaDBServer, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database named after the test."""
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:50]
    return mariadb.create_database(name)


# ---- data ---------------------------------------------------------------------------------------

ALL_TYPES_DDL = """
CREATE TABLE all_types (
    id BIGINT PRIMARY KEY,
    regular INT,
    amount DECIMAL(12, 2),
    name VARCHAR(50),
    long_text LONGTEXT,
    flag TINYINT(1),
    yes BOOL,
    day DATE,
    at DATETIME(6),
    code BINARY(4),
    payload VARBINARY(16),
    doc JSON
)
"""
COLUMNS = [line.split()[0] for line in ALL_TYPES_DDL.strip().splitlines()[1:-1]]

# The all-null row comes first: with batch_size 1 its batch alone cannot tell any column's type.
ALL_TYPES_ROWS = [
    (1, None, None, None, None, None, None, None, None, None, None, None),
    (2, 70000, Decimal("1234567890.12"), "zoë ✓ 😀", "x" * 200_000, 1, True, date(2026, 3, 1),
     datetime(2026, 3, 1, 8, 30, 15, 123456), b"\x00\x01\xfe\xff", b"\x00\xff", '{"a": [1, 2]}'),
    (3, -2147483648, Decimal("-0.01"), "", "", 0, False, date(1970, 1, 1), datetime(1999, 12, 31, 23, 59, 59),
     b"abcd", b"", "[]"),
]

# MySQL has no boolean type (BOOL is TINYINT(1)) and MariaDB's JSON is LONGTEXT with a check.
EXPECTED_ARROW_TYPES = {
    "id": pa.int64(), "regular": pa.int64(), "amount": pa.decimal128(12, 2), "name": pa.string(),
    "long_text": pa.string(), "flag": pa.int64(), "yes": pa.int64(), "day": pa.date32(),
    "at": pa.timestamp("us"), "code": pa.binary(), "payload": pa.binary(), "doc": pa.string(),
}


def _load_all_types(server: MariaDBServer, database: str) -> None:
    server.execute(database, ALL_TYPES_DDL)
    server.executemany(database, f"INSERT INTO all_types VALUES ({', '.join(['%s'] * len(COLUMNS))})",
                       ALL_TYPES_ROWS)


def _stored(row: tuple) -> tuple:
    """A row as MySQL stores it: BOOL is TINYINT(1), so True is 1."""
    return tuple(int(value) if isinstance(value, bool) else value for value in row)


def _assert_rows_equal(table: pa.Table, expected: list[tuple]) -> None:
    """Row by row and column by column, so a failure names the column (long values stay readable)."""
    actual = [tuple(row[c] for c in COLUMNS) for row in table.sort_by("id").to_pylist()]
    assert len(actual) == len(expected)
    for got, want in zip(actual, map(_stored, expected), strict=False):
        differences = {name: (str(g)[:80], str(w)[:80]) for name, g, w in zip(COLUMNS, got, want, strict=False) if g != w}
        assert not differences, f"row id={want[0]}: {differences}"


EVENTS_DDL = "CREATE TABLE events (id INT PRIMARY KEY, amount DECIMAL(10, 2), updated_at DATETIME(6))"
T0 = datetime(2026, 3, 1, 8, 0, 0)


def _event(i: int, minutes: float = 0.0) -> tuple:
    """Event i, updated at T0 + i seconds and a fraction that no whole second can match."""
    return (i, Decimal(i) / 4, T0 + timedelta(seconds=i, microseconds=123_457 * i % 1_000_000, minutes=minutes))


def _load_events(server: MariaDBServer, database: str, ids) -> list[tuple]:
    rows = [_event(i) for i in ids]
    server.execute(database, EVENTS_DDL)
    server.executemany(database, "INSERT INTO events VALUES (%s, %s, %s)", rows)
    return rows


def _project(project: Project, connection_yaml: str, flow: str) -> None:
    project.write({
        "flows/ingest.yml": "connections:\n  shop:\n" + connection_yaml + """
  lake:
    type: parquet
    path: lake
options:
  retries: 0
""",
        "flows/copy/flow.yml": flow,
    })


def _lake(project: Project, entity: str) -> pa.Table:
    return read_parquet_table(project.root / f"lake/copy/{entity}").sort_by("id")


# ---- the mariadb connection type (PyMySQL) through Dagster --------------------------------------


def test_every_column_type_round_trips_to_parquet(project: Project, mariadb: MariaDBServer, database: str):
    _load_all_types(mariadb, database)
    _project(project, mariadb.connection_yaml(database), """
        home: shop
        store: lake
        entities:
          - name: all_types
            home: {table: all_types}
            batch_size: 1
        """)

    project.materialize("*")

    files = sorted((project.root / "lake/copy/all_types").glob("*.parquet"))
    table = pq.read_table(files)
    assert {f.name: f.type for f in table.schema} == EXPECTED_ARROW_TYPES
    _assert_rows_equal(table, ALL_TYPES_ROWS)
    assert project.latest_metadata("copy/all_types")["ingest/rows_read"] == 3


def test_pymysql_reads_through_an_unbuffered_cursor(mariadb: MariaDBServer, database: str):
    _load_events(mariadb, database, range(1, 6))
    home = SqlAlchemyHome(MysqlResource(host=mariadb.host, port=mariadb.port, database=database, user="root"))
    cursors: list[str] = []
    sa.event.listen(home.engine, "before_cursor_execute",
                    lambda conn, cursor, statement, *rest: cursors.append(f"{type(cursor).__name__}: {statement}"))

    with home.read(ReadRequest(ReadSpec(table="events", batch_size=2))) as reader:
        assert reader.read_all().num_rows == 5

    # A buffered cursor would hold the whole result in memory before the first batch.
    assert cursors[-1] == "SSCursor: SELECT * FROM events"


def test_incremental_run_takes_inserted_and_updated_rows(project: Project, mariadb: MariaDBServer, database: str):
    _load_events(mariadb, database, range(1, 6))
    _project(project, mariadb.connection_yaml(database), """
        home: shop
        store: lake
        run_type: incremental
        entities:
          - name: events
            keys: [id]
            watermark: updated_at
        """)
    project.materialize("*")
    assert project.latest_metadata("copy/events")["ingest/cursor"]["value"] == _event(5)[2].isoformat()

    moved = _event(2, minutes=10)
    mariadb.execute(database, "UPDATE events SET amount = 99.5, updated_at = %s WHERE id = 2", (moved[2],))
    mariadb.executemany(database, "INSERT INTO events VALUES (%s, %s, %s)", [_event(6), _event(7)])
    project.materialize("*")

    metadata = project.latest_metadata("copy/events")
    assert (metadata["ingest/rows_read"], metadata["ingest/rows_replaced"]) == (3, 1)
    lake = _lake(project, "events")
    assert lake.column("id").to_pylist() == [1, 2, 3, 4, 5, 6, 7]
    assert lake.column("amount").to_pylist()[1] == Decimal("99.50")
    assert lake.column("updated_at").to_pylist()[1] == moved[2]
    assert metadata["ingest/cursor"]["value"] == moved[2].isoformat()

    project.materialize("*")  # nothing new: the row the cursor came from is not read again
    assert project.latest_metadata("copy/events")["ingest/rows_read"] == 0


def test_parallel_read_gives_exactly_the_rows_of_a_single_read(project: Project, mariadb: MariaDBServer,
                                                                database: str):
    # Gaps and an uneven spread, so that ranges hold different counts and one may be empty.
    _load_events(mariadb, database, [*range(1, 200), *range(500, 520), 10_000])
    _project(project, mariadb.connection_yaml(database, pool_size=2), """
        home: shop
        store: lake
        defaults:
          home: {table: events}
          batch_size: 50
        entities:
          - name: single
          - name: split
            parallel: {column: id, partitions: 3}
        """)

    project.materialize("*")

    single, split = _lake(project, "single"), _lake(project, "split")
    assert single.num_rows == 220
    assert split.equals(single)


# ---- the pyodbc path (MariaDB's ODBC driver) ----------------------------------------------------


def _capture(home: SqlAlchemyHome) -> list[tuple[str, tuple]]:
    """The reads the home hands to pyodbc (not the dialect's set-up and reflection), as pyodbc gets them."""
    executed: list[tuple[str, tuple]] = []

    def record(conn, cursor, statement: str, parameters, *rest) -> None:
        if statement.startswith("SELECT") and " FROM events" in statement:
            executed.append((statement, tuple(parameters)))

    sa.event.listen(home.engine, "after_cursor_execute", record)
    return executed


def _pyodbc_home(mariadb: MariaDBServer, database: str) -> SqlAlchemyHome:
    return SqlAlchemyHome(SqlAlchemyResource(url=mariadb.pyodbc_url(database)))


def _read(home: SqlAlchemyHome, request: ReadRequest) -> pa.Table:
    with home.read(request) as reader:
        return reader.read_all()


def test_pyodbc_reads_every_column_type_like_pymysql(mariadb: MariaDBServer, database: str):
    _load_all_types(mariadb, database)
    request = ReadRequest(ReadSpec(table="all_types", batch_size=1))
    pymysql_home = SqlAlchemyHome(MysqlResource(host=mariadb.host, port=mariadb.port, database=database, user="root"))

    through_odbc = _read(_pyodbc_home(mariadb, database), request)

    assert through_odbc.equals(_read(pymysql_home, request))
    assert {f.name: f.type for f in through_odbc.schema} == EXPECTED_ARROW_TYPES
    _assert_rows_equal(through_odbc, ALL_TYPES_ROWS)


def test_pyodbc_incremental_filter_binds_exact_microseconds(mariadb: MariaDBServer, database: str):
    rows = _load_events(mariadb, database, range(1, 11))
    home = _pyodbc_home(mariadb, database)
    executed = _capture(home)
    # The cursor is row 3's own value: `>` must leave row 3 out, `<=` must keep row 8.
    window = RowFilter.past("updated_at", rows[2][2], rows[7][2])

    table = _read(home, ReadRequest(ReadSpec(table="events"), window))

    assert [tuple(row.values()) for row in table.to_pylist()] == rows[3:8]
    assert executed == [(
        "SELECT * FROM events WHERE (updated_at > ? AND updated_at <= ?)",
        # pyodbc would cut a datetime to whole seconds for this driver: the engine sends text.
        ("2026-03-01 08:00:03.370371", "2026-03-01 08:00:08.987656"),
    )]


def test_pyodbc_max_value_and_parallel_ranges(mariadb: MariaDBServer, database: str):
    rows = _load_events(mariadb, database, range(1, 11))
    home = _pyodbc_home(mariadb, database)
    executed = _capture(home)

    assert home.max_value(ReadSpec(table="events"), "updated_at") == rows[-1][2]
    table = _read(home, ReadRequest(ReadSpec(table="events", parallel=ParallelPlan("id", 3))))

    assert sorted(table.column("id").to_pylist()) == list(range(1, 11))
    select = "SELECT * FROM events WHERE "
    assert executed[0] == ("SELECT max(updated_at) FROM events", ())
    assert executed[1] == ("SELECT min(id), max(id) FROM events", ())
    # Three ranges over 1..10 and the null keys, read over three connections, in any order.
    assert sorted(executed[2:]) == sorted([
        (select + "(id >= ? AND id < ?)", (1, 4)),
        (select + "(id >= ? AND id < ?)", (4, 7)),
        (select + "(id >= ? AND id <= ?)", (7, 10)),
        (select + "id IS NULL", ()),
    ])


def test_pyodbc_incremental_runs_through_dagster_never_re_read_the_cursor_row(
    project: Project, mariadb: MariaDBServer, database: str,
):
    _load_events(mariadb, database, range(1, 6))
    _project(project, f"    type: sqlalchemy\n    url: {mariadb.pyodbc_url(database)}", """
        home: shop
        store: lake
        run_type: incremental
        entities:
          - name: events
            home: {table: events}
            watermark: updated_at
        """)
    project.materialize("*")
    mariadb.executemany(database, "INSERT INTO events VALUES (%s, %s, %s)", [_event(6), _event(7)])

    project.materialize("*")
    project.materialize("*")

    records = project.instance.fetch_materializations(dg.AssetKey(["copy", "events"]), limit=10, ascending=True)
    reads = [record.asset_materialization.metadata["ingest/rows_read"].value for record in records.records]
    assert reads == [5, 2, 0]
    assert _lake(project, "events").column("id").to_pylist() == [1, 2, 3, 4, 5, 6, 7]  # no duplicates


def test_odbc_values_with_separators_reach_a_real_driver_intact(mariadb: MariaDBServer, database: str):
    password = "p;w}d={x"
    mariadb.execute(None, "CREATE USER 'odbc_user'@'127.0.0.1' IDENTIFIED BY %s", (password,))
    mariadb.execute(None, f"GRANT SELECT ON `{database}`.* TO 'odbc_user'@'127.0.0.1'")
    try:
        braced = mariadb.odbc_connection_string(database, "odbc_user", odbc_value(password))
        with pyodbc.connect(braced) as connection:
            assert connection.execute("SELECT CURRENT_USER()").fetchone()[0] == "odbc_user@127.0.0.1"
        # Unbraced, the driver reads `PWD=p` and a stray attribute: the login fails.
        with pytest.raises(pyodbc.Error, match="Access denied for user 'odbc_user'"):
            pyodbc.connect(mariadb.odbc_connection_string(database, "odbc_user", password))
    finally:
        mariadb.execute(None, "DROP USER 'odbc_user'@'127.0.0.1'")
