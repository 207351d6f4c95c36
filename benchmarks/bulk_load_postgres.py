"""Bulk loading N rows (5M) from Parquet into a new PostgreSQL table: ingest_assets against a plain COPY.

The rows are upsert.py's base rows (`id bigint`, a 6-value text, a 25%-null text, numeric(12,2), two
timestamptz, bool), generated once by DuckDB into one Parquet file and a CSV file of the same rows,
cached in benchmarks/.work/. The server is the `pgserver` wheel's PostgreSQL (default settings, a
unix socket, the data folder kept in .work/sql_stores). Every round drops both target tables (not
timed), then runs each path as its own process, measured from outside (wall time, peak RSS of the
process tree):

- copy (the yardstick): psycopg `CREATE TABLE` with the column types ingest_assets creates, then
  `COPY ... FROM STDIN (FORMAT csv)` streaming the CSV file in 1 MiB blocks;
- ingest: `dagster asset materialize` of an entity with a `parquet` home and the PostgreSQL connection
  as its store, `run_type: full_drop`, `write_strategy: replace`; the step alone is read back from the
  run's event log (Dagster's `STEP_SUCCESS` duration and the materialization's `ingest/duration_seconds`).

Each round pairs the two (copy first), so their ratio cancels the drift of a noisy machine. After every
run the table is checked: row count, sum(id), sum(amount), count(note) and 5 spot rows equal the
source's, and the column types of both tables must be the same.

    .venv/bin/python benchmarks/bulk_load_postgres.py [--rows 5000000] [--rounds 3] [--profile]

`--profile` also runs the ingest path once in process under cProfile and reports where its time goes.
The section goes to benchmarks/RESULTS.md (to .work/RESULTS.quick.md for other sizes).
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import closing
from dataclasses import dataclass
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
    replace_section,
    run_command,
)
from upsert import (
    CHECKSUM_SQL,
    SPOT_SQL,
    Profile,
    duckdb_connect,
    ensure_data,
    fresh_dagster_home,
    normalized,
    profile_ingest,
    profile_section,
    reading_line,
    run_materialize,
    statement_log,
    versions_line,
    write_flows,
)

DEFAULT_ROWS = 5_000_000
DEFAULT_ROUNDS = 3
ROOT = WORK_DIR / "bulk_load_postgres"
RESULTS = BENCH_DIR / "RESULTS.md"
QUICK_RESULTS = WORK_DIR / "RESULTS.quick.md"
TITLE = "## Bulk load into PostgreSQL"
AIM = 1.5  # the aim: ingest within 1.5x of COPY
DATABASE = "bulk_load"
INGEST_TABLE, COPY_TABLE = "bench.orders", "bench.orders_copy"
SPOT_IDS = (1, 2, 1_000, 2_500_000, 5_000_000)
# The column types ingest_assets' PostgreSQL store creates for these Parquet types (checked after each run).
COPY_TABLE_DDL = """CREATE TABLE {table} (
    id bigint, status text, note text, amount numeric(12, 2), created_at timestamp with time zone,
    updated_at timestamp with time zone, flag boolean
)"""
COLUMN_TYPES_SQL = """SELECT column_name, data_type, numeric_precision, numeric_scale FROM information_schema.columns
WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position"""


# ---- data ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    rows: int
    parquet_folder: Path  # one Parquet file: the ingest home's folder
    csv_file: Path
    checksum: tuple  # CHECKSUM_SQL over the rows, as text
    spot: list[tuple]  # SPOT_SQL rows, as text


def spot_ids(rows: int) -> str:
    return ", ".join(str(i) for i in SPOT_IDS if i <= rows)


def ensure_source(rows: int) -> Source:
    """upsert.py's N base rows as Parquet, and the same rows as CSV (DuckDB, timestamps in UTC)."""
    data = ensure_data(rows)
    csv_file = ROOT / f"rows_{rows}.csv"
    marker = ROOT / f"rows_{rows}.json"
    parquet = f"read_parquet('{data.base}/*.parquet')"
    if not (marker.exists() and csv_file.exists()):
        log(f"bulk load: writing the {rows:,} rows as CSV to {csv_file}")
        ROOT.mkdir(parents=True, exist_ok=True)
        with closing(duckdb_connect()) as connection:
            connection.execute(f"COPY (SELECT * FROM {parquet}) TO '{csv_file}' (FORMAT csv, HEADER false)")
            checksum = connection.execute(CHECKSUM_SQL.format(table=parquet)).fetchone()
            spot = connection.execute(SPOT_SQL.format(table=parquet, ids=spot_ids(rows))).fetchall()
        marker.write_text(json.dumps({"checksum": [str(v) for v in checksum],
                                      "spot": [[str(v) for v in row] for row in spot]}))
    saved = json.loads(marker.read_text())
    return Source(rows, data.base, csv_file, tuple(saved["checksum"]), [tuple(r) for r in saved["spot"]])


