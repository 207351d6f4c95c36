"""Moving a PostgreSQL table to Parquet: ingest_assets against the binary COPY limit, dlt, connectorx, sling.

A real PostgreSQL (the `pgserver` wheel, on a unix socket) holds `bench_orders` (N rows, 5M by
default) and a table of N/5 rows (`bench_orders_1m` at 5M) for the memory-scaling check. Its data
folder is cached in benchmarks/.work/, so reruns skip the ~1 minute build. Every path runs as its own
process, measured from outside (wall time, peak RSS of the whole process tree), and every round
pairs each path with the yardstick, psycopg's `COPY ... TO STDOUT (FORMAT binary)` read and
dropped, run just before it: the ratio of the pair cancels the drift of a noisy machine.

    .venv/bin/python benchmarks/postgres_to_parquet.py [--rows 5000000] [--rounds 3] [--only ingest ...]

It prints its markdown section and puts it in benchmarks/RESULTS.md in place of the previous one
(in .work/RESULTS.quick.md for other sizes or with --only).
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from urllib.parse import quote

from _common import (
    BENCH_DIR,
    PYTHON,
    REPO_ROOT,
    WORK_DIR,
    ChildResult,
    cached_server,
    last_step_times,
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
from parquet_to_parquet import FLAT_GROWTH

sys.path.insert(0, str(REPO_ROOT))  # the tests' server helper: ingest_assets_tests is not installed
from ingest_assets_tests.servers.postgres import PostgresServer

DEFAULT_ROWS = 5_000_000
SCALING_ROWS = 1_000_000  # the small table: peak memory there and at N must be the same
DEFAULT_ROUNDS = 3
DATA_VERSION = 1  # bump when the generated table changes, so cached tables are rebuilt
ROOT = WORK_DIR / "postgres_to_parquet"
RESULTS = BENCH_DIR / "RESULTS.md"
QUICK_RESULTS = WORK_DIR / "RESULTS.quick.md"  # as run_all.py --quick
TITLE = "## PostgreSQL -> Parquet"
YARDSTICK = "copy"
PATHS = ("psql", "ingest", "ingest-parallel", "connectorx", "dlt-stream", "dlt-whole", "sling")  # see contenders()

# The reference's ratios are to `psql \copy ... (format binary)`, which took 1/1.30 of psycopg's COPY
# there; divided by 1.30 they compare with this benchmark's yardstick (psycopg's COPY).
REFERENCE_PSQL_PER_PSYCOPG = 1.30
REFERENCE = {  # name -> (row in performance.md, x psql COPY, peak RSS MiB at 5M)
    "psql": ("a", 1.00, 12),
    "copy": ("a", 1.30, 38),
    "ingest": ("c+ ADBC stream, fetch thread", 2.18, 298),
    "ingest-parallel": ("g DuckDB, 2 connections", 1.16, 273),
    "connectorx": ("b+", 2.18, 222),
    "dlt-stream": ("h", 2.72, 258),
    "dlt-whole": ("h", 3.16, 662),
    "sling": ("i", 24.7, 187),
}

CREATE_TABLE = """
CREATE TABLE public.{table} (
    id bigint, customer_id int, amount numeric(12, 2), status text, note text,
    created_at timestamptz, updated_at timestamptz, flag boolean, order_date date
)"""
# One seed and a sequential insert: the small table holds exactly the first rows of the big one.
FILL_TABLE = """
INSERT INTO public.{table}
SELECT id, customer_id, amount, status, note, created_at,
       created_at + random() * interval '30 days', random() < 0.6, (created_at AT TIME ZONE 'UTC')::date
