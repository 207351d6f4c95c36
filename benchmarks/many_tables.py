"""Many small tables into the lake: ingest_assets against dlt, sling and a plain polars loop (issue 14).

N tables (200 by default) of R rows (20,000) each, in SQLite and in PostgreSQL, are moved into
Parquet. What it shows is the cost per table (start-up, bookkeeping, scheduling) more than the
cost per row. The paths, each a fresh process tree timed from outside (`_measure.py`: wall, CPU,
peak RSS of the tree):

- **ingest** (`dagster asset materialize --select '*'`) and **ingest-dg** (`dg launch --assets '*'`,
  when the `dg` CLI is installed in the venv): a generated project, one flow, one entity per table,
  `options.concurrency: 2`, a fresh Dagster instance (DAGSTER_HOME) per run, whose event log gives
  the breakdown: step start-up, work, and the gaps between steps;
- **dlt**: one `sql_database` source of the N tables into a filesystem destination as Parquet;
- **sling**: one replication of the N streams into local Parquet files (`SLING_THREADS=2`);
- **loop**: `pl.read_database_uri(...)` -> `write_parquet(...)`, one table after the other.

Every output must hold R rows per table (Parquet footers).

    .venv/bin/python benchmarks/many_tables.py [--tables 200] [--rows 20000] [--homes sqlite postgres]
        [--tools ingest ingest-dg dlt sling loop] [--runs 1] [--quick]

It prints its markdown section and puts it in benchmarks/RESULTS.md in place of the previous one
(in .work/RESULTS.quick.md for other sizes, homes or tools).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from _common import (
    BENCH_DIR,
    PYTHON,
    REPO_ROOT,
    WORK_DIR,
    ChildFailed,
    ChildResult,
    cached_server,
    log,
    machine_lines,
    markdown_table,
    median,
    package_version,
    replace_section,
    run_command,
    run_workload,
    server_version,
)

DEFAULT_TABLES = 200
DEFAULT_ROWS = 20_000
QUICK_TABLES, QUICK_ROWS = 20, 2_000
DEFAULT_RUNS = 1
HOMES = ("sqlite", "postgres")
TOOLS = ("ingest", "ingest-dg", "dlt", "sling", "loop")  # the order of each round
CONCURRENCY = 2  # options.concurrency of the project; sling gets as many threads
DATA_VERSION = 2  # bump when the generated tables change, so cached tables are rebuilt
ROOT = WORK_DIR / "many_tables"
RESULTS = BENCH_DIR / "RESULTS.md"
QUICK_RESULTS = WORK_DIR / "RESULTS.quick.md"  # as run_all.py --quick
TITLE = "## Many tables -> Parquet"
FLOW = "many"
SCHEMA = "many"  # PostgreSQL schema of the tables
TIMEOUT_SECONDS = 3600
LOOP_LIMIT = 2.0  # the goal: ingest_assets within x2 of the plain loop

BIN = Path(PYTHON).parent


def table_names(tables: int) -> list[str]:
    return [f"t_{index:03d}" for index in range(tables)]


# ---- the sources --------------------------------------------------------------------------------

# bigint primary key, int, numeric(12,2), text (6 values), text with 25% NULL, timestamp, boolean.
SQLITE_CREATE = """
CREATE TABLE {table} (
    id BIGINT PRIMARY KEY, customer_id INTEGER, amount NUMERIC(12, 2), status TEXT, note TEXT,
    created_at TIMESTAMP, flag BOOLEAN
)"""
# Deterministic values from the row number and the table's index (SQLite's random() has no seed). Amounts
# always have cents: a whole amount would be stored as an INTEGER (NUMERIC affinity), and connectorx types
# a NUMERIC column from its first row, failing on the other storage class later.
SQLITE_FILL = """
WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < :rows)
INSERT INTO {table}
SELECT x,
       1 + (x * 7919 + :t * 104729) % 2000000,
       ((x * 48271 + :t * 16807) % 1000000) + (1 + (x * 7 + :t) % 99) / 100.0,
       CASE (x * 13 + :t) % 6 WHEN 0 THEN 'placed' WHEN 1 THEN 'paid' WHEN 2 THEN 'packed'
            WHEN 3 THEN 'shipped' WHEN 4 THEN 'delivered' ELSE 'returned' END,
       CASE WHEN (x * 31 + :t) % 4 = 0 THEN NULL ELSE printf('note %025d', (x * 2654435761 + :t) % 1000000007) END,
       datetime(1735689600 + (x * 7919 + :t * 31) % 31536000, 'unixepoch'),
       (x * 17 + :t) % 10 < 6
