"""PostgreSQL as a home, for real: a server started by the suite, read through ADBC and SQLAlchemy."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from ingest_assets_tests.conftest import Project, duckdb_rows, read_parquet_table

ENGINES = ["adbc", "sqlalchemy"]

ALL_TYPES_DDL = """
CREATE TABLE public.all_types (
    id bigint PRIMARY KEY,
    small smallint,
    regular integer,
    amount numeric(12, 2),
    precise numeric(38, 10),
    ratio double precision,
    name text,
    code varchar(12),
    long_text text,
    flag boolean,
    day date,
    local_at timestamp,
    created_at timestamptz,
    token uuid,
    payload bytea
)
"""

ALL_TYPES_ROWS = [
    (1, 7, 70000, Decimal("1234567890.12"), Decimal("1234567890123456789012345678.0123456789"), 0.25,
     "zoë ✓", "A-1", "x" * 200_000, True, date(2026, 3, 1), datetime(2026, 3, 1, 8, 30, 15, 123456),
     datetime(2026, 3, 1, 7, 30, 15, 654321, tzinfo=UTC),
     uuid.UUID("5f0e6c2e-8a6b-4d0e-9d8b-2f1a0c3e4b5d"), b"\x00\x01\xfe\xff"),
    (2, None, None, None, None, None, None, None, None, None, None, None, None, None, None),
    (3, -32768, -2147483648, Decimal("-0.01"), Decimal("0.0000000001"), -1.5e300, "", "", "", False,
     date(1970, 1, 1), datetime(1999, 12, 31, 23, 59, 59), datetime(2000, 1, 1, tzinfo=UTC),
     uuid.UUID(int=0), b""),
]


def _load_all_types(server, database: str) -> None:
    server.execute(database, ALL_TYPES_DDL)
    with server.connect(database) as connection, connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO all_types VALUES ({', '.join(['%s'] * 15)})", ALL_TYPES_ROWS)


def _project(project: Project, server, database: str, flow: str, engine: str = "adbc",
             connection_settings: dict | None = None) -> None:
    settings = {"engine": engine, **(connection_settings or {})}
    project.write({
        "flows/ingest.yml": "connections:\n  pg:\n" + server.connection_yaml(database, **settings) + """
  lake:
    type: parquet
    path: lake
  warehouse:
    type: duckdb
    path: warehouse.duckdb