FROM (
    SELECT g AS id,
           (1 + floor(random() * 2000000))::int AS customer_id,
           round((random() * 1000000)::numeric, 2) AS amount,
           (ARRAY['placed', 'paid', 'packed', 'shipped', 'delivered', 'returned'])[1 + floor(random() * 6)::int]
               AS status,
           CASE WHEN random() < 0.25 THEN NULL ELSE 'note ' || substr(md5(random()::text), 1, 25) END AS note,
           timestamptz '2025-01-01 00:00:00+00' + random() * interval '365 days' AS created_at
    FROM generate_series(1, %s) AS g
) AS generated"""


# ---- the server and its tables ------------------------------------------------------------------


@dataclass(frozen=True)
class Checksum:
    rows: int
    sum_id: int
    sum_amount: Decimal  # equal across scales: Decimal('1.50') == Decimal('1.5000')
    notes: int  # non-null notes


CHECKSUM_SQL = "SELECT count(*), sum(id), sum(amount), count(note) FROM {source}"


def table_name(rows: int, largest: int) -> str:
    if rows == largest:
        return "bench_orders"
    return "bench_orders_1m" if rows == 1_000_000 else f"bench_orders_{rows}"


def ensure_table(server: PostgresServer, table: str, rows: int) -> Checksum:
    """Build `table` unless the cached data folder already holds it at this size and data version."""
    server.execute("postgres", "CREATE TABLE IF NOT EXISTS bench_meta (name text PRIMARY KEY, rows bigint, "
                               "version int)")
    cached = server.execute("postgres", "SELECT rows, version FROM bench_meta WHERE name = %s", (table,))
    if cached != [(rows, DATA_VERSION)]:
        build_table(server, table, rows)
    row = server.execute("postgres", CHECKSUM_SQL.format(source=f"public.{table}"))[0]
    return Checksum(int(row[0]), int(row[1]), row[2], int(row[3]))


def build_table(server: PostgresServer, table: str, rows: int) -> None:
    log(f"postgres -> parquet: building {table} ({rows:,} rows)")
    with server.connect() as connection:
        connection.execute(f"DROP TABLE IF EXISTS public.{table}")
        connection.execute(CREATE_TABLE.format(table=table))
        connection.execute("SELECT setseed(0.42)")
        connection.execute(FILL_TABLE.format(table=table), (rows,))
        connection.execute(f"ALTER TABLE public.{table} ADD PRIMARY KEY (id)")
        # Frozen, hinted, analysed and on disk now, so that no measured read pays for it.
        connection.execute(f"VACUUM (FREEZE, ANALYZE) public.{table}")
        connection.execute("CHECKPOINT")
        # Written last: an interrupted build is redone.
        connection.execute("INSERT INTO bench_meta VALUES (%s, %s, %s) ON CONFLICT (name) DO UPDATE "
                           "SET rows = excluded.rows, version = excluded.version", (table, rows, DATA_VERSION))


# ---- the contenders -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Contender:
    name: str
    title: str
    argv: list[str]  # a program (absolute path) and its arguments, or the arguments of `workload`
    output: Path | None  # the folder it writes into (emptied before each run); None: writes nothing
    workload: str | None = None  # a `_workloads.py` workload (it reports phases and counts)
    files: str = "**/*.parquet"  # its table's Parquet files below `output`
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = REPO_ROOT
    skipped: str | None = None  # why it cannot run on this machine
    dagster_run: bool = False  # a run of the benchmark's Dagster instance, whose step time is read back


def _connectorx_url(server: PostgresServer) -> str:
    # connectorx (and dlt through it) wants the socket folder as the URL's host, percent-encoded.
    return f"postgresql://{server.user}@{quote(server.socket_dir, safe='')}/postgres"


def copy_contender(server: PostgresServer, table: str) -> Contender:
    return Contender("copy", "psycopg `COPY (SELECT *) TO STDOUT (FORMAT binary)`, bytes dropped (yardstick)",
                     [server.uri(), f"public.{table}"], None, workload="postgres-copy")


def psql_contender(server: PostgresServer, table: str) -> Contender:
    import pgserver._commands

    psql = pgserver._commands.POSTGRES_BIN_PATH / "psql"
    command = f"\\copy (SELECT * FROM public.{table}) TO '/dev/null' (FORMAT binary)"
    return Contender("psql", "`psql \\copy ... (format binary)` to /dev/null (the reference's yardstick)",
                     [str(psql), "-X", "-q", "-h", server.socket_dir, "-U", server.user, "-d", "postgres",
                      "-c", command], None)


def ingest_contender(server: PostgresServer, table: str, parallel: bool) -> Contender:
    """`dagster asset materialize` of a one-entity project, as a user runs it (the one step runs in its process)."""
    name = "ingest-parallel" if parallel else "ingest"
    lake = ROOT / "out" / name
    flows = write_project(server, ROOT / "projects" / name, lake, table, parallel)
    title = "ingest_assets, `parallel: {column: id, partitions: 2}`" if parallel else "ingest_assets"
    return Contender(
        name, f"{title} (`dagster asset materialize`)",
        [str(Path(PYTHON).parent / "dagster"), "asset", "materialize", "-m", "ingest_assets.definitions",
         "--select", f"bench/{table}"],
        lake, files=f"bench/{table}/*.parquet",
        env={"INGEST_FLOWS_DIR": str(flows), "DAGSTER_HOME": str(dagster_home())},
        cwd=dagster_home(),  # the instance's relative paths (.dagster/...) land there
        dagster_run=True,
    )


def write_project(server: PostgresServer, project: Path, lake: Path, table: str, parallel: bool) -> Path:
    """flows/ with a postgres home and a parquet store, and flow `bench` with an entity named after `table`."""
    flows = project / "flows"
    (flows / "bench" / "entities").mkdir(parents=True, exist_ok=True)
    (flows / "ingest.yml").write_text(f"""\