FROM g"""

POSTGRES_CREATE = """
CREATE TABLE {schema}.{table} (
    id bigint PRIMARY KEY, customer_id int, amount numeric(12, 2), status text, note text,
    created_at timestamp, flag boolean
)"""
POSTGRES_FILL = """
INSERT INTO {schema}.{table}
SELECT g,
       (1 + floor(random() * 2000000))::int,
       round((random() * 1000000)::numeric, 2),
       (ARRAY['placed', 'paid', 'packed', 'shipped', 'delivered', 'returned'])[1 + floor(random() * 6)::int],
       CASE WHEN random() < 0.25 THEN NULL ELSE 'note ' || substr(md5(random()::text), 1, 25) END,
       timestamp '2025-01-01 00:00:00' + random() * interval '365 days',
       random() < 0.6
FROM generate_series(1, %s) AS g"""


def sqlite_source(tables: int, rows: int) -> Path:
    """A database file per row count holding t_000...; tables missing (or of another version) are built."""
    path = ROOT / f"source_{rows}.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS bench_meta (name TEXT PRIMARY KEY, rows INTEGER, "
                           "version INTEGER)")
        built = {name for (name,) in connection.execute(
            "SELECT name FROM bench_meta WHERE rows = ? AND version = ?", (rows, DATA_VERSION))}
        missing = [(index, name) for index, name in enumerate(table_names(tables)) if name not in built]
        if missing:
            log(f"many tables: building {len(missing)} SQLite tables of {rows:,} rows in {path.name}")
        for index, name in missing:
            with connection:  # one transaction per table; the meta row is written with it
                connection.execute(f"DROP TABLE IF EXISTS {name}")
                connection.execute(SQLITE_CREATE.format(table=name))
                connection.execute(SQLITE_FILL.format(table=name), {"rows": rows, "t": index})
                connection.execute("INSERT OR REPLACE INTO bench_meta VALUES (?, ?, ?)", (name, rows, DATA_VERSION))
        if missing:
            connection.execute("ANALYZE")
    return path


def postgres_source(server: Any, tables: int, rows: int) -> None:
    """Schema `many` holding t_000... of `rows` rows; tables missing (or of another size) are built."""
    server.execute("postgres", f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    server.execute("postgres", f"CREATE TABLE IF NOT EXISTS {SCHEMA}.bench_meta (name text PRIMARY KEY, "
                               "rows bigint, version int)")
    built = {name for (name,) in server.execute(
        "postgres", f"SELECT name FROM {SCHEMA}.bench_meta WHERE rows = %s AND version = %s", (rows, DATA_VERSION))}
    missing = [(index, name) for index, name in enumerate(table_names(tables)) if name not in built]
    if not missing:
        return
    log(f"many tables: building {len(missing)} PostgreSQL tables of {rows:,} rows")
    with server.connect() as connection:
        for index, name in missing:
            connection.execute(f"DROP TABLE IF EXISTS {SCHEMA}.{name}")
            connection.execute(POSTGRES_CREATE.format(schema=SCHEMA, table=name))
            connection.execute("SELECT setseed(%s)", (((index * 7919) % 10_000) / 10_000,))
            connection.execute(POSTGRES_FILL.format(schema=SCHEMA, table=name), (rows,))
            # Frozen, hinted and analysed now, so that no measured read pays for it.
            connection.execute(f"VACUUM (FREEZE, ANALYZE) {SCHEMA}.{name}")
            connection.execute(f"INSERT INTO {SCHEMA}.bench_meta VALUES (%s, %s, %s) ON CONFLICT (name) DO UPDATE "
                               "SET rows = excluded.rows, version = excluded.version", (name, rows, DATA_VERSION))
        connection.execute("CHECKPOINT")


@dataclass(frozen=True)
class Home:
    """How each tool reaches one source."""

    name: str  # sqlite | postgres
    connection_yaml: str  # the ingest project's `src` connection (indented 4)
    qualified: dict[str, str]  # table -> the name to select from
    sqlalchemy_url: str  # dlt's credentials
    dlt_schema: str | None
    uri: str  # polars / connectorx
    sling_url: str  # sling's source connection
    sling_stream_prefix: str  # `main.` or `many.`
    version: str


def sqlite_home(tables: int, rows: int) -> Home:
    path = sqlite_source(tables, rows)
    names = table_names(tables)
    return Home(
        "sqlite", f"    type: sqlite\n    path: '{path}'", {name: name for name in names},
        f"sqlite:///{path}", None, f"sqlite://{path}", f"sqlite://{path}", "main.",
        f"SQLite {sqlite3.sqlite_version} (the file in the page cache)",
    )


def postgres_home(server: Any, tables: int, rows: int) -> Home:
    postgres_source(server, tables, rows)
    names = table_names(tables)
    yaml = "\n".join("    " + line for line in server.connection_yaml("postgres").splitlines()
                     if line.strip())
    return Home(
        "postgres", yaml, {name: f"{SCHEMA}.{name}" for name in names},
        f"postgresql+psycopg://{server.user}@/postgres?host={server.socket_dir}", SCHEMA,
        f"postgresql://{server.user}@{quote(server.socket_dir, safe='')}/postgres",
        f"postgresql://{server.user}@/postgres?host={server.socket_dir}&sslmode=disable", f"{SCHEMA}.",
        f"PostgreSQL {server_version(server)} (`pgserver`, default settings, unix socket, same 2 cores)",
    )


# ---- the tools ----------------------------------------------------------------------------------


@dataclass
class Tool:
    name: str
    title: str
    skipped: str | None = None


def _missing(module: str) -> str | None:
    if importlib.util.find_spec(module) is None:
        return f"`{module}` is not installed (`pip install -r benchmarks/requirements.txt`)"
    return None


def _sling_binary() -> tuple[Path, str | None]:
    """The binary of the `sling-linux-amd64` wheel (the `sling` package downloads it at import: offline, fails)."""
    spec = importlib.util.find_spec("sling_linux_amd64")
    if spec is None or spec.origin is None:
        return Path("sling"), "`sling-linux-amd64` is not installed (`pip install -r benchmarks/requirements.txt`)"
    binary = Path(spec.origin).parent / "bin" / "sling-linux-amd64"
    try:
        subprocess.run([str(binary), "--version"], check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as error:
        return binary, f"its binary does not run here: {error}"
    return binary, None


def tools(dlt_backend: str) -> dict[str, Tool]:
    dg = BIN / "dg"
    return {
        "ingest": Tool("ingest", "ingest_assets, `dagster asset materialize --select '*'`"),
        "ingest-dg": Tool("ingest-dg", "ingest_assets, `dg launch --assets '*'`",
                          None if dg.exists() else "the `dg` CLI is not installed in the venv (dagster-dg-cli)"),
        "dlt": Tool("dlt", f"dlt {package_version('dlt')}, one `sql_database` source (backend `{dlt_backend}`) "
                           "-> filesystem, Parquet", _missing("dlt")),
        "sling": Tool("sling", f"sling {package_version('sling-linux-amd64')}, one replication of the N streams "
                               f"(`SLING_THREADS={CONCURRENCY}`)", _sling_binary()[1]),
        "loop": Tool("loop", f"plain loop: polars {package_version('polars')} `read_database_uri` -> "
                             "`write_parquet`, one table after the other", _missing("connectorx")),
    }


def write_project(project: Path, home: Home, lake: Path) -> Path:
    """flows/ with a `src` home and a parquet `lake`, flow `many`, one entity file per table, full loads."""
    flows = project / "flows"
    shutil.rmtree(project, ignore_errors=True)
    (flows / FLOW / "entities").mkdir(parents=True)
    (flows / "ingest.yml").write_text(
        f"name: bench_many_tables\nconnections:\n  src:\n{home.connection_yaml}\n"
        f"  lake:\n    type: parquet\n    path: '{lake}'\noptions:\n  concurrency: {CONCURRENCY}\n")
    (flows / FLOW / "flow.yml").write_text("home: src\nstore: lake\nrun_type: full_drop\n")
    for name, qualified in home.qualified.items():
        (flows / FLOW / "entities" / f"{name}.yml").write_text(f"home: {{table: {qualified}}}\n")
    return flows


def check_project(flows: Path) -> None:
    """`ingest check` on the generated project, once per home (not timed)."""
    completed = subprocess.run([str(BIN / "ingest"), "check", "--flows-dir", str(flows)], capture_output=True,
                               text=True, cwd=flows.parent, timeout=600,
                               env=_clean_env() | {"INGEST_FLOWS_DIR": str(flows)})
    if completed.returncode != 0:
        raise RuntimeError(f"ingest check failed on {flows}:\n{completed.stdout[-3000:]}{completed.stderr[-3000:]}")


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("INGEST_ENV", "INGEST_FLOWS_DIR", "DAGSTER_HOME")}


def fresh_instance(home_dir: Path) -> Path:
    """An empty Dagster instance with the repository's settings, its paths made absolute (read back from here)."""
    shutil.rmtree(home_dir, ignore_errors=True)
    home_dir.mkdir(parents=True)
    settings = (REPO_ROOT / "dagster.yaml").read_text()
    assert "telemetry:\n  enabled: false" in settings, "the repository's dagster.yaml must turn telemetry off"
    assert "base_dir: .dagster/" in settings, "the repository's dagster.yaml layout changed"
    (home_dir / "dagster.yaml").write_text(settings.replace("base_dir: .dagster/", f"base_dir: {home_dir}/.dagster/"))
    return home_dir