def check_table(server, table: str, source: Source, label: str) -> None:
    found = server.execute(DATABASE, CHECKSUM_SQL.format(table=table))[0]
    if normalized([found]) != [source.checksum]:
        raise AssertionError(f"{label}: {table} holds {found}, the source {source.checksum}")
    spot = server.execute(DATABASE, SPOT_SQL.format(table=table, ids=spot_ids(source.rows)))
    if normalized(spot) != normalized(source.spot):
        raise AssertionError(f"{label}: spot rows {normalized(spot)} differ from {source.spot}")


def column_types(server, table: str) -> list[tuple]:
    schema, name = table.split(".")
    return [row[1:] for row in server.execute(DATABASE, COLUMN_TYPES_SQL, (schema, name))]


# ---- the two paths ------------------------------------------------------------------------------


def copy_child(uri: str, table: str, csv_file: str) -> None:
    """The yardstick, in its own process: create the table, stream the CSV file into COPY FROM STDIN, commit."""
    import psycopg

    with psycopg.connect(uri) as connection, connection.cursor() as cursor:
        cursor.execute(COPY_TABLE_DDL.format(table=table))
        with open(csv_file, "rb") as rows, cursor.copy(f"COPY {table} FROM STDIN (FORMAT csv)") as copy:
            while block := rows.read(1 << 20):
                copy.write(block)


def write_project(server, source: Source) -> Path:
    connections = (f"  src:\n    type: parquet\n    path: '{source.parquet_folder}'\n"
                   f"  pg:\n{server.connection_yaml(DATABASE)}\n")
    flow = "home: src\nstore: pg\nrun_type: full_drop\n"
    entity = "home:\n  path: '*.parquet'\nwrite_strategy: replace\n"
    return write_flows(ROOT / "project" / "flows", connections, {"bench": (flow, entity)})


@dataclass(frozen=True)
class Pair:
    copy: ChildResult
    ingest: ChildResult
    steps: StepTimes

    @property
    def ratio(self) -> float:
        return self.ingest.wall_seconds / self.copy.wall_seconds


def drop_tables(server) -> None:
    with server.connect(DATABASE) as connection:
        connection.execute(f"DROP TABLE IF EXISTS {INGEST_TABLE}")
        connection.execute(f"DROP TABLE IF EXISTS {COPY_TABLE}")
        connection.execute("CREATE SCHEMA IF NOT EXISTS bench")
    with server.connect() as connection:
        connection.execute("CHECKPOINT")  # the dropped tables' files go now, not during a measured run


def copy_argv(server, source: Source) -> list[str]:
    return [PYTHON, str(Path(__file__).resolve()), "child", server.uri(DATABASE), COPY_TABLE, str(source.csv_file)]


def measure(server, source: Source, rounds: int, flows: Path, home: Path) -> list[Pair]:
    pairs = []
    for index in range(1 + rounds):  # one warm-up round, unmeasured
        log(f"bulk load: {source.rows:,} rows, {'warm-up' if index == 0 else f'round {index}/{rounds}'}")
        drop_tables(server)
        copy = run_command(copy_argv(server, source), f"bulk_copy_{index}", timeout_seconds=1800)
        check_table(server, COPY_TABLE, source, "COPY")
        ingest = run_materialize("bench/orders", flows, home, f"bulk_ingest_{index}")
        check_table(server, INGEST_TABLE, source, "ingest_assets")
        if column_types(server, INGEST_TABLE) != column_types(server, COPY_TABLE):
            raise AssertionError(f"column types differ: ingest {column_types(server, INGEST_TABLE)}, COPY "
                                 f"{column_types(server, COPY_TABLE)}: update COPY_TABLE_DDL")
        if index > 0:
            pairs.append(Pair(copy, ingest, last_step_times(home)))
    return pairs


def run_profile(server, source: Source, flows: Path, home: Path) -> Profile:
    """One ingest run under cProfile, and both paths' statements as the server timed them."""
    drop_tables(server)
    with statement_log(server, DATABASE) as ingest_statements:
        profile = profile_ingest("bench/orders", flows, home, "bulk_ingest_profile")
    check_table(server, INGEST_TABLE, source, "ingest_assets (profiled)")
    with statement_log(server, DATABASE) as copy_statements:
        run_command(copy_argv(server, source), "bulk_copy_logged", timeout_seconds=1800)
    check_table(server, COPY_TABLE, source, "COPY (logged)")
    profile.statements.update({"ingest_assets": ingest_statements, "COPY": copy_statements})
    return profile


# ---- report -------------------------------------------------------------------------------------


def _spread(values: list[float], prefix: str = "") -> str:
    if len(values) == 1:
        return f"{prefix}{values[0]:.2f}"
    return f"{prefix}{median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def _step_cell(pairs: list[Pair], attribute: str) -> str:
    values = [(getattr(p.steps, attribute), p.copy.wall_seconds) for p in pairs if getattr(p.steps, attribute)]
    if not values:
        return "–"
    return f"{median([v for v, _ in values]):.2f}, {_spread([v / c for v, c in values], prefix='x')}"