name: bench_postgres
connections:
  pg:
{server.connection_yaml("postgres")}
  lake:
    type: parquet
    path: '{lake}'
""")
    (flows / "bench" / "flow.yml").write_text("home: pg\nstore: lake\nrun_type: full_drop\n")
    settings = "parallel: {column: id, partitions: 2}\n" if parallel else ""
    (flows / "bench" / "entities" / f"{table}.yml").write_text(f"home: {{table: public.{table}}}\n{settings}")
    return flows


def dagster_home() -> Path:
    return ROOT / "dagster_home"


def fresh_projects() -> None:
    """No entity of an earlier size left over, and an empty instance with the repository's settings."""
    shutil.rmtree(ROOT / "projects", ignore_errors=True)
    shutil.rmtree(dagster_home(), ignore_errors=True)
    dagster_home().mkdir(parents=True)
    settings = (REPO_ROOT / "dagster.yaml").read_text()
    assert "telemetry:\n  enabled: false" in settings, "the repository's dagster.yaml must turn telemetry off"
    (dagster_home() / "dagster.yaml").write_text(settings)


def connectorx_contender(server: PostgresServer, table: str) -> Contender:
    output = ROOT / "out" / "connectorx"
    return Contender("connectorx", "connectorx `arrow_stream` -> pyarrow ParquetWriter (zstd-3)",
                     [_connectorx_url(server), f"public.{table}", str(output / f"{table}.parquet")],
                     output, workload="connectorx", skipped=_missing("connectorx"))


def dlt_contender(server: PostgresServer, table: str, mode: str) -> Contender:
    name = f"dlt-{mode}"
    output = ROOT / "out" / name
    title = {"stream": "dlt `sql_table(backend=\"connectorx\", return_type=\"arrow_stream\")`",
             "whole": "dlt `sql_table(backend=\"connectorx\")`: the backend's default, one Arrow table"}[mode]
    sqlalchemy_url = f"postgresql+psycopg://{server.user}@/postgres?host={server.socket_dir}"
    return Contender(
        name, title,
        [mode, sqlalchemy_url, _connectorx_url(server), f"public.{table}", str(output / "lake"),
         str(output / "pipelines")],
        output, workload="dlt", files=f"lake/bench/{table}/*.parquet",
        env={"RUNTIME__DLTHUB_TELEMETRY": "false", "DATA_WRITER__COMPRESSION": "zstd"},
        skipped=_missing("dlt") or _missing("connectorx"),
    )


def sling_contender(server: PostgresServer, table: str) -> Contender:
    output = ROOT / "out" / "sling"
    binary, skipped = _sling_binary()
    return Contender(
        "sling", f"sling {package_version('sling-linux-amd64')} (`SLING_DUCKDB_COMPUTE=false`, zstd)",
        [str(binary), "run", "--src-conn", "BENCH_PG", "--src-stream", f"public.{table}",
         "--tgt-object", (output / f"{table}.parquet").as_uri(), "--tgt-options", "{compression: zstd}"],
        output,
        env={"BENCH_PG": f"postgresql://{server.user}@/postgres?host={server.socket_dir}&sslmode=disable",
             # Its Parquet target would download a DuckDB CLI otherwise (offline: fails).
             "SLING_DUCKDB_COMPUTE": "false", "SLING_DISABLE_TELEMETRY": "true",
             "SLING_HOME_DIR": str(ROOT / "sling_home")},
        skipped=skipped,
    )


def _missing(module: str) -> str | None:
    if importlib.util.find_spec(module) is None:
        return f"`{module}` is not installed (`pip install -r benchmarks/requirements.txt`)"
    return None