def write_dg_project(project: Path) -> None:
    """The smallest dg project around the code location (for `dg launch`; only used when `dg` is installed)."""
    (project / "pyproject.toml").write_text(
        '[project]\nname = "bench-many-tables"\nversion = "0"\n\n'
        '[tool.dg]\ndirectory_type = "project"\n\n'
        '[tool.dg.project]\nroot_module = "ingest_assets"\ncode_location_target_module = "ingest_assets.definitions"\n')


# ---- one run of a tool --------------------------------------------------------------------------


@dataclass(frozen=True)
class Breakdown:
    """A Dagster run read back from its event log.

    The run's clock time is split by what is happening at each moment: some step working (STEP_START ->
    STEP_SUCCESS), else some step starting (its worker launched -> STEP_START: a process and a code-location
    load), else nothing (a gap: the run's planning, scheduling between steps, its end). Steps that overlap
    (`options.concurrency`) are counted once, so the parts add up to the run's time.
    """

    run_seconds: float  # RUN_START -> RUN_SUCCESS
    steps: int
    assets: int
    startup_sum: float  # summed over steps: worker launched (STEP_WORKER_STARTING) -> STEP_START
    work_sum: float  # summed over steps: STEP_START -> STEP_SUCCESS
    working_seconds: float  # clock time with at least one step working
    starting_seconds: float  # clock time with a step starting and none working
    asset_work: list[float]  # per asset: the previous materialization (or STEP_START) -> its materialization
    most_at_once: int  # the most steps alive at one moment

    @property
    def gap_seconds(self) -> float:
        return max(self.run_seconds - self.working_seconds - self.starting_seconds, 0.0)


