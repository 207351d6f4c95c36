"""The SQLite home's ADBC path against the SQLAlchemy path it must equal, on real SQLite files.

Every read runs on both paths; the ADBC one with the SQLAlchemy stream made to fail, so a pass proves
the rows came through ADBC (and the fallback tests make the ADBC stream fail instead).
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa

from ingest_assets.connectors.sqlite import SqliteConnection, SqliteFileResource
from ingest_assets.errors import TerminalError
from ingest_assets.homes.base import ReadRequest
from ingest_assets.homes.sql import SqlAlchemyHome
from ingest_assets.homes.sqlite import SqliteHome, sqlite_home
from ingest_assets.plan.model import ParallelPlan, ReadSpec
from ingest_assets.plan.window import RowFilter
from ingest_assets_tests.conftest import Project, read_parquet_table

T0 = datetime(2026, 3, 1, 8, 30, 15, 123456)



# SQLAlchemy writes the file, so values are stored as the SQLAlchemy path expects them: NUMERIC as
# INTEGER when whole and REAL otherwise, DATETIME as ISO text, BOOLEAN as 0/1.
def columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("n", sa.Integer),
        sa.Column("small", sa.SmallInteger),
        sa.Column("amount", sa.Numeric(12, 2)),
        sa.Column("ratio", sa.Float),
        sa.Column("status", sa.String(20)),
        sa.Column("note", sa.Text),
        sa.Column("updated_at", sa.DateTime),
        sa.Column("day", sa.Date),
        sa.Column("flag", sa.Boolean),
        sa.Column("payload", sa.LargeBinary),
    ]


# With batch_size 2, the first batch is all null in every nullable column, and the whole amounts
# (INTEGER storage) come before the fractional ones (REAL): ADBC alone would type them int64 and fail.
ROWS = [
    dict(id=1, n=None, small=None, amount=None, ratio=None, status=None, note=None, updated_at=None, day=None,
         flag=None, payload=None),
    dict(id=2, n=None, small=None, amount=Decimal("7"), ratio=None, status=None, note=None, updated_at=None,
         day=None, flag=None, payload=None),
    dict(id=3, n=-2147483648, small=-32768, amount=Decimal("1234567890.12"), ratio=0.5, status="o'brien",
         note="zoë ✓ 😀", updated_at=T0, day=date(2026, 3, 1), flag=True, payload=b"\x00\xff"),
    dict(id=4, n=70000, small=12, amount=Decimal("-0.01"), ratio=3.0, status="paid", note=None,
         updated_at=datetime(2026, 3, 2), day=date(1970, 1, 1), flag=False, payload=b""),
    dict(id=5, n=5, small=0, amount=Decimal("12.50"), ratio=-1e300, status="", note="x" * 5000,
         updated_at=datetime(2026, 3, 3, 23, 59, 59, 999999), day=date(2026, 12, 31), flag=True, payload=None),
]
EXPECTED_SCHEMA = pa.schema([
    ("id", pa.int64()), ("n", pa.int64()), ("small", pa.int16()), ("amount", pa.decimal128(12, 2)),
    ("ratio", pa.float64()), ("status", pa.string()), ("note", pa.string()), ("updated_at", pa.timestamp("us")),
    ("day", pa.date32()), ("flag", pa.bool_()), ("payload", pa.binary()),
])


def write_table(path: Path, name: str = "things", rows: list[dict[str, object]] = ROWS) -> None:
    engine = sa.create_engine(f"sqlite:///{path}")
    table = sa.Table(name, sa.MetaData(), *columns())
    with engine.begin() as connection:
        table.create(connection)
        connection.execute(table.insert(), rows)
    engine.dispose()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "home.sqlite"
    write_table(path)
    return path


def read_both(path: Path, request: ReadRequest, monkeypatch: pytest.MonkeyPatch, pool_size: int | None = None
              ) -> tuple[pa.Table, pa.Table]:
    """The read through the ADBC path (the SQLAlchemy stream disabled) and through the SQLAlchemy path."""
    resource = SqliteFileResource(path=str(path), pool_size=pool_size)
    with SqliteHome(resource, fast=False).read(request) as reader:
        rows = reader.read_all()
    with monkeypatch.context() as patched:
        patched.setattr(SqlAlchemyHome, "_stream", _must_not_run)
        with SqliteHome(resource).read(request) as reader:
            fast = reader.read_all()
    return fast, rows


def read_fallback(path: Path, request: ReadRequest, monkeypatch: pytest.MonkeyPatch) -> pa.Table:
    with monkeypatch.context() as patched:
        patched.setattr(SqliteHome, "_stream_adbc", _must_not_run)
        with SqliteHome(SqliteFileResource(path=str(path))).read(request) as reader:
            return reader.read_all()


def _must_not_run(*args: object) -> None:
    raise AssertionError("this path must not read")


def sorted_rows(table: pa.Table) -> list[dict[str, object]]:
    return sorted(table.to_pylist(), key=lambda row: row["id"])


def test_adbc_path_reads_every_type_and_null_exactly_as_sqlalchemy(db: Path, monkeypatch):
    fast, rows = read_both(db, ReadRequest(ReadSpec(table="things", batch_size=2)), monkeypatch)
    assert fast.schema == rows.schema == EXPECTED_SCHEMA
    assert fast.equals(rows)
    assert fast.to_pylist() == ROWS


def test_selected_columns_keep_their_order(db: Path, monkeypatch):
    spec = ReadSpec(table="things", columns=("updated_at", "id", "amount"))
    fast, rows = read_both(db, ReadRequest(spec), monkeypatch)
    assert fast.equals(rows)
    assert fast.schema.names == ["updated_at", "id", "amount"]
    assert fast.column("amount").to_pylist() == [None, Decimal("7.00"), Decimal("1234567890.12"),
                                                 Decimal("-0.01"), Decimal("12.50")]


@pytest.mark.parametrize(("row_filter", "ids"), [
    # the incremental window: lower < updated_at <= upper, datetimes bound as SQLAlchemy binds them
    (RowFilter.past("updated_at", T0, datetime(2026, 3, 3, 23, 59, 59, 999999)), [4, 5]),
    (RowFilter.past("updated_at", datetime(2026, 3, 1), T0), [3]),
    (RowFilter.closed("amount", Decimal("-0.01"), Decimal("12.50")), [2, 4, 5]),
    # a quote in a value: bound, never pasted
    (RowFilter.closed("status", "o'brien", "o'brien"), [3]),
    (RowFilter.closed("day", date(2026, 3, 1), None, include_nulls=True), [1, 2, 3, 5]),
])
def test_windows_bind_their_values(db: Path, monkeypatch, row_filter: RowFilter, ids: list[int]):
    fast, rows = read_both(db, ReadRequest(ReadSpec(table="things"), row_filter), monkeypatch)
    assert fast.equals(rows)
    assert fast.column("id").to_pylist() == ids


def test_empty_result_has_the_declared_schema(db: Path, monkeypatch):
    request = ReadRequest(ReadSpec(table="things"), RowFilter.past("id", 5, None))
    fast, rows = read_both(db, request, monkeypatch)
    assert fast.num_rows == rows.num_rows == 0
    assert fast.schema == rows.schema == EXPECTED_SCHEMA


def test_sample_stops_at_its_limit(db: Path, monkeypatch):
    request = ReadRequest(ReadSpec(table="things", parallel=ParallelPlan("id", 3)), limit=3)
    fast, rows = read_both(db, request, monkeypatch)
    assert fast.equals(rows)
    assert fast.num_rows == 3


def test_parallel_ranges_read_every_row_once(tmp_path: Path, monkeypatch):
    path = tmp_path / "many.sqlite"
    # 103 rows: n is the key, null in every 10th row (its own range), with a window on top.
    rows = [dict(ROWS[index % 5], id=key, n=None if key % 10 == 0 else key * 3) for index, key in enumerate(range(1, 104))]
    write_table(path, rows=rows)
    spec = ReadSpec(table="things", batch_size=7, parallel=ParallelPlan("n", 4))
    request = ReadRequest(spec, RowFilter.closed("id", 2, None))
    fast, slow = read_both(path, request, monkeypatch, pool_size=2)
    assert fast.schema == slow.schema == EXPECTED_SCHEMA
    assert sorted_rows(fast) == sorted_rows(slow)
    assert [row["id"] for row in sorted_rows(fast)] == list(range(2, 104))


def test_query_and_untyped_columns_fall_back_to_sqlalchemy(db: Path, tmp_path: Path, monkeypatch):
    # A query's types come from its data on the SQLAlchemy path: it keeps reading them there.
    query = ReadRequest(ReadSpec(query="SELECT id, amount * 2 AS doubled FROM things WHERE {query_filter}"),
                        RowFilter.past("id", 3, None))
    assert read_fallback(db, query, monkeypatch).to_pylist() == [{"id": 4, "doubled": -0.02},
                                                                 {"id": 5, "doubled": 25.0}]

    untyped = tmp_path / "untyped.sqlite"
    with sqlite3.connect(untyped) as connection:
        connection.execute("CREATE TABLE loose (id INTEGER, anything, amount NUMERIC)")
        connection.executemany("INSERT INTO loose VALUES (?, ?, ?)", [(1, "a", 1.5), (2, "b", 2)])
    table = read_fallback(untyped, ReadRequest(ReadSpec(table="loose")), monkeypatch)
    with SqlAlchemyHome(SqliteFileResource(path=str(untyped))).read(ReadRequest(ReadSpec(table="loose"))) as r:
        assert table.equals(r.read_all())
    assert table.to_pylist() == [{"id": 1, "anything": "a", "amount": 1.5}, {"id": 2, "anything": "b", "amount": 2.0}]
    # Only the typed columns: the ADBC path.
    fast, rows = read_both(untyped, ReadRequest(ReadSpec(table="loose", columns=("id",))), monkeypatch)
    assert fast.equals(rows)
    assert fast.column("id").to_pylist() == [1, 2]


def test_engine_setting_chooses_the_path(tmp_path: Path):
    settings = SqliteConnection(type="sqlite", path="x.sqlite")
    assert sqlite_home(SqliteFileResource.from_settings(settings, tmp_path))._fast
    settings = SqliteConnection(type="sqlite", path="x.sqlite", engine="sqlalchemy")
    resource = SqliteFileResource.from_settings(settings, tmp_path)
    assert resource.engine_name == "sqlalchemy"
    assert not sqlite_home(resource)._fast


def test_text_arrow_cannot_parse_is_converted_as_sqlalchemy_does(db: Path, monkeypatch):
    # ISO 8601's basic format: Python's fromisoformat (SQLAlchemy's parser) reads it, Arrow's cast does not.
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE things SET updated_at = '20260304T050607' WHERE id = 4")
    fast, rows = read_both(db, ReadRequest(ReadSpec(table="things", batch_size=2)), monkeypatch)
    assert fast.equals(rows)
    assert fast.column("updated_at").to_pylist()[3] == datetime(2026, 3, 4, 5, 6, 7)


def test_a_value_of_another_kind_fails_clearly(db: Path):
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE things SET amount = 'lots' WHERE id = 5")
    home = SqliteHome(SqliteFileResource(path=str(db)))
    with pytest.raises(TerminalError, match=r"a source value does not fit the column types of things .*Type mismatch"):
        with home.read(ReadRequest(ReadSpec(table="things", batch_size=2))) as reader:
            reader.read_all()


def test_max_value_and_statement_are_the_sqlalchemy_homes(db: Path):
    home = SqliteHome(SqliteFileResource(path=str(db)))
    assert home.max_value(ReadSpec(table="things"), "updated_at") == datetime(2026, 3, 3, 23, 59, 59, 999999)
    assert home.max_value(ReadSpec(table="things"), "amount") == Decimal("1234567890.12")
    statement = home.source_query(ReadRequest(ReadSpec(table="things"), RowFilter.past("id", 3, None)))
    assert statement.parameters == {"ingest_1": 3}


@pytest.mark.parametrize("fast", [True, False], ids=["adbc", "sqlalchemy"])
def test_text_times_in_any_iso_form_compare_as_times(tmp_path: Path, fast: bool):
    """Python's isoformat ('T', fractions only when not zero) and SQLAlchemy's form in one column: windows
    and the maximum compare them as times, not as text (where 'T' sorts after ' ', and the rows of the
    window's last day would be left behind a cursor that records their maximum)."""
    path = tmp_path / "iso.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, at DATETIME)")
        connection.executemany("INSERT INTO events VALUES (?, ?)", [
            (1, datetime(2025, 1, 2, 23, 0).isoformat()),
            (2, datetime(2025, 1, 3, 2, 0).isoformat()),
            (3, datetime(2025, 1, 3, 2, 0, 0, 500000).isoformat()),
            (4, "2025-01-03 02:00:00.000000"),
            (5, datetime(2025, 1, 3, 9, 30).isoformat()),
            (6, None),
        ])
    home = SqliteHome(SqliteFileResource(path=str(path)), fast=fast)
    spec = ReadSpec(table="events")
    newest = home.max_value(spec, "at")
    assert newest == datetime(2025, 1, 3, 9, 30)

    def ids(row_filter: RowFilter) -> list[int]:
        with home.read(ReadRequest(spec, row_filter)) as reader:
            return sorted(reader.read_all().column("id").to_pylist())

    assert ids(RowFilter.past("at", datetime(2025, 1, 2, 23, 0), newest)) == [2, 3, 4, 5]
    assert ids(RowFilter.closed("at", datetime(2025, 1, 3, 2, 0), datetime(2025, 1, 3, 2, 0))) == [2, 4]
    assert ids(RowFilter.closed("at", None, newest, include_nulls=True)) == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("fast", [True, False], ids=["adbc", "sqlalchemy"])
