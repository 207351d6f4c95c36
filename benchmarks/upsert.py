"""Upserting N/10 changed rows into an N-row table (N = 5M): ingest_assets against the engine's own SQL.

Three stores hold the same N-row table (`id bigint` write key, a 6-value text, a 25%-null text,
numeric(12,2), two timestamptz, bool): a real PostgreSQL (the `pgserver` wheel, on a unix socket),
a DuckDB file, and an ingest_assets Parquet store. The changes are one Parquet file read by a `parquet`
home: N/20 updates of existing keys (every 20th id, every other column changed, status 'changed')
and N/20 new keys, in no particular key order. Data and the N-row starting state of each store are
generated once (the starting state by a first ingest_assets load) and cached in benchmarks/.work/.

For each store, every round resets the target to the cached N-row state (a template database, a copy of
the DuckDB file, a copy of the Parquet store folder; not timed), then runs each path as its own process,
measured from outside (wall time, peak RSS of the process tree):

- engine SQL (the yardstick), the same upsert written by hand: PostgreSQL, the Parquet rows read with
  pyarrow and sent as CSV through psycopg's `COPY` into a temporary table, then
  `INSERT ... ON CONFLICT (id) DO UPDATE`; DuckDB, `MERGE INTO ... USING read_parquet(...)`; Parquet,
  DuckDB writes a new dataset (the current rows `ANTI JOIN` the changes, `UNION ALL` the changes) that
  replaces the old folder by rename;
- ingest: `dagster asset materialize` of an entity with `write_strategy: upsert, write_key: [id]`;
  the step alone is read back from the run's event log (Dagster's `STEP_SUCCESS` duration, and the
  materialization's `ingest/duration_seconds`).

The engine SQL runs first in each pair, so their ratio cancels the drift of a noisy machine. After
every run the target is checked: row count N + N/20, sum(id), sum(amount), count(note), which ids
carry the changed values, and the values of a few updated and inserted rows.

    .venv/bin/python benchmarks/upsert.py [--rows 5000000] [--rounds 3] [--only postgres duckdb parquet]
        [--profile] [--keys]

`--profile` also runs the ingest path once per store in process under cProfile and reports where
its time goes (on PostgreSQL also each statement's time on the server, for both paths). `--keys`
declares `keys: [id]` instead of `write_key: [id]`, so the commit also measures null and duplicate
keys for the asset checks; its section is separate. The section goes to benchmarks/RESULTS.md (to .work/RESULTS.quick.md for other sizes
or with --only).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from _common import (
    BENCH_DIR,
    PYTHON,
    REPO_ROOT,
    WORK_DIR,
    ChildResult,
    StepTimes,
    cached_server,
    last_step_times,
    log,
    machine_lines,
    markdown_table,
    median,
    package_version,
    replace_section,
    run_command,
    server_version,
)

DEFAULT_ROWS = 5_000_000
DEFAULT_ROUNDS = 3
DATA_VERSION = 2  # bump when the generated data or the starting state changes, so caches are rebuilt
ROOT = WORK_DIR / "upsert"
RESULTS = BENCH_DIR / "RESULTS.md"
QUICK_RESULTS = WORK_DIR / "RESULTS.quick.md"
TITLE = "## Upsert into PostgreSQL, DuckDB and Parquet stores"
STORES = ("postgres", "duckdb", "parquet")
AIM = 1.5  # the aim: ingest within 1.5x of the engine's own SQL
ENTITY = "orders"
PG_TARGET_DB = "upsert_target"  # the starting state of N rows is database `upsert_base_<N>`

# ---- generated rows -----------------------------------------------------------------------------

COLUMNS = ("id", "status", "note", "amount", "created_at", "updated_at", "flag")
STATUSES = "['placed', 'paid', 'packed', 'shipped', 'delivered', 'returned']"
YEAR_MICROS = 365 * 86_400 * 1_000_000
# One row per i of the range; every value derives from hash(i, salt, column), so it is reproducible
# and a changed row (another salt) differs from its first version in every column but the key.
ROWS_SQL = """
SELECT i::BIGINT AS id,
       {status} AS status,
       CASE WHEN hash(i, {salt}, 1) % 4 = 0 THEN NULL ELSE '{note} ' || i END AS note,
       ((hash(i, {salt}, 2) % 100000000)::DECIMAL(18, 0) / 100)::DECIMAL(12, 2) AS amount,
       TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_microseconds((hash(i, {salt}, 3) % {year})::BIGINT) AS created_at,
       created_at + to_microseconds((hash(i, {salt}, 4) % {month})::BIGINT) AS updated_at,
       hash(i, {salt}, 5) % 10 < 6 AS flag