@dataclass(frozen=True)
class Run:
    result: ChildResult
    breakdown: Breakdown | None = None


def run_breakdown(instance_dir: Path) -> Breakdown:
    """The latest run's step start-up, work and gaps, from the instance's event log (public Dagster API)."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(instance_dir)) as instance:
        runs = instance.get_runs(limit=1)
        if not runs:
            raise AssertionError(f"no run in the instance {instance_dir}")
        entries = instance.all_logs(runs[0].run_id)
    kinds = dg.DagsterEventType
    run_start = run_end = None
    first_seen: dict[str, float] = {}  # a step's first event, when it has no STEP_WORKER_STARTING
    launched: dict[str, float] = {}
    started: dict[str, float] = {}
    ended: dict[str, float] = {}
    materialized: dict[str, list[float]] = {}
    planned = (kinds.ASSET_MATERIALIZATION_PLANNED, kinds.ASSET_CHECK_EVALUATION_PLANNED)
    for entry in entries:
        event = entry.dagster_event
        if event is None:
            continue
        kind, step, at = event.event_type, entry.step_key, entry.timestamp
        if kind == kinds.RUN_START:  # stored as PIPELINE_START
            run_start = at
        elif kind in (kinds.RUN_SUCCESS, kinds.RUN_FAILURE):
            run_end = at
        if step is None or kind in planned:  # planned events are written by the run, before any step starts
            continue
        first_seen.setdefault(step, at)
        if kind == kinds.STEP_WORKER_STARTING:
            launched.setdefault(step, at)
        elif kind == kinds.STEP_START:
            started[step] = at
        elif kind in (kinds.STEP_SUCCESS, kinds.STEP_FAILURE):
            ended[step] = at
        elif kind == kinds.ASSET_MATERIALIZATION:
            materialized.setdefault(step, []).append(at)
    launched = {step: launched.get(step, at) for step, at in first_seen.items()}
    if run_start is None or run_end is None:
        raise AssertionError("the run has no RUN_START or RUN_SUCCESS event")
    asset_work = []
    for step, times in materialized.items():
        previous = started.get(step, launched[step])
        for at in sorted(times):
            asset_work.append(at - previous)
            previous = at
    work = [(started[s], ended.get(s, run_end)) for s in started]
    alive = [(launched[s], ended.get(s, run_end)) for s in started]
    working = _covered(work)
    return Breakdown(
        run_seconds=run_end - run_start,
        steps=len(started),
        assets=len(asset_work),
        startup_sum=sum(started[s] - launched[s] for s in started),
        work_sum=sum(end - start for start, end in work),
        working_seconds=working,
        starting_seconds=_covered(alive) - working,
        asset_work=asset_work,
        most_at_once=_most_at_once(alive),
    )


def _covered(intervals: list[tuple[float, float]]) -> float:
    """The length of the union of the intervals."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(intervals):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def _most_at_once(intervals: list[tuple[float, float]]) -> int:
    """The largest number of steps alive (launched, not yet finished) at one moment."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    most = alive = 0
    for _, change in edges:
        alive += change
        most = max(most, alive)
    return most


def output_rows(base: Path, tables: list[str]) -> dict[str, int]:
    """Rows per table in the Parquet files below `base`: `<table>.parquet` or `<table>/**/*.parquet`."""
    import pyarrow.parquet as pq

    counts = {}
    for table in tables:
        files = [base / f"{table}.parquet"] if (base / f"{table}.parquet").is_file() else []
        files += sorted((base / table).rglob("*.parquet")) if (base / table).is_dir() else []
        counts[table] = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    return counts


def run_tool(tool: str, home: Home, rows: int, label: str, dlt_backend: str) -> Run:
    """One measured run into an empty output folder; every table must come out with `rows` rows."""
    root = ROOT / "runs" / home.name / tool
    output = root / "out"
    shutil.rmtree(root, ignore_errors=True)
    output.mkdir(parents=True)
    tables = list(home.qualified)
    breakdown = None
    if tool in ("ingest", "ingest-dg"):
        project = root / "project"
        flows = write_project(project, home, output)
        instance_dir = fresh_instance(root / "dagster_home")
        env = {"INGEST_FLOWS_DIR": str(flows), "DAGSTER_HOME": str(instance_dir)}
        if tool == "ingest":
            argv = [str(BIN / "dagster"), "asset", "materialize", "-m", "ingest_assets.definitions", "--select", "*"]
            cwd = instance_dir
        else:
            write_dg_project(project)
            argv, cwd = [str(BIN / "dg"), "launch", "--assets", "*"], project
        result = run_command(argv, label, env=env, cwd=cwd, timeout_seconds=TIMEOUT_SECONDS)
        breakdown = run_breakdown(instance_dir)
        base = output / FLOW
    elif tool == "dlt":
        spec = root / "spec.json"
        spec.write_text(json.dumps({
            "credentials": home.sqlalchemy_url, "schema": home.dlt_schema, "table_names": tables,
            "backend": dlt_backend, "backend_kwargs": {"conn": home.uri} if dlt_backend == "connectorx" else {},
            "destination": str(output), "pipelines_dir": str(root / "pipelines"),
        }))
        result = run_workload("dlt-database", [str(spec)], label, timeout_seconds=TIMEOUT_SECONDS,
                              env={"RUNTIME__DLTHUB_TELEMETRY": "false", "DATA_WRITER__COMPRESSION": "zstd"})
        base = output / "many"
    elif tool == "sling":
        binary, _ = _sling_binary()
        replication = root / "replication.json"  # JSON is YAML
        replication.write_text(json.dumps({
            "source": "BENCH_SRC", "target": "LOCAL",
            "defaults": {"mode": "full-refresh", "object": f"{output.as_uri()}/{{stream_table}}.parquet",
                         "target_options": {"format": "parquet", "compression": "zstd"}},
            "streams": {f"{home.sling_stream_prefix}{table}": {} for table in tables},
        }, indent=1))
        result = run_command([str(binary), "run", "-r", str(replication)], label, timeout_seconds=TIMEOUT_SECONDS,
                             env={"BENCH_SRC": home.sling_url, "SLING_THREADS": str(CONCURRENCY),
                                  # Its Parquet target would download a DuckDB CLI otherwise (offline: fails).
                                  "SLING_DUCKDB_COMPUTE": "false", "SLING_DISABLE_TELEMETRY": "true",
                                  "SLING_HOME_DIR": str(root / "sling_home")})
        base = output
    elif tool == "loop":
        spec = root / "spec.json"
        spec.write_text(json.dumps({"uri": home.uri, "tables": home.qualified, "destination": str(output)}))
        result = run_workload("polars-loop", [str(spec)], label, timeout_seconds=TIMEOUT_SECONDS)
        base = output
    else:
        raise ValueError(tool)
    counts = output_rows(base, tables)
    wrong = {table: count for table, count in counts.items() if count != rows}
    if wrong:
        sample = dict(list(wrong.items())[:5])
        raise AssertionError(f"{tool}: {len(wrong)} of {len(tables)} tables do not hold {rows:,} rows: {sample}")
    if breakdown is not None and breakdown.assets != len(tables):
        raise AssertionError(f"{tool}: {breakdown.assets} materializations in the event log, {len(tables)} tables")
    shutil.rmtree(output, ignore_errors=True)  # checked; keep the logs, project and instance for a look
    return Run(result, breakdown)


# ---- measurement --------------------------------------------------------------------------------


@dataclass
class Measured:
    home: Home
    tables: int
    rows: int
    runs: dict[str, list[Run]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    def wall(self, tool: str) -> float:
        return median([r.result.wall_seconds for r in self.runs[tool]])


def measure_home(home: Home, tables: int, rows: int, chosen: list[str], available: dict[str, Tool], runs: int,
                 dlt_backend: str) -> Measured:
    measured = Measured(home, tables, rows, {t: [] for t in chosen if available[t].skipped is None})
    if "loop" in measured.runs:  # warms the page cache and the imports' files; not measured
        log(f"many tables: {home.name}, loop, warm-up")
        run_tool("loop", home, rows, f"many_{home.name}_loop_warmup", dlt_backend)
    for index in range(1, runs + 1):
        for tool in list(measured.runs):
            if tool in measured.failed:
                continue
            log(f"many tables: {home.name}, {tables} x {rows:,} rows, {tool}, run {index}/{runs}")
            try:
                run = run_tool(tool, home, rows, f"many_{home.name}_{tool}_{index}", dlt_backend)
            except (ChildFailed, AssertionError, OSError) as error:
                log(f"many tables: {tool} failed: {error}")
                measured.failed[tool] = str(error).strip()
                continue
            measured.runs[tool].append(run)
            log(f"many tables: {tool} took {run.result.wall_seconds:.1f} s")
    for tool in measured.failed:
        measured.runs.pop(tool, None)
    return measured


# ---- report -------------------------------------------------------------------------------------


def _results_table(m: Measured, available: dict[str, Tool]) -> str:
    rows = []
    loop = m.wall("loop") if "loop" in m.runs else None
    for tool, runs in m.runs.items():
        wall = m.wall(tool)
        rows.append([
            available[tool].title, f"{wall:.2f}", f"{wall / m.tables * 1000:.0f}",
            f"{m.tables * m.rows / wall:,.0f}", "–" if loop is None else f"x{wall / loop:.2f}",
            f"{median([r.result.cpu_seconds for r in runs]):.1f}",
            f"{max(r.result.peak_tree_rss_mib for r in runs):.0f}",
            f"{max(r.result.peak_rss_mib for r in runs):.0f}", "yes",
        ])
    return markdown_table(
        ["path", "wall s" + (" (median)" if any(len(r) > 1 for r in m.runs.values()) else ""),
         "ms per table (wall / N)", "rows/s", "x plain loop", "CPU s (tree)", "peak RSS MiB, process tree",
         "largest process MiB", f"{m.tables} x {m.rows:,} rows out"],
        rows,
    )


def _breakdown_lines(m: Measured, tool: str) -> list[str]:
    runs = [r for r in m.runs.get(tool, []) if r.breakdown is not None]
    if not runs:
        return []
    run = min(runs, key=lambda r: abs(r.result.wall_seconds - m.wall(tool)))  # the median run
    b = run.breakdown
    assert b is not None
    wall = run.result.wall_seconds
    outside = max(wall - b.run_seconds, 0.0)
    parts = [
        ("outside the run: CLI start-up, code-location load, run launch and teardown", outside / wall),
        ("step start-up (worker launched -> STEP_START), no step working", b.starting_seconds / wall),
        ("work (STEP_START -> STEP_SUCCESS of at least one step)", b.working_seconds / wall),
        ("gaps (in the run, no step starting or working)", b.gap_seconds / wall),
    ]
    per_table = wall / m.tables
    rows = [[name, f"{share * per_table * 1000:.0f}", f"{share:.0%}"] for name, share in parts]
    rows.append(["**total: wall / N**", f"**{per_table * 1000:.0f}**", "100%"])
    asset = sorted(b.asset_work)
    lines = [
        f"{tool} on {m.home.name}, per table (the run of {wall:.1f} s: Dagster run {b.run_seconds:.1f} s, {b.steps} "
        f"step(s) for {b.assets} assets, at most {b.most_at_once} at once with `options.concurrency: {CONCURRENCY}`; "
        "overlapping steps are counted once, so the parts add up to the wall time):",
        "",
        markdown_table(["where the time goes", "ms per table", "share"], rows),
        "",
        f"- per step: start-up {b.startup_sum / max(b.steps, 1):.2f} s, work {b.work_sum / max(b.steps, 1):.2f} s "
        f"(means); per asset, the interval from the previous ASSET_MATERIALIZATION of its step (the first: from "
        f"STEP_START): median {median(asset) * 1000:.0f} ms, max {asset[-1] * 1000:.0f} ms, sum "
        f"{sum(asset):.1f} s (entities that run at once inside a step shorten the intervals)",
    ]
    return lines


def _goal_lines(m: Measured, chosen: list[str]) -> list[str]:
    lines = []
    for tool in ("ingest", "ingest-dg"):
        if tool not in chosen:
            continue
        if tool not in m.runs:
            why = "failed" if tool in m.failed else "skipped"
            lines.append(f"- **n/a**: {tool} on {m.home.name} {why}: no verdict")
            continue
        ours = m.wall(tool)
        for rival in ("dlt", "sling"):
            if rival not in m.runs:
                lines.append(f"- **n/a**: {tool} faster than {rival} on {m.home.name} ({rival} did not run)")
                continue
            theirs = m.wall(rival)
            verdict = "PASS" if ours < theirs else "FAIL"
            lines.append(f"- **{verdict}**: {tool} faster than {rival} on {m.home.name} ({ours:.1f} s against "
                         f"{theirs:.1f} s, x{ours / theirs:.2f})")
        if "loop" in m.runs:
            ratio = ours / m.wall("loop")
            verdict = "PASS" if ratio <= LOOP_LIMIT else "FAIL"
            lines.append(f"- **{verdict}**: {tool} within x{LOOP_LIMIT:g} of the plain loop on {m.home.name} "
                         f"(x{ratio:.2f}: {ours:.1f} s against {m.wall('loop'):.1f} s)")
        else:
            lines.append(f"- **n/a**: {tool} within x{LOOP_LIMIT:g} of the plain loop on {m.home.name} (no loop run)")
    return lines


def report(results: list[Measured], available: dict[str, Tool], chosen: list[str], runs: int, command: str,
           dlt_backend: str) -> str:
    first = results[0]
    versions = ", ".join(f"{p} {package_version(p)}" for p in ("dlt", "sling-linux-amd64", "connectorx",
                                                               "adbc-driver-postgresql", "SQLAlchemy"))
    lines = [
        TITLE,
        "",
        f"{first.tables} tables of {first.rows:,} rows each ({first.tables * first.rows:,} rows; `id bigint` primary "
        "key, int, numeric(12,2), a 6-value text, a 25%-null text, timestamp, boolean) from each home into Parquet "
        "files. ingest_assets runs a generated project (one flow, one entity per table, `full_drop`, "
        f"`options.concurrency: {CONCURRENCY}`) through the real CLI with a fresh Dagster instance per run; dlt one "
        f"`sql_database` source of the {first.tables} tables (backend `{dlt_backend}`) into a filesystem destination; "
        f"sling one replication of the {first.tables} streams; the plain loop reads each table with polars "
        "`read_database_uri` (the engine polars picks: connectorx) and writes it with `write_parquet`, one after "
        f"the other. Each path is a fresh process tree timed from outside; one unmeasured loop run first, then "
        f"{runs} run(s) of each. Every output holds {first.rows:,} rows in every table (Parquet footers). The "
        "breakdown is read from the run's event log (`DagsterInstance.from_config`, `all_logs`: RUN_START/"
        "RUN_SUCCESS, STEP_WORKER_STARTING, STEP_START, STEP_SUCCESS, ASSET_MATERIALIZATION timestamps). For "
        "ingest_assets the CPU and largest-process figures (rusage) can miss the step processes, which the "
        "multiprocess executor forks from a forkserver when a run has several steps: the sampled process-tree "
        "peak includes them.",
        "",
        *machine_lines(),
        f"- tools: {versions}",
        f"- reproduce: `{command}`",
        "",
    ]
    for m in results:
        lines += [f"### {m.home.name}: {m.home.version}", "", _results_table(m, available), ""]
        for tool in ("ingest", "ingest-dg"):
            breakdown = _breakdown_lines(m, tool)
            if breakdown:
                lines += [*breakdown, ""]
        lines += _goal_lines(m, chosen)
        lines += [f"- {tool} FAILED: `{message.splitlines()[0][:300]}` (log: `.work/logs/many_{m.home.name}_{tool}_*.log`)"
                  for tool, message in m.failed.items()]
        lines.append("")
    skipped = [f"- skipped: {t}: {available[t].skipped}" for t in chosen if available[t].skipped is not None]
    lines += skipped
    return "\n".join(lines).rstrip("\n") + "\n"


def run(tables: int = DEFAULT_TABLES, rows: int = DEFAULT_ROWS, homes: list[str] | None = None,
        chosen: list[str] | None = None, runs: int = DEFAULT_RUNS, dlt_backend: str = "pyarrow") -> str:
    homes = list(homes or HOMES)
    chosen = [t for t in TOOLS if t in (chosen or TOOLS)]
    available = tools(dlt_backend)
    for tool in chosen:
        if available[tool].skipped:
            log(f"many tables: skipped {tool}: {available[tool].skipped}")
    command = (f".venv/bin/python benchmarks/many_tables.py --tables {tables} --rows {rows} --homes {' '.join(homes)} "
               f"--tools {' '.join(chosen)} --runs {runs}")
    results = []
    for name in homes:
        if name == "sqlite":
            home = sqlite_home(tables, rows)
            check_project(write_project(ROOT / "check" / name, home, ROOT / "check" / name / "lake"))
            results.append(measure_home(home, tables, rows, chosen, available, runs, dlt_backend))
        else:
            with cached_server(ROOT) as server:
                home = postgres_home(server, tables, rows)
                check_project(write_project(ROOT / "check" / name, home, ROOT / "check" / name / "lake"))
                results.append(measure_home(home, tables, rows, chosen, available, runs, dlt_backend))
    return report(results, available, chosen, runs, command, dlt_backend)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", type=int, default=None, help=f"tables per home (default {DEFAULT_TABLES})")
    parser.add_argument("--rows", type=int, default=None, help=f"rows per table (default {DEFAULT_ROWS:,})")
    parser.add_argument("--homes", nargs="+", choices=HOMES, default=list(HOMES))
    parser.add_argument("--tools", nargs="+", choices=TOOLS, default=list(TOOLS))
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="measured runs of each tool")
    parser.add_argument("--dlt-backend", choices=("pyarrow", "connectorx"), default="pyarrow",
                        help="dlt's sql_database backend (pyarrow: SQLAlchemy rows into Arrow)")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_TABLES} tables of {QUICK_ROWS:,} rows (unless --tables/--rows say otherwise)")
    args = parser.parse_args()
    tables = args.tables or (QUICK_TABLES if args.quick else DEFAULT_TABLES)
    rows = args.rows or (QUICK_ROWS if args.quick else DEFAULT_ROWS)
    section = run(tables, rows, args.homes, args.tools, args.runs, args.dlt_backend)
    print(section)
    # A smaller or partial run must not replace the full results.
    full = (tables, rows, sorted(args.homes), sorted(args.tools)) == (DEFAULT_TABLES, DEFAULT_ROWS, sorted(HOMES),
                                                                       sorted(TOOLS))
    output = RESULTS if full and args.dlt_backend == "pyarrow" else QUICK_RESULTS
    replace_section(output, section)
    log(f"section '{TITLE[3:]}' written to {output.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