def test_text_that_is_not_utf8_fails_as_a_value_naming_the_column(tmp_path: Path, fast: bool):
    """SQLite keeps any bytes as TEXT: the read fails for good (no retry can help), naming the column and
    the fix, on both paths; ADBC would otherwise hand invalid strings on to the store."""
    path = tmp_path / "bytes.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
        connection.execute("INSERT INTO t VALUES (1, 'ok'), (2, CAST(X'66FF6F' AS TEXT))")
    home = SqliteHome(SqliteFileResource(path=str(path)), fast=fast)
    with pytest.raises(TerminalError, match=r"column 'name' holds text that is not valid UTF-8 .* -> fix the value "
                                            r"at the source, or read the column as bytes .*CAST\(name AS BLOB\)"):
        with home.read(ReadRequest(ReadSpec(table="t"))) as reader:
            reader.read_all()


# The ways a project reaches a SQLite file: ADBC, the SQLite home's SQLAlchemy path, and a SQLAlchemy URL.
SQLITE_CONNECTIONS = {
    "adbc": "{type: sqlite, path: source.sqlite}",
    "sqlite-sqlalchemy": "{type: sqlite, path: source.sqlite, engine: sqlalchemy}",
    "url": "{type: sqlalchemy, url: 'sqlite:///%s'}",
}
ISO_TEXTS = {
    "isoformat": lambda at: at.isoformat(),  # '2025-01-03T02:00:00', fractions only when not zero
    "offset": lambda at: (at + timedelta(hours=1)).replace(tzinfo=timezone(timedelta(hours=1))).isoformat(),
    "javascript": lambda at: at.isoformat(timespec="milliseconds") + "Z",  # toISOString()
}