""",
        "flows/copy/flow.yml": flow,
    })


def _comparable(value):
    if isinstance(value, uuid.UUID):
        return value.bytes
    if isinstance(value, memoryview):
        return bytes(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return value


def _assert_rows_equal(actual: list[tuple], expected: list[tuple]) -> None:
    """Row by row and column by column, so a failure names the column (long values stay readable)."""
    assert len(actual) == len(expected)
    names = [line.split()[0] for line in ALL_TYPES_DDL.strip().splitlines()[1:-1]]
    for got, want in zip(actual, expected, strict=False):
        differences = {name: (str(g)[:80], str(w)[:80]) for name, g, w in
                       zip(names, map(_comparable, got), want, strict=False) if g != w}
        assert not differences, f"row id={want[0]}: {differences}"


@pytest.mark.parametrize("engine", ENGINES)
def test_every_column_type_round_trips_to_parquet_and_duckdb(project: Project, postgres_server, pg_database, engine):
    _load_all_types(postgres_server, pg_database)
    _project(project, postgres_server, pg_database, engine=engine, flow="""
        home: pg
        entities:
          - name: to_lake
            home: {table: public.all_types}
            store: lake
          - name: to_warehouse
            home: {table: public.all_types}
            store: warehouse
        """)
    project.materialize("*")

    expected = [tuple(_comparable(v) for v in row) for row in ALL_TYPES_ROWS]
    lake = pq.read_table(sorted((project.root / "lake/copy/to_lake").glob("*.parquet"))).sort_by("id")
    _assert_rows_equal([tuple(row.values()) for row in lake.to_pylist()], expected)
    schema = pq.read_schema(next((project.root / "lake/copy/to_lake").glob("*.parquet")))
    assert str(schema.field("amount").type) == "decimal128(12, 2)"
    assert str(schema.field("precise").type) == "decimal128(38, 10)"
    assert str(schema.field("regular").type) in ("int32", "int64")
    assert str(schema.field("created_at").type) == "timestamp[us, tz=UTC]"
    assert str(schema.field("local_at").type) == "timestamp[us]"
    assert str(schema.field("token").type) == "extension<arrow.uuid>"

    warehouse = duckdb_rows(project.root / "warehouse.duckdb", "SELECT * FROM copy.to_warehouse ORDER BY id")
    _assert_rows_equal(warehouse, expected)
    types = dict(duckdb_rows(project.root / "warehouse.duckdb",
                             "SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'to_warehouse'"))
    assert types["amount"] == "DECIMAL(12,2)" and types["token"] == "UUID"
    assert types["created_at"] == "TIMESTAMP WITH TIME ZONE" and types["payload"] == "BLOB"


# ---- incremental reads, lookback, queries ---------------------------------------------------------

BASE = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def _create_orders(server, database: str, ids, minute_offset: int = 0) -> None:
    server.execute(database, "CREATE TABLE IF NOT EXISTS orders (id bigint PRIMARY KEY, customer text, "
                             "amount numeric(10, 2), updated_at timestamptz NOT NULL)")
    _upsert_orders(server, database, ids, minute_offset)


def _upsert_orders(server, database: str, ids, minute_offset: int = 0, amount_factor: str = "1.25") -> None:
    with server.connect(database) as connection, connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO orders VALUES (%s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET "
            "amount = excluded.amount, updated_at = excluded.updated_at",
            [(i, f"customer-{i % 7}", Decimal(i) * Decimal(amount_factor),
              BASE + timedelta(minutes=i + minute_offset))
             for i in ids],
        )


def _lake_rows(project: Project, entity: str) -> list[dict]:
    return read_parquet_table(project.root / "lake/copy" / entity).sort_by("id").to_pylist()


INCREMENTAL_FLOW = """
    home: pg
    store: lake
    run_type: incremental
    entities:
      - name: orders
        home: {table: orders}
        keys: [id]
        watermark: updated_at
    """


@pytest.mark.parametrize("engine", ENGINES)
def test_incremental_reads_inserts_and_updates_and_leaves_rows_committed_during_a_read_to_the_next_run(
    project: Project, postgres_server, pg_database, engine, monkeypatch
):
    from ingest_assets.homes.postgres import PostgresHome
    from ingest_assets.homes.sql import SqlAlchemyHome

    _create_orders(postgres_server, pg_database, range(1, 101))
    _project(project, postgres_server, pg_database, INCREMENTAL_FLOW, engine=engine)
    project.materialize("*")
    assert len(_lake_rows(project, "orders")) == 100

    _upsert_orders(postgres_server, pg_database, range(101, 111))  # new rows
    _upsert_orders(postgres_server, pg_database, [5], minute_offset=500, amount_factor="100")  # an update
    home_class = PostgresHome if engine == "adbc" else SqlAlchemyHome
    original_max = home_class.max_value

    def max_then_commit(self, spec, column):
        value = original_max(self, spec, column)
        # Committed after the run fixed its upper bound, while it reads: the next run must take it.
        _upsert_orders(postgres_server, pg_database, [111], minute_offset=1000)
        return value

    monkeypatch.setattr(home_class, "max_value", max_then_commit)
    project.materialize("*")
    monkeypatch.undo()
    rows = _lake_rows(project, "orders")
    assert [r["id"] for r in rows] == list(range(1, 111))
    assert rows[4]["amount"] == Decimal("500.00")
    metadata = project.latest_metadata("copy/orders")
    assert metadata["ingest/rows_read"] == 11

    project.materialize("*")
    rows = _lake_rows(project, "orders")
    assert [r["id"] for r in rows] == list(range(1, 112))
    assert project.latest_metadata("copy/orders")["ingest/rows_read"] == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_lookback_re_reads_recent_rows_without_duplicating_them(project: Project, postgres_server, pg_database, engine):
    _create_orders(postgres_server, pg_database, range(1, 61))
    flow = INCREMENTAL_FLOW.replace("watermark: updated_at", "watermark: {column: updated_at, lookback: 15m}")
    _project(project, postgres_server, pg_database, flow, engine=engine)
    project.materialize("*")
    _upsert_orders(postgres_server, pg_database, range(61, 66))
    project.materialize("*")

    rows = _lake_rows(project, "orders")
    assert [r["id"] for r in rows] == list(range(1, 66))
    metadata = project.latest_metadata("copy/orders")
    # The 15 minutes up to the cursor (after 45, so ids 46..60) are read again and replace their copies.
    assert metadata["ingest/rows_read"] == 5 + 15
    assert metadata["ingest/rows_replaced"] == 15


@pytest.mark.parametrize("engine", ENGINES)
def test_queries_with_and_without_the_query_filter_placeholder(project: Project, postgres_server, pg_database, engine):
    _create_orders(postgres_server, pg_database, range(1, 31))
    (project.root / "flows/copy").mkdir(parents=True)
    (project.root / "flows/copy/big_orders.sql").write_text(
        "WITH recent AS (SELECT id, amount, updated_at FROM orders WHERE {query_filter})\n"
        "SELECT * FROM recent WHERE amount >= 10;\n"
    )
    _project(project, postgres_server, pg_database, engine=engine, flow="""
        home: pg
        store: lake
        run_type: incremental
        entities:
          - name: big_orders
            home: {query_file: big_orders.sql}
            watermark: updated_at
          - name: customers
            home: {query: "SELECT customer, count(*) AS n, max(id) AS id FROM orders GROUP BY customer"}
            run_type: full_drop
        """)
    project.materialize("*")
    assert [r["id"] for r in _lake_rows(project, "big_orders")] == list(range(8, 31))
    customers = _lake_rows(project, "customers")
    assert sorted((r["customer"], r["n"]) for r in customers)[:2] == [("customer-0", 4), ("customer-1", 5)]

    _upsert_orders(postgres_server, pg_database, [3, 40])  # id 3 is small: the query keeps it out
    project.materialize("copy/big_orders")
    assert [r["id"] for r in _lake_rows(project, "big_orders")] == [*range(8, 31), 40]
    assert project.latest_metadata("copy/big_orders")["ingest/rows_read"] == 1


# ---- parallel reads -----------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_parallel_range_reads_give_exactly_the_rows_of_a_single_read(project: Project, postgres_server, pg_database, engine):
    postgres_server.execute(pg_database, """
        CREATE TABLE events AS
        SELECT g AS id, CASE WHEN g % 10 = 0 THEN NULL ELSE (g * g) % 997 END AS bucket,
               md5(g::text) AS payload
        FROM generate_series(1, 5000) g""")
    _project(project, postgres_server, pg_database, engine=engine, flow="""
        home: pg
        store: lake
        entities:
          - name: single
            home: {table: events}
          - name: by_bucket
            home: {table: events}
            parallel: {column: bucket, partitions: 4}
          - name: by_id
            home: {query: "SELECT * FROM events WHERE id > 100"}
            parallel: {column: id, partitions: 7}
        """)
    project.materialize("*")
    single = _lake_rows(project, "single")
    assert len(single) == 5000
    assert _lake_rows(project, "by_bucket") == single  # nulls of the split column included
    assert _lake_rows(project, "by_id") == [r for r in single if r["id"] > 100]



@pytest.mark.parametrize("engine", ENGINES)
def test_names_with_percent_signs_and_colons_are_names_on_every_path(project: Project, postgres_server, pg_database,
                                                                     engine):
    """`%s`, `%(x)s` and `:x` are what drivers and SQLAlchemy's text() treat as parameters: as column
    names they are read (full, and incrementally with bound values) and written as names."""
    postgres_server.execute(pg_database, 'CREATE TABLE odd ("%s" bigint PRIMARY KEY, "%(x)s" text, '
                                         '"at:%s" timestamp, "100%" int)')
    postgres_server.execute(pg_database, "INSERT INTO odd SELECT i, 'v' || i, TIMESTAMP '2026-01-01' + i * "
                                         "INTERVAL '1 minute', i * 10 FROM generate_series(1, 5) AS i")
    _project(project, postgres_server, pg_database, engine=engine, flow="""
        home: pg
        run_type: incremental
        entities:
          - {name: to_lake, home: {table: public.odd}, store: lake, keys: ["%s"], watermark: "at:%s"}
          - name: to_pg
            home: {table: public.odd}
            columns: ["%s", "%(x)s", "at:%s", "100%"]
            store: pg
            keys: ["%s"]
            watermark: "at:%s"
        """)
    project.materialize("*")
    postgres_server.execute(pg_database, """UPDATE odd SET "%(x)s" = 'new', "at:%s" = "at:%s" + INTERVAL '1 hour' """
                                         """WHERE "%s" = 2""")
    project.materialize("*")

    expected = [(i, "new" if i == 2 else f"v{i}", i * 10) for i in range(1, 6)]
    lake = read_parquet_table(project.root / "lake/copy/to_lake").to_pylist()
    assert sorted((r["%s"], r["%(x)s"], r["100%"]) for r in lake) == expected
    with postgres_server.connect(pg_database) as connection:
        stored = connection.execute('SELECT "%s", "%(x)s", "100%" FROM copy.to_pg ORDER BY 1').fetchall()
    assert [tuple(row) for row in stored] == expected
    assert project.latest_metadata("copy/to_pg")["ingest/rows_read"] == 1


def test_key_partitions_load_and_reload_one_bucket_each(project: Project, postgres_server, pg_database):
    _create_orders(postgres_server, pg_database, range(1, 31))
    _project(project, postgres_server, pg_database, flow="""
        home: pg
        store: lake
        entities:
          - name: orders
            home: {table: orders}
            parallel: {column: id, partitions: 3, dagster_partitions: true}
        """)
    definition = project.definitions().resolve_assets_def(dg.AssetKey(["copy", "orders"]))
    assert definition.partitions_def.get_partition_keys() == ["0", "1", "2"]
    for key in ("0", "1", "2"):
        project.materialize("*", partition_key=key)
    assert [r["id"] for r in _lake_rows(project, "orders")] == list(range(1, 31))

    # Bucket 1 changes at the source; reloading it replaces exactly its rows.
    postgres_server.execute(pg_database, "DELETE FROM orders WHERE id = 4")
    _upsert_orders(postgres_server, pg_database, [7, 31, 32], amount_factor="9")
    project.materialize("*", partition_key="1")
    rows = {r["id"]: r for r in _lake_rows(project, "orders")}
    assert sorted(rows) == sorted({*range(1, 31), 31} - {4})  # 32 is in bucket 2, not reloaded yet
    assert rows[7]["amount"] == Decimal("63.00") and rows[10]["amount"] == Decimal("12.50")
    assert project.latest_metadata("copy/orders")["ingest/rows_replaced"] == 10


# ---- connections, pools and failures ------------------------------------------------------------


def test_a_missing_table_and_an_unreachable_server_fail_with_clear_errors(postgres_server, pg_database):
    from ingest_assets.connectors.postgres import PostgresResource
    from ingest_assets.errors import TerminalError, TransientError
    from ingest_assets.homes.base import ReadRequest
    from ingest_assets.homes.postgres import PostgresHome
    from ingest_assets.plan.model import ReadSpec

    home = PostgresHome(PostgresResource(host=postgres_server.socket_dir, database=pg_database, user="postgres"))
    with pytest.raises(TerminalError, match='relation "missing_table" does not exist'):
        with home.read(ReadRequest(ReadSpec(table="missing_table"))):
            pass
    closed = PostgresHome(PostgresResource(host="127.0.0.1", port=_closed_port(), database="x", user="postgres"))
    with pytest.raises(TransientError, match="home database error: .*(refused|connect)"):
        closed.max_value(ReadSpec(table="orders"), "id")


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the probe is closed


def test_pool_size_becomes_a_dagster_pool_and_its_instance_limit(project: Project, postgres_server, pg_database):
    from ingest_assets.defs.pools import POOL_TAG, apply_pool_limits, pool_limits
    from ingest_assets.plan.load import load_plan

    _create_orders(postgres_server, pg_database, range(1, 5))
    _project(project, postgres_server, pg_database, connection_settings={"pool_size": 2},
             flow="home: pg\nstore: lake\nentities: [{name: orders, home: {table: orders}}]\n")
    asset = project.definitions().resolve_assets_def(dg.AssetKey(["copy", "orders"]))
    assert asset.op.pool == "pg" and asset.op.tags[POOL_TAG] == "pg"
    apply_pool_limits(project.instance, pool_limits(load_plan(project.flows)))
    assert project.instance.event_log_storage.get_concurrency_info("pg").slot_count == 2


# Long enough that steps overlap even on a loaded 2-core machine, where each step's process takes
# a second or two to start.
SLOW_QUERY = "SELECT o.* FROM orders o CROSS JOIN (SELECT pg_sleep(3)) AS pause"


@pytest.mark.slow
@pytest.mark.parametrize("entities_per_step", [1, 50])
def test_a_run_of_many_entities_never_runs_more_steps_on_a_connection_than_its_pool(
    project: Project, postgres_server, pg_database, entities_per_step
):
    """A real multiprocess run through the Dagster CLI, counting its steps (from the event log) and the
    server's connections while it runs.

    `pool_size` bounds the steps that read a database at once, and the entities a shared step loads at
    once; a read in parallel opens up to min(partitions, pool_size) connections of its own (the README
    says so). So with a pool of 2 at most 2 steps overlap (or, sharing one step, 2 entities) and at most
    2 x 2 connections are open, whatever the machine's speed.
    """
    _create_orders(postgres_server, pg_database, range(1, 5))
    entities = "\n".join(f"  - {{name: copy_{i}, home: {{query: \"{SLOW_QUERY}\"}}}}" for i in range(5))
    entities += f"\n  - {{name: ranges, home: {{query: \"{SLOW_QUERY}\"}}, parallel: {{column: id, partitions: 4}}}}"
    _project(project, postgres_server, pg_database, connection_settings={"pool_size": 2},
             flow=f"home: pg\nstore: lake\nentities:\n{entities}\n")
    with (project.flows / "ingest.yml").open("a") as ingest_yml:
        ingest_yml.write(f"options:\n  entities_per_step: {entities_per_step}\n")
    (project.root / "home").mkdir()
    (project.root / "home/dagster.yaml").write_text("telemetry:\n  enabled: false\n")

    counts: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        with postgres_server.connect(pg_database) as connection:
            while not stop.is_set():
                counts.append(connection.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ingest_assets'"
                ).fetchone()[0])
                time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        env = {**os.environ, "DAGSTER_HOME": str(project.root / "home"), "INGEST_FLOWS_DIR": str(project.flows)}
        result = subprocess.run(
            [str(Path(sys.executable).with_name("dagster")), "job", "execute", "-m", "ingest_assets.definitions",
             "-j", "copy_job"], cwd=project.root, env=env, capture_output=True, text=True, timeout=240,
        )
    finally:
        stop.set()
        sampler.join()
    assert result.returncode == 0, result.stderr[-3000:]
    assert all(len(_lake_rows(project, f"copy_{i}")) == 4 for i in range(5))
    assert sorted(r["id"] for r in _lake_rows(project, "ranges")) == [1, 2, 3, 4]
    with dg.DagsterInstance.from_config(str(project.root / "home")) as instance:
        [run] = instance.get_runs()
        events = [e for e in instance.all_logs(run.run_id) if e.is_dagster_event]
    steps = [e.step_key for e in events if e.dagster_event_type == dg.DagsterEventType.STEP_START]
    assert len(steps) == (6 if entities_per_step == 1 else 1)
    assert 1 <= _most_at_once(events) <= 2
    # The sampler saw the run's connections (so the bound below is measured, not vacuous).
    assert 0 < max(counts) <= 2 * 2, counts


def _most_at_once(events: list[dg.EventLogEntry]) -> int:
    """The most steps running at the same moment: +1 at each start, -1 at each end, in time order."""
    ends = (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE)
    changes = sorted((e.timestamp, -1 if e.dagster_event_type in ends else 1) for e in events
                     if e.dagster_event_type == dg.DagsterEventType.STEP_START or e.dagster_event_type in ends)
    running = most = 0
    for _, change in changes:
        running += change
        most = max(most, running)
    return most


@pytest.mark.parametrize("engine", ENGINES)
def test_a_read_abandoned_half_way_closes_every_connection_and_thread(postgres_server, pg_database, engine):
    from ingest_assets.connectors import registry
    from ingest_assets.homes.base import ReadRequest
    from ingest_assets.plan.model import ParallelPlan, ReadSpec

    postgres_server.execute(pg_database, "CREATE TABLE big AS SELECT g AS id FROM generate_series(1, 200000) g")
    resource = registry.connector("postgres").make_resource(
        _connection_settings(postgres_server, pg_database, engine=engine), Path("."))
    home = registry.open_home("postgres", resource)
    threads_before = threading.active_count()
    spec = ReadSpec(table="big", batch_size=1000, parallel=ParallelPlan("id", 3))
    with pytest.raises(RuntimeError, match="the store failed"), home.read(ReadRequest(spec)) as reader:
        next(iter(reader))
        raise RuntimeError("the store failed")
    assert threading.active_count() == threads_before
    assert postgres_server.execute(
        pg_database, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ingest_assets'") == [(0,)]


def test_a_steps_loads_share_one_connection_which_its_teardown_closes(postgres_server, pg_database):
    from ingest_assets.connectors import registry
    from ingest_assets.homes.base import ReadRequest
    from ingest_assets.homes.postgres import PostgresHome
    from ingest_assets.plan.model import ReadSpec

    postgres_server.execute(pg_database, "CREATE TABLE shared AS SELECT g AS id FROM generate_series(1, 5000) g")
    resource = registry.connector("postgres").make_resource(_connection_settings(postgres_server, pg_database), Path("."))
    request = ReadRequest(ReadSpec(table="shared"))

    def open_sessions() -> list[int]:
        return [pid for (pid,) in postgres_server.execute(
            pg_database, "SELECT pid FROM pg_stat_activity WHERE application_name = 'ingest_assets'")]

    def load(home: PostgresHome) -> int:
        assert home.max_value(request.spec, "id") == 5000
        assert home.estimate_rows(request).rows is not None and home.source_query(request).text
        with home.read(request) as reader:
            return sum(batch.num_rows for batch in reader)

    with dg.build_resources({"pg": resource}) as resources:  # a step's resources: set up, then torn down
        first = PostgresHome(resources.pg)
        first.max_value(request.spec, "id")
        [session] = open_sessions()
        assert load(first) == 5000
        assert open_sessions() == [session], "questions and read went on in one connection, kept for the next load"
        assert load(PostgresHome(resources.pg)) == 5000
        assert open_sessions() == [session], "the step's next load took it"
        # A connection the server dropped while it waited is replaced, and the load does not notice.
        postgres_server.execute(pg_database, f"SELECT pg_terminate_backend({session})")
        assert load(PostgresHome(resources.pg)) == 5000
        [replaced] = open_sessions()
        assert replaced != session
        # A home dropped before its read (a failed load, a sensor's max) closes what it holds.
        dropped = PostgresHome(resources.pg)
        dropped.max_value(request.spec, "id")
        del dropped
        assert open_sessions() == []
        assert load(PostgresHome(resources.pg)) == 5000
        assert len(open_sessions()) == 1
    assert open_sessions() == [], "the step's teardown closes the idle connection"


def _connection_settings(server, database: str, **settings):
    from ingest_assets.connectors.postgres import PostgresConnection

    return PostgresConnection(type="postgres", host=server.socket_dir, database=database, user=server.user, **settings)