def results_table(pairs: list[Pair], rows: int) -> str:
    copies, ingests = [p.copy for p in pairs], [p.ingest for p in pairs]
    return markdown_table(
        ["path", "x COPY, paired median (min–max)", "wall s, median (min–max)", "rows/s",
         "step alone s (`STEP_SUCCESS`), x COPY", "`ingest/duration_seconds`, x COPY",
         "peak RSS MiB, process tree (largest process)", "client CPU s", "table checked"],
        [
            ["psycopg `COPY ... FROM STDIN (FORMAT csv)` of the CSV file (yardstick)", "x1 (yardstick)",
             _spread([r.wall_seconds for r in copies]), f"{rows / median([r.wall_seconds for r in copies]):,.0f}",
             "–", "–", f"{max(r.peak_tree_rss_mib for r in copies):.0f} "
             f"({max(r.peak_rss_mib for r in copies):.0f})", f"{median([r.cpu_seconds for r in copies]):.1f}", "yes"],
            ["ingest_assets `dagster asset materialize` (`write_strategy: replace`, full_drop)",
             f"**{_spread([p.ratio for p in pairs], prefix='x')}**", _spread([r.wall_seconds for r in ingests]),
             f"{rows / median([r.wall_seconds for r in ingests]):,.0f}", _step_cell(pairs, "step_seconds"),
             _step_cell(pairs, "ingest_seconds"), f"{max(r.peak_tree_rss_mib for r in ingests):.0f} "
             f"({max(r.peak_rss_mib for r in ingests):.0f})", f"{median([r.cpu_seconds for r in ingests]):.1f}",
             "yes"],
        ],
    )


def report(source: Source, rounds: int, pairs: list[Pair], command: str, versions: str,
           profiles: dict[str, Profile]) -> str:
    whole = median([p.ratio for p in pairs])
    step_seconds = [p.steps.step_seconds for p in pairs if p.steps.step_seconds]
    steps = [p.steps.step_seconds / p.copy.wall_seconds for p in pairs if p.steps.step_seconds]
    lines = [
        TITLE,
        "",
        f"{source.rows:,} rows (`id bigint`, a 6-value text, a 25%-null text, numeric(12,2), two timestamptz, bool) "
        f"from one Parquet file ({_mib(source.parquet_folder):.0f} MiB, zstd) into a new PostgreSQL table, next to "
        f"a plain `COPY FROM STDIN (FORMAT csv)` of the same rows from a CSV file ({source.csv_file.stat().st_size / 2**20:.0f} MiB) "
        "into a table with the same column types. Both tables are dropped before every round (not timed). Each "
        f"path is a fresh process timed from outside; 1 warm-up round, then {rounds} round(s), each pairing COPY "
        "(run first) with ingest_assets. After every run the table is checked: row count, sum(id), sum(amount), "
        "count(note) and 5 spot rows equal the source's, and both tables have the same column types. The server "
        "(`pgserver`, default settings) runs on the same 2 cores over a unix socket; its memory is not counted.",
        "",
        *machine_lines(),
        f"- database and clients: {versions}",
        f"- reproduce: `{command}`",
        "",
        results_table(pairs, source.rows),
        "",
        f"- **{'PASS' if whole <= AIM else 'FAIL'}**: ingest_assets x{whole:.2f} COPY, whole command (aim x{AIM}); "
        f"the step alone x{median(steps) if steps else float('nan'):.2f}",
        reading_line("PostgreSQL replace", median([p.ingest.wall_seconds for p in pairs]),
                     median(step_seconds) if step_seconds else None,
                     f"{median([p.copy.wall_seconds for p in pairs]):.1f} s of COPY",
                     profiles.get("PostgreSQL replace")),
        "",
        *profile_section(profiles),
    ]
    return "\n".join(lines).rstrip("\n") + "\n"


def _mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.glob("*.parquet")) / 2**20


def run(rows: int = DEFAULT_ROWS, rounds: int = DEFAULT_ROUNDS, profile: bool = False) -> str:
    command = f".venv/bin/python benchmarks/bulk_load_postgres.py --rows {rows} --rounds {rounds}"
    command += " --profile" if profile else ""
    source = ensure_source(rows)
    with cached_server(WORK_DIR / "sql_stores") as server:
        if not server.execute("postgres", "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)):
            server.create_database(DATABASE)
        home = ROOT / "dagster_home"
        fresh_dagster_home(home)
        flows = write_project(server, source)
        pairs = measure(server, source, rounds, flows, home)
        profiles = {"PostgreSQL replace": run_profile(server, source, flows, home)} if profile else {}
        drop_tables(server)  # 2 x 5M rows the server need not keep
        return report(source, rounds, pairs, command, versions_line(server), profiles)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="rows to load")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="measured rounds after one warm-up")
    parser.add_argument("--profile", action="store_true", help="also profile one ingest run (cProfile)")
    args = parser.parse_args()
    section = run(args.rows, args.rounds, args.profile)
    print(section)
    output = RESULTS if args.rows == DEFAULT_ROWS else QUICK_RESULTS
    replace_section(output, section)
    log(f"section '{TITLE[3:]}' written to {output.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        copy_child(*sys.argv[2:])
    else:
        main()