FROM range({start}, {stop}, {step}) AS t(i)"""
PARQUET_OPTIONS = "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 262144)"


def rows_sql(start: int, stop: int, step: int = 1, changed: bool = False) -> str:
    # Not a constant: DuckDB writes a constant column as `not null`, and the base and the
    # changes must have one schema.
    status = "CASE WHEN i > 0 THEN 'changed' END" if changed else f"{STATUSES}[1 + (hash(i, 0, 0) % 6)::INTEGER]"
    return ROWS_SQL.format(status=status, salt=1 if changed else 0, note="changed" if changed else "note",
                           year=YEAR_MICROS, month=YEAR_MICROS // 12, start=start, stop=stop, step=step)


def changes_sql(rows: int) -> str:
    """Every 20th existing id updated, and as many new ids after the last, in a hashed (not key) order."""
    updates = rows_sql(20, rows + 1, 20, changed=True)
    inserts = rows_sql(rows + 1, rows + rows // 20 + 1, changed=True)
    return f"SELECT * FROM ({updates} UNION ALL {inserts}) ORDER BY hash(id)"


def upserted_sql(current: str, changes: str) -> str:
    """The rows of Parquet `current` whose id is not in `changes`, then the changes (the upsert's result)."""
    # `ANTI JOIN ... USING (id)` before UNION ALL fails to bind in this DuckDB ("* expression without FROM").
    return (f"SELECT cur.* FROM read_parquet('{current}') AS cur ANTI JOIN read_parquet('{changes}') AS chg "
            f"ON cur.id = chg.id UNION ALL SELECT * FROM read_parquet('{changes}')")


def update_count(rows: int) -> int:
    return rows // 20


@dataclass(frozen=True)
class Checksum:
    """What a table must hold after the upsert; equal across engines (Decimal and int compare by value)."""

    rows: int
    sum_id: int
    sum_amount: Decimal
    notes: int  # non-null notes
    sum_changed_id: int  # sum of the ids whose row carries the changed values

    @classmethod
    def from_row(cls, row: tuple) -> Checksum:
        return cls(int(row[0]), int(row[1]), Decimal(row[2]), int(row[3]), int(row[4]))


CHECKSUM_SQL = ("SELECT count(*), sum(id), sum(amount), count(note), "
                "sum(CASE WHEN status = 'changed' THEN id ELSE 0 END) FROM {table}")
# A few rows whose values must be the changes' (first, middle and last updated id, two new ids).
SPOT_SQL = ("SELECT id, status, note, amount, CAST(round(extract(epoch FROM updated_at)) AS BIGINT) FROM {table} "
            "WHERE id IN ({ids}) ORDER BY id")


def spot_ids(rows: int) -> list[int]:
    middle = (rows // 2) // 20 * 20
    return [20, middle, rows // 20 * 20, rows + 1, rows + rows // 20]


@dataclass(frozen=True)
class Data:
    rows: int
    base: Path  # folder with base.parquet: the N-row starting state
    changes: Path  # folder with changes.parquet: the N/10 changed rows (a parquet home's folder)
    expected: Checksum  # the table after the upsert
    spot: list[tuple]  # the spot rows after the upsert

    @property
    def changes_file(self) -> Path:
        return self.changes / "changes.parquet"


def duckdb_connect(database: str = ":memory:"):
    import duckdb

    connection = duckdb.connect(database)
    connection.execute("SET TimeZone = 'UTC'")
    return connection


def ensure_data(rows: int) -> Data:
    """The base rows and the changes as Parquet, generated by DuckDB once per size and data version."""
    folder = ROOT / f"data_{rows}"
    marker = folder / "_complete.json"
    base, changes = folder / "base", folder / "changes"
    if not (marker.exists() and json.loads(marker.read_text()).get("version") == DATA_VERSION):
        log(f"upsert: generating {rows:,} base rows and {rows // 10:,} changes in {folder}")
        shutil.rmtree(folder, ignore_errors=True)
        base.mkdir(parents=True)
        changes.mkdir()
        with closing(duckdb_connect()) as connection:
            connection.execute(f"COPY ({rows_sql(1, rows + 1)}) TO '{base / 'base.parquet'}' {PARQUET_OPTIONS}")
            connection.execute(f"COPY ({changes_sql(rows)}) TO '{changes / 'changes.parquet'}' {PARQUET_OPTIONS}")
            after = f"({upserted_sql(f'{base}/*.parquet', f'{changes}/*.parquet')}) AS t"
            expected = connection.execute(CHECKSUM_SQL.format(table=after)).fetchone()
            ids = ", ".join(str(i) for i in spot_ids(rows))
            spot = connection.execute(SPOT_SQL.format(table=after, ids=ids)).fetchall()
        marker.write_text(json.dumps({"version": DATA_VERSION, "expected": [str(v) for v in expected],
                                      "spot": [[str(v) for v in row] for row in spot]}))
    saved = json.loads(marker.read_text())
    return Data(rows, base, changes, Checksum.from_row(tuple(saved["expected"])),
                [tuple(row) for row in saved["spot"]])


def normalized(rows: list[tuple]) -> list[tuple]:
    """Spot rows as text (as the cache keeps them), so every engine's Python types compare alike."""
    return [tuple(str(v) for v in row) for row in rows]


def check_table(label: str, checksum_row: tuple, spot_rows: list[tuple], data: Data) -> None:
    """Raise unless the table holds exactly the expected rows: a fast wrong answer must not pass."""
    found = Checksum.from_row(checksum_row)
    if found != data.expected:
        raise AssertionError(f"{label}: the table's checksum {found} differs from the expected {data.expected}")
    if normalized(spot_rows) != normalized(data.spot):
        raise AssertionError(f"{label}: spot rows {normalized(spot_rows)} differ from {normalized(data.spot)}")


# ---- the PostgreSQL server ----------------------------------------------------------------------


# ---- Dagster: the project, the CLI run, and the step's own time ---------------------------------


def fresh_dagster_home(home: Path) -> None:
    """An empty instance with the repository's settings (telemetry off)."""
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    settings = (REPO_ROOT / "dagster.yaml").read_text()
    assert "telemetry:\n  enabled: false" in settings, "the repository's dagster.yaml must turn telemetry off"
    (home / "dagster.yaml").write_text(settings)


def write_flows(flows: Path, connections: str, entities: dict[str, tuple[str, str]]) -> Path:
    """`flows/` with `connections` (indented for ingest.yml) and, per flow, (flow.yml, entity file)."""
    shutil.rmtree(flows, ignore_errors=True)
    (flows).mkdir(parents=True)
    (flows / "ingest.yml").write_text(f"name: bench_stores\nconnections:\n{connections}")
    for flow, (flow_file, entity_file) in entities.items():
        (flows / flow / "entities").mkdir(parents=True)
        (flows / flow / "flow.yml").write_text(flow_file)
        (flows / flow / "entities" / f"{ENTITY}.yml").write_text(entity_file)
    return flows


def materialize_argv(selection: str) -> list[str]:
    return [str(Path(PYTHON).parent / "dagster"), "asset", "materialize", "-m", "ingest_assets.definitions",
            "--select", selection]


def run_materialize(selection: str, flows: Path, home: Path, label: str) -> ChildResult:
    """`dagster asset materialize` as a user runs it, measured; the instance's paths land in `home`."""
    return run_command(materialize_argv(selection), label, cwd=home,
                       env={"INGEST_FLOWS_DIR": str(flows), "DAGSTER_HOME": str(home)}, timeout_seconds=1800)


# ---- the stores: starting state, reset, engine SQL and check -----------------------------------


@dataclass
class Store:
    """One store under test: how to build its starting state once, reset it, run and check each path."""

    name: str
    title: str  # the store, for the report
    sql_title: str  # the engine-SQL path, for the report
    flow: str  # the ingest flow writing this store (`bench_<name>`)
    connection_yaml: str  # its `connections:` entry in ingest.yml (indented)
    cached: Callable[[], bool]  # the starting state exists and was built from this data version
    save_base: Callable[[], None]  # after the first load into the target: keep it as the starting state
    reset: Callable[[], None]  # the target back to the starting state
    sql_args: Callable[[Data], list[str]]  # the engine-SQL child's arguments (after the store's name)
    read_back: Callable[[str], tuple[tuple, list[tuple]]]  # (checksum row, spot rows) after path "sql"/"ingest"
    notes: list[str] = field(default_factory=list)  # what the report must say about the set-up


def _marker(name: str, rows: int) -> Path:
    return ROOT / f"base_{name}_{rows}.json"


def _is_cached(name: str, rows: int) -> bool:
    marker = _marker(name, rows)
    return marker.exists() and json.loads(marker.read_text()) == {"version": DATA_VERSION}


def _mark_cached(name: str, rows: int) -> None:
    _marker(name, rows).write_text(json.dumps({"version": DATA_VERSION}))  # written last


def postgres_store(server, rows: int) -> Store:
    table = f"bench_postgres.{ENTITY}"
    spot = SPOT_SQL.format(table=table, ids=", ".join(str(i) for i in spot_ids(rows)))
    notes: list[str] = []
    base_db = f"upsert_base_{rows}"

    def cached() -> bool:
        exists = server.execute("postgres", "SELECT 1 FROM pg_database WHERE datname = %s", (base_db,))
        return _is_cached("postgres", rows) and bool(exists)

    def save_base() -> None:
        _ensure_unique_key(server, table, notes)
        server.execute(PG_TARGET_DB, f"VACUUM (FREEZE, ANALYZE) {table}")
        with server.connect() as connection:
            connection.execute("CHECKPOINT")
            connection.execute(f'DROP DATABASE IF EXISTS "{base_db}" WITH (FORCE)')
            connection.execute(f'ALTER DATABASE "{PG_TARGET_DB}" RENAME TO "{base_db}"')
        _mark_cached("postgres", rows)

    def reset() -> None:
        with server.connect() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{PG_TARGET_DB}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{PG_TARGET_DB}" TEMPLATE "{base_db}" STRATEGY FILE_COPY')
            connection.execute("CHECKPOINT")

    def read_back(path: str) -> tuple[tuple, list[tuple]]:
        return server.execute(PG_TARGET_DB, CHECKSUM_SQL.format(table=table))[0], server.execute(PG_TARGET_DB, spot)

    return Store("postgres", f"PostgreSQL {server_version(server)} (`pgserver`, default settings)",
                 "pyarrow -> CSV -> psycopg `COPY` into a temp table, `INSERT ... ON CONFLICT (id) DO UPDATE`",
                 "bench_postgres", "  pg:\n" + server.connection_yaml(PG_TARGET_DB) + "\n",
                 cached=cached, save_base=save_base, reset=reset,
                 sql_args=lambda data: [server.uri(PG_TARGET_DB), table, str(data.changes_file)],
                 read_back=read_back, notes=notes)


def _ensure_unique_key(server, table: str, notes: list[str]) -> None:
    """`ON CONFLICT (id)` needs a unique index on id; note it if the first load did not create one."""
    schema, name = table.split(".")
    indexes = server.execute(PG_TARGET_DB, "SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND "
                             "tablename = %s AND indexdef LIKE 'CREATE UNIQUE%%'", (schema, name))
    if not indexes:
        log(f"upsert: {table} has no unique index after ingest_assets' first load; adding a primary key")
        server.execute(PG_TARGET_DB, f"ALTER TABLE {table} ADD PRIMARY KEY (id)")
        notes.append(f"the first ingest_assets load created {table} without a unique index on the write key; "
                           "the benchmark added `PRIMARY KEY (id)`, which `ON CONFLICT` needs")


def duckdb_store(rows: int) -> Store:
    folder = ROOT / "duckdb"
    target, base = folder / "warehouse.duckdb", folder / f"base_{rows}.duckdb"
    table = f"bench_duckdb.{ENTITY}"
    spot = SPOT_SQL.format(table=table, ids=", ".join(str(i) for i in spot_ids(rows)))

    def save_base() -> None:
        shutil.copyfile(target, base)
        _mark_cached("duckdb", rows)

    def reset() -> None:
        for leftover in (folder / "warehouse.duckdb.wal", folder / "warehouse.duckdb.staging"):
            shutil.rmtree(leftover, ignore_errors=True) if leftover.is_dir() else leftover.unlink(missing_ok=True)
        shutil.copyfile(base, target)

    def read_back(path: str) -> tuple[tuple, list[tuple]]:
        with closing(duckdb_connect(str(target))) as connection:
            return (connection.execute(CHECKSUM_SQL.format(table=table)).fetchone(),
                    connection.execute(spot).fetchall())

    folder.mkdir(parents=True, exist_ok=True)
    return Store("duckdb", f"DuckDB {package_version('duckdb')} file", "DuckDB `MERGE INTO ... USING read_parquet(...)`",
                 "bench_duckdb", f"  warehouse:\n    type: duckdb\n    path: '{target}'\n",
                 cached=lambda: _is_cached("duckdb", rows) and base.exists(), save_base=save_base, reset=reset,
                 sql_args=lambda data: [str(target), table, str(data.changes_file)], read_back=read_back)


def parquet_store(rows: int) -> Store:
    """The ingest path writes the store (`lake/`); the engine SQL a plain folder of the same files."""
    folder = ROOT / "parquet"
    lake, base = folder / "lake", folder / f"base_{rows}"
    dataset = folder / "dataset"  # the engine SQL's table: the starting version's files, as a user keeps them
    link = lake / "bench_parquet" / ENTITY

    def save_base() -> None:
        shutil.rmtree(base, ignore_errors=True)
        shutil.copytree(lake, base, symlinks=True)  # the store's link is relative: the copy stands alone
        _mark_cached("parquet", rows)

    def reset() -> None:
        shutil.rmtree(lake, ignore_errors=True)
        shutil.copytree(base, lake, symlinks=True)
        shutil.rmtree(dataset, ignore_errors=True)
        dataset.mkdir()
        for part in sorted(link.resolve().glob("*.parquet")):
            shutil.copyfile(part, dataset / part.name)

    def read_back(path: str) -> tuple[tuple, list[tuple]]:
        source = dataset if path == "sql" else link
        table = f"read_parquet('{source}/*.parquet')"
        with closing(duckdb_connect()) as connection:
            ids = ", ".join(str(i) for i in spot_ids(rows))
            return (connection.execute(CHECKSUM_SQL.format(table=table)).fetchone(),
                    connection.execute(SPOT_SQL.format(table=table, ids=ids)).fetchall())

    folder.mkdir(parents=True, exist_ok=True)
    return Store("parquet", "ingest_assets Parquet store (versioned folder, zstd)",
                 "DuckDB `COPY (current ANTI JOIN changes UNION ALL changes) TO` a new folder, swapped by rename",
                 "bench_parquet", f"  lake:\n    type: parquet\n    path: '{lake}'\n",
                 cached=lambda: _is_cached("parquet", rows) and base.exists(), save_base=save_base, reset=reset,
                 sql_args=lambda data: [str(dataset), str(data.changes_file)], read_back=read_back)


# ---- the engine-SQL children (run as `upsert.py child <store> ...`, in their own process) -------


def sql_postgres(uri: str, table: str, changes: str) -> None:
    """COPY the changes into a temporary table, then one INSERT ... ON CONFLICT, in one transaction."""
    import psycopg
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    source = pq.ParquetFile(changes)
    names = source.schema_arrow.names
    columns = ", ".join(names)
    updates = ", ".join(f"{name} = excluded.{name}" for name in names if name != "id")
    options = pa_csv.WriteOptions(include_header=False)
    with psycopg.connect(uri) as connection:  # commits on leaving the block
        connection.execute(f"CREATE TEMPORARY TABLE changes (LIKE {table}) ON COMMIT DROP")
        with connection.cursor() as cursor, cursor.copy(f"COPY changes ({columns}) FROM STDIN (FORMAT csv)") as copy:
            for batch in source.iter_batches(batch_size=65_536):
                sink = pa.BufferOutputStream()
                pa_csv.write_csv(batch, sink, options)
                copy.write(sink.getvalue())
        connection.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM changes "
                           f"ON CONFLICT (id) DO UPDATE SET {updates}")


def sql_duckdb(database: str, table: str, changes: str) -> None:
    with closing(duckdb_connect(database)) as connection:
        connection.execute(f"MERGE INTO {table} AS t USING read_parquet('{changes}') AS s ON t.id = s.id "
                           "WHEN MATCHED THEN UPDATE WHEN NOT MATCHED THEN INSERT")


def sql_parquet(dataset: str, changes: str) -> None:
    """A new dataset from the current one and the changes, then the folders swapped by rename."""
    folder = Path(dataset)
    building, old = folder.with_name(folder.name + ".new"), folder.with_name(folder.name + ".old")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir()
    with closing(duckdb_connect()) as connection:
        connection.execute(f"COPY ({upserted_sql(f'{folder}/*.parquet', changes)}) TO '{building / 'part-0.parquet'}' "
                           "(FORMAT parquet, COMPRESSION zstd)")
    os.replace(folder, old)
    os.replace(building, folder)
    shutil.rmtree(old)


CHILDREN: dict[str, Callable[..., None]] = {"postgres": sql_postgres, "duckdb": sql_duckdb, "parquet": sql_parquet}


def run_sql_child(store: Store, data: Data, label: str) -> ChildResult:
    return run_command([PYTHON, str(Path(__file__).resolve()), "child", store.name, *store.sql_args(data)], label,
                       timeout_seconds=1800)


# ---- the project and the starting state ---------------------------------------------------------


def upsert_entity(keys: bool = False) -> str:
    """`write_key: [id]`; with `keys`, `keys: [id]` instead (the write key's default), which also makes the
    asset checks measure null and duplicate keys on the committed table."""
    key = "keys: [id]" if keys else "write_key: [id]"
    return f"home:\n  path: '*.parquet'\nwrite_strategy: upsert\n{key}\n"


def write_project(stores: list[Store], home_folder: Path, project: Path, keys: bool = False) -> Path:
    """One flow per store (`bench_<store>`), each with entity `orders` upserting from `home_folder`."""
    connections = f"  src:\n    type: parquet\n    path: '{home_folder}'\n" + "".join(s.connection_yaml for s in stores)
    key = {"postgres": "pg", "duckdb": "warehouse", "parquet": "lake"}
    flows = {s.flow: (f"home: src\nstore: {key[s.name]}\nrun_type: full_drop\n", upsert_entity(keys)) for s in stores}
    return write_flows(project / "flows", connections, flows)


def ensure_base(store: Store, data: Data, server) -> None:
    """The N-row starting state: ingest_assets' own first load of the base rows (into a missing table)."""
    if store.cached():
        return
    log(f"upsert: building the {data.rows:,}-row starting state of the {store.name} store")
    if store.name == "postgres":
        server.create_database(PG_TARGET_DB)
    home = ROOT / "base_dagster_home"
    fresh_dagster_home(home)
    flows = write_project([store], data.base, ROOT / "projects" / f"base_{store.name}")
    _clear_target(store)
    run_materialize(f"{store.flow}/{ENTITY}", flows, home, f"upsert_base_{store.name}")
    store.save_base()


def _clear_target(store: Store) -> None:
    if store.name == "duckdb":
        for path in (ROOT / "duckdb").glob("warehouse.duckdb*"):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    elif store.name == "parquet":
        shutil.rmtree(ROOT / "parquet" / "lake", ignore_errors=True)


# ---- measurement --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    sql: ChildResult
    ingest: ChildResult
    steps: StepTimes

    @property
    def ratio(self) -> float:
        return self.ingest.wall_seconds / self.sql.wall_seconds


def measure_store(store: Store, data: Data, rounds: int, flows: Path, home: Path) -> list[Pair]:
    pairs = []
    for index in range(1 + rounds):  # one warm-up round, unmeasured
        kind = "warm-up" if index == 0 else f"round {index}/{rounds}"
        log(f"upsert: {store.name}, {data.rows:,} rows, {kind}")
        store.reset()
        sql = run_sql_child(store, data, f"upsert_{store.name}_sql_{index}")
        check_table(f"{store.name} engine SQL", *store.read_back("sql"), data)
        store.reset()
        ingest = run_materialize(f"{store.flow}/{ENTITY}", flows, home, f"upsert_{store.name}_ingest_{index}")
        check_table(f"{store.name} ingest_assets", *store.read_back("ingest"), data)
        if index > 0:
            pairs.append(Pair(sql, ingest, last_step_times(home)))
    return pairs


# ---- profile ------------------------------------------------------------------------------------


def profile_child(selection: str, flows: str, output: str) -> None:
    """The ingest run in process under cProfile (the code a step process runs), stats to `output`."""
    import cProfile

    import dagster as dg

    from ingest_assets.defs.factory import build_definitions

    defs = build_definitions(Path(flows))
    job = defs.resolve_implicit_global_asset_job_def()
    key = dg.AssetKey(selection.split("/"))
    profiler = cProfile.Profile()
    profiler.enable()
    result = job.execute_in_process(instance=dg.DagsterInstance.get(), asset_selection=[key])
    profiler.disable()
    if not result.success:
        raise SystemExit("the profiled run failed")
    profiler.dump_stats(output)


@dataclass(frozen=True)
class ProfileLine:
    function: str
    calls: int
    cumulative: float
    own: float


@dataclass(frozen=True)
class Profile:
    total: float  # seconds profiled (the run, in process)
    ingest_functions: list[ProfileLine]  # ingest_assets' functions by cumulative time: which step costs
    own_time: list[ProfileLine]  # any function by its own time: where the time is spent (C calls included)
    # (phase, seconds) of the step, from ingest_assets' functions (see PHASES); absent phases are left out
    phases: list[tuple[str, float]] = field(default_factory=list)
    # PostgreSQL's own time per statement, in order, for each path run with the statement log on
    statements: dict[str, list[StatementTime]] = field(default_factory=dict)


# The step's phases, as (what, the ingest_assets functions that do it): the phase's time is the largest
# cumulative time among them (nested calls are not added twice) unless the entry says otherwise. Names of the code measured; a renamed
# function leaves its phase out of the report.
PHASES = (
    ("the whole step (`_stage`)", ("runtime.materialize._stage",)),
    # Two functions are named `write` there: StagedWriter's (the home's batches) calls ParquetStage's, which
    # rewrites use too; the smaller is the home's.
    ("staging the home's rows as Parquet (`StagedWriter.write`)", ("stores.staging.write",), min),
    ("staging: the last row group, closing the files, counting back (`finish_staging`)",
     ("stores.staging.finish_staging",)),
    ("write-key check: null and duplicate keys (`resolve_duplicate_keys`)", ("stores.staged_keys.resolve_duplicate_keys",)),
    ("SQL store: loading the staging table (`load_staging`, ADBC COPY)", ("stores.sql.load.load_staging",)),
    ("SQL store: the apply transaction (`_apply`: counts, key check, upsert or swap, quality)",
     ("stores.sql.store._apply",)),
    ("SQL store: quality measurements (null and duplicate counts)",
     ("stores.sql.store._null_counts", "stores.sql.store._duplicate_counts")),
    ("DuckDB store: the apply transaction (`_apply`)", ("stores.duckdb._apply",)),
    ("DuckDB store: delete the replaced rows (`_remove_rows`)", ("stores.duckdb._remove_rows",)),
    ("DuckDB store: insert the staged rows (`_insert_staged`)", ("stores.duckdb._insert_staged",)),
    ("Parquet store: building the new version (`_build`)", ("stores.parquet._build",)),
    ("Parquet store: which files hold replaced rows (`_removed_per_file`)", ("stores.parquet._removed_per_file",)),
    ("Parquet store: rewriting those files without them (`_rewrite`, through Arrow)", ("stores.parquet._rewrite",)),
    ("quality measurements and counts (`measure_quality`, `count_rows`)",
     ("stores.measure.measure_quality", "stores.measure.count_rows")),
)


def _phases(lines: list[ProfileLine]) -> list[tuple[str, float]]:
    found = []
    for label, functions, *how in PHASES:
        pick = how[0] if how else max
        times = [p.cumulative for p in lines if p.function.rsplit(":", 1)[0] in functions]
        if times:
            found.append((label, pick(times)))
    return found


def _function_name(filename: str, line: int, name: str) -> str:
    if filename == "~":  # a built-in: "<method 'execute' of '_duckdb.DuckDBPyConnection' objects>"
        return name
    filename = re.sub(r".*/(ingest_assets|site-packages|lib/python3\.\d+)/", "", filename)
    return f"{filename.removesuffix('.py').replace('/', '.')}.{name}:{line}"


def profile_lines(stats_file: Path, limit: int = 16, own_limit: int = 10) -> Profile:
    import pstats

    stats = pstats.Stats(str(stats_file))
    lines, ours = [], []
    for (filename, line, name), (_, calls, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        entry = ProfileLine(_function_name(filename, line, name), calls, cumulative, own)
        lines.append(entry)
        if "/ingest_assets/" in filename:
            ours.append(entry)
    ours.sort(key=lambda p: p.cumulative, reverse=True)
    lines.sort(key=lambda p: p.own, reverse=True)
    return Profile(stats.total_tt, ours[:limit], lines[:own_limit], _phases(ours))  # type: ignore[attr-defined]


def profile_ingest(selection: str, flows: Path, home: Path, label: str) -> Profile:
    """One ingest run of `selection` in process under cProfile, in a child; its top ingest_assets functions."""
    output = WORK_DIR / "logs" / f"{label}.pstats"
    run_command([PYTHON, str(Path(__file__).resolve()), "profile", selection, str(flows), str(output)], label,
                cwd=home, env={"INGEST_FLOWS_DIR": str(flows), "DAGSTER_HOME": str(home)}, timeout_seconds=1800)
    return profile_lines(output)


def run_profile(store: Store, data: Data, flows: Path, home: Path, server) -> Profile:
    """One ingest run under cProfile; on PostgreSQL also both paths' statements as the server timed them."""
    store.reset()
    with statement_log(server if store.name == "postgres" else None, PG_TARGET_DB) as ingest_statements:
        profile = profile_ingest(f"{store.flow}/{ENTITY}", flows, home, f"upsert_{store.name}_profile")
    check_table(f"{store.name} ingest_assets (profiled)", *store.read_back("ingest"), data)
    if store.name == "postgres":
        store.reset()
        with statement_log(server, PG_TARGET_DB) as sql_statements:
            run_sql_child(store, data, f"upsert_{store.name}_sql_logged")
        check_table(f"{store.name} engine SQL (logged)", *store.read_back("sql"), data)
        profile.statements.update({"ingest_assets": ingest_statements, "engine SQL": sql_statements})
    return profile


# ---- PostgreSQL's own time per statement --------------------------------------------------------

DURATION_LINE = re.compile(r"LOG:  duration: ([\d.]+) ms  (statement|execute [^:]*|parse [^:]*|bind [^:]*): (.*)")
SHOWN_MILLISECONDS = 20  # shorter statements are summed up in one line


@dataclass(frozen=True)
class StatementTime:
    milliseconds: float
    statement: str  # "statement: ..." or "execute: ...", whitespace collapsed, shortened


@contextmanager
def statement_log(server, database: str) -> Iterator[list[StatementTime]]:
    """The server's own duration of every statement run in `database` during the block, in order.

    Read from the server's log (pgserver writes it to `<data folder>/log`), with
    `log_min_duration_statement = 0` set for `database` only while the block runs. No server: nothing.
    """
    found: list[StatementTime] = []
    if server is None:
        yield found
        return
    log_file = Path(server.socket_dir) / "log"
    offset = log_file.stat().st_size if log_file.exists() else 0
    server.execute("postgres", f'ALTER DATABASE "{database}" SET log_min_duration_statement = 0')
    try:
        yield found
    finally:
        server.execute("postgres", f'ALTER DATABASE "{database}" RESET log_min_duration_statement')
        if log_file.exists():
            found.extend(parse_durations(log_file, offset))


def parse_durations(log_file: Path, offset: int) -> list[StatementTime]:
    with log_file.open("rb") as handle:
        handle.seek(offset)
        text = handle.read().decode(errors="replace")
    entries: list[list] = []
    current: list | None = None
    for line in text.splitlines():
        if line.startswith("\t") and current is not None:  # a statement's next line
            current[1] += " " + line.strip()
            continue
        match = DURATION_LINE.search(line)
        current = [float(match.group(1)), f"{match.group(2).split()[0]}: {match.group(3)}"] if match else None
        if current is not None:
            entries.append(current)
    return [StatementTime(ms, _shorten(" ".join(statement.split()))) for ms, statement in entries]


def _shorten(statement: str, limit: int = 160) -> str:
    return statement if len(statement) <= limit else statement[:limit - 1] + "…"


def statement_table(statements: list[StatementTime]) -> str:
    shown = [s for s in statements if s.milliseconds >= SHOWN_MILLISECONDS]
    others = [s for s in statements if s.milliseconds < SHOWN_MILLISECONDS]
    rows = [[f"{s.milliseconds / 1000:.2f}", f"`{s.statement.replace('|', '/')}`"] for s in shown]
    rows.append([f"{sum(s.milliseconds for s in others) / 1000:.2f}", f"{len(others)} other statements, each under "
                 f"{SHOWN_MILLISECONDS} ms"])
    rows.append([f"**{sum(s.milliseconds for s in statements) / 1000:.2f}**", "**total on the server**"])
    return markdown_table(["server s", "statement (in order)"], rows)


# ---- report -------------------------------------------------------------------------------------


def _spread(values: list[float], digits: int = 2, prefix: str = "") -> str:
    if len(values) == 1:
        return f"{prefix}{values[0]:.{digits}f}"
    return f"{prefix}{median(values):.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def _step_ratios(pairs: list[Pair], attribute: str) -> list[float]:
    return [getattr(p.steps, attribute) / p.sql.wall_seconds for p in pairs if getattr(p.steps, attribute)]


def results_table(measured: dict[str, list[Pair]], stores: dict[str, Store]) -> str:
    rows = []
    for name, pairs in measured.items():
        store = stores[name]
        sql_runs, ingest_runs = [p.sql for p in pairs], [p.ingest for p in pairs]
        steps = [p.steps.step_seconds for p in pairs if p.steps.step_seconds]
        ingest_only = [p.steps.ingest_seconds for p in pairs if p.steps.ingest_seconds]
        rows.append([store.title, f"engine SQL: {store.sql_title}", "x1 (yardstick)",
                     _spread([r.wall_seconds for r in sql_runs]), "–", "–",
                     f"{max(r.peak_tree_rss_mib for r in sql_runs):.0f}",
                     f"{median([r.cpu_seconds for r in sql_runs]):.1f}", "yes"])
        rows.append([store.title, "ingest_assets `dagster asset materialize` (`write_strategy: upsert`)",
                     f"**{_spread([p.ratio for p in pairs], prefix='x')}**",
                     _spread([r.wall_seconds for r in ingest_runs]),
                     f"{median(steps):.2f}, {_spread(_step_ratios(pairs, 'step_seconds'), prefix='x')}" if steps else "–",
                     f"{median(ingest_only):.2f}, {_spread(_step_ratios(pairs, 'ingest_seconds'), prefix='x')}"
                     if ingest_only else "–",
                     f"{max(r.peak_tree_rss_mib for r in ingest_runs):.0f} "
                     f"(largest process {max(r.peak_rss_mib for r in ingest_runs):.0f})",
                     f"{median([r.cpu_seconds for r in ingest_runs]):.1f}", "yes"])
    return markdown_table(
        ["store", "path", "x engine SQL, paired median (min–max)", "wall s, median (min–max)",
         "step alone s (`STEP_SUCCESS`), x engine SQL", "`ingest/duration_seconds`, x engine SQL",
         "peak RSS MiB, process tree", "client CPU s", "result checked"],
        rows,
    )


def verdict_lines(measured: dict[str, list[Pair]]) -> list[str]:
    lines = []
    for name, pairs in measured.items():
        whole = median([p.ratio for p in pairs])
        steps = _step_ratios(pairs, "step_seconds")
        step = median(steps) if steps else float("nan")
        verdict = "PASS" if whole <= AIM else "FAIL"
        lines.append(f"- **{verdict}** {name}: ingest_assets x{whole:.2f} the engine's SQL, whole command "
                     f"(aim x{AIM}); the step alone x{step:.2f}")
    return lines


def reading_line(name: str, whole: float, step: float | None, yardstick: str, profile: Profile | None) -> str:
    """What dominates: Dagster around the step against the step, and the step's largest phases."""
    if step is None:
        return f"- reading, {name}: the step's own time was not found in the event log"
    line = (f"- reading, {name}: of the {whole:.1f} s command, {whole - step:.1f} s are Dagster around the step "
            f"(CLI, the code-location load, run bookkeeping) and {step:.1f} s the step, against {yardstick}")
    if profile is not None:
        phases = sorted(profile.phases[1:], key=lambda phase: phase[1], reverse=True)[:2]
        line += "; the step's largest phases: " + ", ".join(f"{label} {seconds:.1f} s" for label, seconds in phases)
    return line


def reading_lines(measured: dict[str, list[Pair]], profiles: dict[str, Profile]) -> list[str]:
    lines = []
    for name, pairs in measured.items():
        steps = [p.steps.step_seconds for p in pairs if p.steps.step_seconds]
        sql = median([p.sql.wall_seconds for p in pairs])
        lines.append(reading_line(name, median([p.ingest.wall_seconds for p in pairs]),
                                  median(steps) if steps else None, f"{sql:.1f} s of engine SQL", profiles.get(name)))
    return lines


def profile_section(profiles: dict[str, Profile]) -> list[str]:
    lines = []
    for name, profile in profiles.items():
        lines += [f"Where the step's time goes, {name} (one run in process under cProfile, {profile.total:.2f} s "
                  "profiled, which slows Python code more than native code):", "",
                  markdown_table(["phase", "s"], [[label, f"{seconds:.2f}"] for label, seconds in profile.phases]),
                  "", "The same run: ingest_assets' functions by cumulative time, then any function by its own time:",
                  ""]
        for entries in (profile.ingest_functions, profile.own_time):
            lines.append(markdown_table(
                ["function", "calls", "cumulative s", "own s"],
                [[f"`{p.function}`", str(p.calls), f"{p.cumulative:.2f}", f"{p.own:.2f}"] for p in entries]))
            lines.append("")
        for path, statements in profile.statements.items():
            lines += [f"PostgreSQL's own time per statement, {path} (`log_min_duration_statement = 0`, one run):", "",
                      statement_table(statements), ""]
    return lines


def title(keys: bool) -> str:
    return TITLE + (" (`keys: [id]`: key checks on the committed table)" if keys else "")


def report(data: Data, rounds: int, measured: dict[str, list[Pair]], stores: dict[str, Store], command: str,
           versions: str, profiles: dict[str, Profile], keys: bool = False) -> str:
    changes_mib = data.changes_file.stat().st_size / 2**20
    entity = ("The entity declares `keys: [id]` (the write key's default), so the commit also measures null "
              "and duplicate keys on the whole committed table for the asset checks. " if keys else "")
    lines = [
        title(keys),
        "",
        entity +
        f"Upsert of {data.rows // 10:,} changed rows ({update_count(data.rows):,} updates of existing keys, every "
        f"20th id, and {data.rows // 20:,} new keys; one {changes_mib:.1f} MiB Parquet file read by a `parquet` home) "
        f"into a {data.rows:,}-row table: `id bigint` write key, a 6-value text, a 25%-null text, numeric(12,2), "
        "two timestamptz, bool. The starting state is ingest_assets' own first load of the base rows, cached and "
        "restored before every run (not timed). Each path is a fresh process timed from outside; per store 1 "
        f"warm-up round, then {rounds} round(s), each pairing the engine's own SQL (run first) with ingest_assets "
        "on the same starting state. After every run the table is checked: row count "
        f"{data.expected.rows:,}, sum(id), sum(amount), count(note), the ids carrying changed values, and 5 "
        "spot rows. PostgreSQL runs on the same 2 cores over a unix socket; its memory is not counted (in "
        "either path). `step alone` is Dagster's `STEP_SUCCESS` duration (the step process, without the CLI "
        "and code-location loads); `ingest/duration_seconds` the materialization's own figure (read to commit).",
        "",
        *machine_lines(),
        f"- database and clients: {versions}",
        f"- reproduce: `{command}`",
        "",
        results_table(measured, stores),
        "",
        *verdict_lines(measured),
        *reading_lines(measured, profiles),
        *[f"- note ({s.name}): {note}" for s in stores.values() for note in s.notes],
        "",
        *profile_section(profiles),
    ]
    return "\n".join(lines).rstrip("\n") + "\n"


def versions_line(server) -> str:
    packages = ("pgserver", "psycopg", "duckdb", "pyarrow", "dagster")
    pg = f"PostgreSQL {server_version(server)}, " if server is not None else ""
    return pg + ", ".join(f"{p} {package_version(p)}" for p in packages)


@contextmanager
def maybe_server(needed: bool) -> Iterator[object]:
    if not needed:
        yield None
        return
    with cached_server(WORK_DIR / "sql_stores") as server:
        yield server


def build_stores(names: list[str], server, rows: int) -> dict[str, Store]:
    makers = {"postgres": lambda: postgres_store(server, rows), "duckdb": lambda: duckdb_store(rows),
              "parquet": lambda: parquet_store(rows)}
    return {name: makers[name]() for name in names}


def run(rows: int = DEFAULT_ROWS, rounds: int = DEFAULT_ROUNDS, only: list[str] | None = None,
        profile: bool = False, keys: bool = False) -> str:
    names = [s for s in STORES if s in (only or STORES)]
    command = f".venv/bin/python benchmarks/upsert.py --rows {rows} --rounds {rounds}"
    command += (" --only " + " ".join(only) if only else "") + (" --profile" if profile else "")
    command += " --keys" if keys else ""
    data = ensure_data(rows)
    with maybe_server("postgres" in names) as server:
        stores = build_stores(names, server, rows)
        for store in stores.values():
            ensure_base(store, data, server)
        home = ROOT / "dagster_home"
        fresh_dagster_home(home)
        flows = write_project(list(stores.values()), data.changes, ROOT / "projects" / "upsert", keys)
        measured = {name: measure_store(store, data, rounds, flows, home) for name, store in stores.items()}
        profiles = ({name: run_profile(store, data, flows, home, server) for name, store in stores.items()}
                    if profile else {})
        return report(data, rounds, measured, stores, command, versions_line(server), profiles, keys)


def child_main(argv: list[str]) -> None:
    """`upsert.py child <store> ARGS...` (engine SQL) or `upsert.py profile SELECTION FLOWS OUTPUT`."""
    if argv[0] == "child":
        CHILDREN[argv[1]](*argv[2:])
    else:
        profile_child(*argv[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="rows of the starting table (changes: 1/10)")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="measured rounds after one warm-up")
    parser.add_argument("--only", nargs="+", metavar="STORE", choices=STORES, help=f"these stores only: {' '.join(STORES)}")
    parser.add_argument("--profile", action="store_true", help="also profile one ingest run per store (cProfile)")
    parser.add_argument("--keys", action="store_true",
                        help="the entity declares `keys: [id]` (key checks measured on the committed table); "
                             "its own section")
    args = parser.parse_args()
    section = run(args.rows, args.rounds, args.only, args.profile, args.keys)
    print(section)
    output = RESULTS if args.rows == DEFAULT_ROWS and not args.only else QUICK_RESULTS
    replace_section(output, section)
    log(f"section '{title(args.keys)[3:]}' written to {output.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("child", "profile"):
        child_main(sys.argv[1:])
    else:
        main()