@pytest.mark.parametrize("text", list(ISO_TEXTS))
@pytest.mark.parametrize("declared", ["DATETIME", "TIMESTAMP", "TEXT"])
@pytest.mark.parametrize("connection", list(SQLITE_CONNECTIONS))
def test_incremental_loads_of_iso_text_times_move_every_row_once(project: Project, connection: str, declared: str,
                                                                text: str):
    """Rows every 7 hours over days, as ISO text (a cursor of the newest day, then more rows of that day
    and later): every row arrives exactly once, on every path to SQLite. Bound as SQLAlchemy writes a
    time ('2025-01-03 02:00:00.000000') and compared as text, the rows of the window's last day would be
    left out while the cursor records their maximum."""
    source = project.root / "source.sqlite"
    first = datetime(2025, 1, 1, 0, 0, 0, 250000)

    def insert(ids: range) -> None:
        with sqlite3.connect(source) as database:
            database.executemany("INSERT INTO events VALUES (?, ?)",
                                 [(i, ISO_TEXTS[text](first + timedelta(hours=7 * i))) for i in ids])

    with sqlite3.connect(source) as database:
        database.execute(f"CREATE TABLE events (id INTEGER PRIMARY KEY, at {declared})")
    insert(range(10))
    project.write({
        "flows/ingest.yml": f"""
            connections:
              shop: {SQLITE_CONNECTIONS[connection].replace("%s", str(source))}
              lake: {{type: parquet, path: lake}}
            """,
        "flows/copy/flow.yml": """
            home: shop
            store: lake
            run_type: incremental
            entities:
              - {name: events, home: {table: events}, keys: [id], watermark: at}
            """,
    })
    project.materialize("copy/events")
    read = [project.latest_metadata("copy/events")["ingest/rows_read"]]
    insert(range(10, 16))
    project.materialize("copy/events")
    read.append(project.latest_metadata("copy/events")["ingest/rows_read"])
    project.materialize("copy/events")
    read.append(project.latest_metadata("copy/events")["ingest/rows_read"])

    assert read == [10, 6, 0]
    assert sorted(read_parquet_table(project.root / "lake/copy/events").column("id").to_pylist()) == list(range(16))


@pytest.mark.parametrize("fast", [True, False], ids=["adbc", "sqlalchemy"])
def test_a_watermark_of_text_sqlite_cannot_read_as_a_time_is_refused(tmp_path: Path, fast: bool):
    """ISO 8601's basic form ('20260304T050607'): SQLAlchemy reads it, SQLite's time functions do not, so
    windows could not compare it as a time; the maximum (every watermark load asks it) refuses it."""
    path = tmp_path / "basic.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, at DATETIME)")
        connection.executemany("INSERT INTO events VALUES (?, ?)",
                               [(1, "2026-03-04T05:06:07"), (2, "20260304T050608"), (3, None)])
    home = SqliteHome(SqliteFileResource(path=str(path)), fast=fast)
    with pytest.raises(TerminalError, match=r"max\(at\) of events: .*'20260304T050608' .* -> write the times as "):
        home.max_value(ReadSpec(table="events"), "at")