@cache
def _sling_binary() -> tuple[Path, str | None]:
    """The binary of the `sling-linux-amd64` wheel (the `sling` package downloads it at import: offline, fails)."""
    spec = importlib.util.find_spec("sling_linux_amd64")
    if spec is None or spec.origin is None:
        return Path("sling"), ("`sling-linux-amd64` is not installed (the `sling` package downloads its binary "
                               "at import, which fails offline)")
    binary = Path(spec.origin).parent / "bin" / "sling-linux-amd64"
    try:
        subprocess.run([str(binary), "--version"], check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as error:
        return binary, f"its binary does not run here: {error}"
    return binary, None


def contenders(server: PostgresServer, table: str) -> list[Contender]:
    """The yardstick first, then every path in the order of the report."""
    return [
        copy_contender(server, table),
        psql_contender(server, table),
        ingest_contender(server, table, parallel=False),
        ingest_contender(server, table, parallel=True),
        connectorx_contender(server, table),
        dlt_contender(server, table, "stream"),
        dlt_contender(server, table, "whole"),
        sling_contender(server, table),
    ]


# ---- running and checking -----------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    result: ChildResult
    parquet_mib: float | None  # None: the path writes nothing
    step_seconds: float | None = None  # ingest_assets: the Dagster step alone


def run_contender(contender: Contender, expected: Checksum, label: str) -> Run:
    """One measured run into an empty output, whose Parquet must hold exactly the source's rows."""
    if contender.output is not None:
        shutil.rmtree(contender.output, ignore_errors=True)
        contender.output.mkdir(parents=True)
    if contender.workload is not None:
        result = run_workload(contender.workload, contender.argv, label, env=contender.env)
    else:
        result = run_command(contender.argv, label, env=contender.env, cwd=contender.cwd)
    if contender.output is None:
        if result.report.get("copy_bytes", 1) <= 0:
            raise AssertionError(f"{contender.name}: the COPY stream was empty")
        return Run(result, None)
    files = sorted(contender.output.glob(contender.files))
    written = output_checksum(files)
    if written != expected:
        raise AssertionError(f"{contender.name}: the output's checksum {written} differs from the source's "
                             f"{expected}")
    step = last_step_times(dagster_home()).step_seconds if contender.dagster_run else None
    return Run(result, sum(f.stat().st_size for f in files) / 2**20, step)


def output_checksum(files: list[Path]) -> Checksum:
    import duckdb

    if not files:
        raise AssertionError("no Parquet file was written")
    with duckdb.connect() as connection:
        row = connection.execute(CHECKSUM_SQL.format(source="read_parquet($files)"),
                                 {"files": [str(f) for f in files]}).fetchone()
    assert row is not None
    return Checksum(int(row[0]), int(row[1] or 0), row[2], int(row[3]))


# ---- measurement --------------------------------------------------------------------------------


@dataclass
class Measured:
    rows: int
    table: str
    # name -> the (yardstick, contender) pairs; the yardstick's own list holds each run once
    pairs: dict[str, list[tuple[Run, Run]]] = field(default_factory=dict)

    def runs(self, name: str) -> list[Run]:
        return [pair[1] for pair in self.pairs[name]]

    def ratio(self, name: str) -> list[float]:
        return [b.result.wall_seconds / a.result.wall_seconds for a, b in self.pairs[name]]

    def wall(self, name: str) -> float:
        return median([r.result.wall_seconds for r in self.runs(name)])

    def tree_rss(self, name: str) -> float:
        return max(r.result.peak_tree_rss_mib for r in self.runs(name))

    def tree_pss(self, name: str) -> float:
        return max(r.result.peak_tree_pss_mib for r in self.runs(name))


def measure_size(server: PostgresServer, rows: int, largest: int, rounds: int, only: set[str]) -> Measured:
    table = table_name(rows, largest)
    expected = ensure_table(server, table, rows)
    paths = [c for c in contenders(server, table) if c.skipped is None and (c.name in only or c.name == YARDSTICK)]
    yardstick, others = paths[0], paths[1:]
    measured = Measured(rows, table, {c.name: [] for c in paths})
    for index in range(1 + rounds):  # one warm-up round, unmeasured
        kind = "warm-up" if index == 0 else f"round {index}/{rounds}"
        for contender in others:  # A B A B: each path right after its own yardstick run
            log(f"postgres -> parquet: {rows:,} rows, {contender.name}, {kind}")
            base = run_contender(yardstick, expected, f"pg_{yardstick.name}_{table}_{contender.name}_{index}")
            run = run_contender(contender, expected, f"pg_{contender.name}_{table}_{index}")
            if index > 0:
                measured.pairs[contender.name].append((base, run))
                measured.pairs[yardstick.name].append((base, base))
    for contender in others:
        if contender.output is not None:
            shutil.rmtree(contender.output, ignore_errors=True)  # large, and only needed for the check
    return measured


# ---- report -------------------------------------------------------------------------------------


def _reference_cell(name: str) -> str:
    if name not in REFERENCE:
        return "–"
    row, ratio, rss = REFERENCE[name]
    return f"x{ratio / REFERENCE_PSQL_PER_PSYCOPG:.2f}, {rss} MiB ({row})"


def _ratio_cell(m: Measured, name: str) -> str:
    if name == YARDSTICK:
        return "x1 (yardstick)"
    ratios = m.ratio(name)
    if len(ratios) == 1:
        return f"**x{ratios[0]:.2f}**"
    return f"**x{median(ratios):.2f}** ({min(ratios):.2f}–{max(ratios):.2f})"


def _results_table(results: list[Measured], titles: dict[str, str]) -> str:
    rows = []
    for m in results:
        for name in m.pairs:
            runs = m.runs(name)
            parquet = runs[0].parquet_mib
            rows.append([
                f"{m.rows:,}", titles[name], _ratio_cell(m, name), _reference_cell(name),
                f"{m.wall(name):.2f}", f"{m.rows / m.wall(name):,.0f}",
                f"{m.tree_rss(name):.0f}", f"{m.tree_pss(name):.0f}", f"{max(r.result.peak_rss_mib for r in runs):.0f}",
                f"{median([r.result.cpu_seconds for r in runs]):.1f}",
                "–" if parquet is None else f"{parquet:.1f}",
                "–" if parquet is None else "yes",
            ])
    return markdown_table(
        ["rows", "path", "x COPY, paired median (min–max)", "reference: x COPY, peak at 5M",
         "wall s, median", "rows/s", "peak RSS MiB, process tree", "peak PSS MiB, process tree",
         "largest process MiB", "client CPU s",
         "Parquet MiB", "rows and checksum = source"],
        rows,
    )


def _scaling_table(small: Measured, large: Measured, titles: dict[str, str]) -> str:
    rows = []
    for name in large.pairs:
        low, high = small.tree_rss(name), large.tree_rss(name)
        extra_rows = (large.rows - small.rows) / 1_000_000
        marginal = (large.rows - small.rows) / max(large.wall(name) - small.wall(name), 1e-9)
        rows.append([
            titles[name], f"{small.wall(name):.2f}", f"{large.wall(name):.2f}", f"{marginal:,.0f}",
            f"{low:.0f}", f"{high:.0f}", f"x{high / low:.2f}", f"{(high - low) / extra_rows:+.0f}",
        ])
    return markdown_table(
        ["path", f"wall s at {small.rows:,}", f"wall s at {large.rows:,}", "rows/s between the sizes",
         f"peak MiB at {small.rows:,}", f"peak MiB at {large.rows:,}", "growth",
         "MiB per extra 1M rows"],
        rows,
    )


def _flat_lines(small: Measured, large: Measured) -> list[str]:
    lines = []
    for name in ("ingest", "ingest-parallel"):
        if name not in large.pairs:
            continue
        growth = large.tree_rss(name) / small.tree_rss(name)
        verdict = "PASS" if growth <= FLAT_GROWTH else "FAIL"
        lines.append(f"- **{verdict}**: {name} memory {'is flat' if growth <= FLAT_GROWTH else 'grows'} "
                     f"({small.tree_rss(name):.0f} -> {large.tree_rss(name):.0f} MiB, x{growth:.2f} for "
                     f"x{large.rows / small.rows:g} rows; limit x{FLAT_GROWTH})")
    return lines


def _step_lines(results: list[Measured]) -> list[str]:
    """How much of ingest_assets' time is the step, and how much Dagster's start-up around it."""
    lines = []
    for m in results:
        for name in ("ingest", "ingest-parallel"):
            steps = [b.step_seconds for _, b in m.pairs.get(name, []) if b.step_seconds is not None]
            if not steps:
                continue
            step = median(steps)
            ratios = [b.step_seconds / a.result.wall_seconds for a, b in m.pairs[name] if b.step_seconds]
            lines.append(f"- {name} at {m.rows:,} rows: the step alone (Dagster's `STEP_SUCCESS` duration) "
                         f"{step:.2f} s, x{median(ratios):.2f} COPY paired; the other {m.wall(name) - step:.2f} s "
                         "of the process are the CLI, the code-location load and the run's "
                         "bookkeeping")
    return lines


def _versions(server: PostgresServer) -> str:
    packages = ("pgserver", "psycopg", "adbc-driver-postgresql", "connectorx", "dlt", "sling-linux-amd64")
    return ", ".join([f"PostgreSQL {server_version(server)}"] + [f"{p} {package_version(p)}" for p in packages])


def report(results: list[Measured], server: PostgresServer, rounds: int, command: str, skipped: list[str],
           titles: dict[str, str]) -> str:
    small, large = results[0], results[-1]
    copy_mib = median([r.result.report["copy_bytes"] for r in large.runs(YARDSTICK)]) / 2**20
    lines = [
        TITLE,
        "",
        f"`bench_orders` ({large.rows:,} rows) and `{small.table}` (its first {small.rows:,} rows): `id bigint` "
        "primary key, int, numeric(12,2), a 6-value text, a 25%-null ~30-character text, 2 timestamptz, bool, "
        f"date; binary COPY stream {copy_mib:,.0f} MiB at {large.rows:,} rows. The server (from the `pgserver` "
        "wheel, default settings) runs on the same 2 cores and is reached over a unix socket; its memory is not "
        "counted. Each path is a fresh process tree timed from outside; 1 warm-up round, then "
        f"{rounds} round(s) in which every path runs right after a run of the yardstick (psycopg's binary "
        "COPY, read and dropped), so each ratio is a pair. Every output is checked: row count, sum(id), "
        "sum(amount) and count(note) equal the table's. `peak RSS, process tree` is the largest sum over the "
        "process and its children at one moment (sampled every 50 ms; `dagster asset materialize` runs a "
        "run's one step in its own process, a run of several forks a process per step); it counts a page "
        "shared by several processes once per process, `peak PSS, process tree` splits it among them (the "
        "memory the tree takes). `largest process` is the largest single one (exact), the figure "
        "performance.md reports. Its ratios are to `psql \\copy`, converted here to psycopg's COPY (/1.30, its "
        "measured ratio).",
        "",
        *machine_lines(),
        f"- database and clients: {_versions(server)}",
        f"- reproduce: `{command}`",
        "",
        _results_table(results, titles),
        "",
        *_step_lines(results),
        "",
    ]
    if len(results) > 1:
        lines += ["Memory against table size:", "", _scaling_table(small, large, titles), "",
                  *_flat_lines(small, large)]
    lines += [f"- skipped: {reason}" for reason in skipped]
    return "\n".join(lines) + "\n"


def run(rows: int = DEFAULT_ROWS, rounds: int = DEFAULT_ROUNDS, only: list[str] | None = None) -> str:
    sizes = [min(SCALING_ROWS, max(rows // 5, 1)), rows]
    command = f".venv/bin/python benchmarks/postgres_to_parquet.py --rows {rows} --rounds {rounds}"
    if only:
        command += " --only " + " ".join(only)
    fresh_projects()
    with cached_server(ROOT) as server:
        every = contenders(server, table_name(rows, rows))
        chosen = set(only or [c.name for c in every])
        skipped = [f"{c.name}: {c.skipped}" for c in every if c.skipped is not None and c.name in chosen]
        for reason in skipped:
            log(f"postgres -> parquet: skipped {reason}")
        results = [measure_size(server, size, rows, rounds, chosen) for size in sizes]
        return report(results, server, rounds, command, skipped, {c.name: c.title for c in every})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="rows of bench_orders (the small table: 1/5)")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="measured rounds after one warm-up")
    parser.add_argument("--only", nargs="+", metavar="PATH", choices=PATHS,
                        help=f"these paths only (the yardstick always runs): {' '.join(PATHS)}")
    args = parser.parse_args()
    section = run(args.rows, args.rounds, args.only)
    print(section)
    # A smaller or partial run must not replace the full results.
    output = RESULTS if args.rows == DEFAULT_ROWS and not args.only else QUICK_RESULTS
    replace_section(output, section)
    log(f"section '{TITLE[3:]}' written to {output.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
