"""Reading a SQLite table into Arrow: the SQLAlchemy home (rows), the ADBC home, and the candidates.

A table `bench` as SQLAlchemy writes it (bigint key, int, NUMERIC(12,2) stored as REAL or INTEGER,
text, 25%-null text, DATETIME as 'YYYY-MM-DD HH:MM:SS.ffffff' text, BOOLEAN as 0/1) is generated once
per size and cached in benchmarks/.work/. Each path reads the whole table as record batches of 100,000
rows in its own process, which times the read alone (not the imports) and reports its peak RSS; every
round runs all paths one after the other, so each ratio to the SQLAlchemy home is of the same round.

- sqlalchemy: `SqlAlchemyHome`, the universal path (rows fetched, then `pa.array` per column);
- ingest: `SqliteHome`, ADBC's record batches cast to the declared types (the default);
- adbc-raw: ADBC's batches as the driver types them (int, double, text): the driver's own limit;
- connectorx: the whole result at once, typed from the declared types; it cannot bind parameters;
- sqlite3: the standard library's rows, made columns with `pa.array` and cast as `ingest` does.

The homes' results are checked equal (schema and values) before anything is timed.

    .venv/bin/python benchmarks/sqlite_read.py [--rows 20000 1000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import importlib
import json
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from _common import PYTHON, REPO_ROOT, WORK_DIR, log, machine_lines, markdown_table, median, package_version

sys.path.insert(0, str(REPO_ROOT))

DEFAULT_ROWS = (20_000, 1_000_000)
DEFAULT_ROUNDS = 3
BATCH_ROWS = 100_000
DATA_VERSION = 1  # bump when the generated table changes, so cached files are rebuilt
ROOT = WORK_DIR / "sqlite_read"
TITLE = "## SQLite -> Arrow"
PATHS = ("sqlalchemy", "ingest", "adbc-raw", "connectorx", "sqlite3")
YARDSTICK = "sqlalchemy"

# The DDL SQLAlchemy emits for BigInteger (key), Integer, Numeric(12, 2), String(20), Text, DateTime, Boolean.
CREATE_TABLE = """
CREATE TABLE bench (
    id BIGINT NOT NULL PRIMARY KEY, customer_id INTEGER, amount NUMERIC(12, 2), status VARCHAR(20),
    note TEXT, updated_at DATETIME, flag BOOLEAN
)"""


def database(rows: int) -> Path:
    path = ROOT / f"bench_{rows}_v{DATA_VERSION}.sqlite"
    if not path.exists():
        log(f"sqlite read: building {path.name}")
        ROOT.mkdir(parents=True, exist_ok=True)
        building = path.with_suffix(".building")
        building.unlink(missing_ok=True)
        _build(building, rows)
        building.rename(path)  # last: an interrupted build is redone
    return path


def _build(path: Path, rows: int) -> None:
    rng = random.Random(42)
    start = datetime(2025, 1, 1)

    def generated():  # values as SQLAlchemy binds them: whole amounts as INTEGER, others as REAL
        for key in range(1, rows + 1):
            cents = rng.randrange(0, 100_000_000)
            at = start + timedelta(microseconds=rng.randrange(0, 365 * 86_400 * 10**6))
            yield (key, rng.randrange(1, 2_000_000), cents // 100 if cents % 100 == 0 else cents / 100,
                   rng.choice(("placed", "paid", "packed", "shipped", "delivered", "returned")),
                   None if rng.random() < 0.25 else f"note {rng.getrandbits(100):x}",
                   at.strftime("%Y-%m-%d %H:%M:%S.%f"), int(rng.random() < 0.6))

    with sqlite3.connect(path) as connection:
        connection.execute(CREATE_TABLE)
        connection.executemany("INSERT INTO bench VALUES (?, ?, ?, ?, ?, ?, ?)", generated())


# ---- the paths (each runs in a child process: `--child PATH FILE`) -------------------------------


def _home_read(path: Path, engine: str):
    from ingest_assets.connectors.sqlite import SqliteFileResource
    from ingest_assets.homes.base import ReadRequest
    from ingest_assets.homes.sqlite import sqlite_home
    from ingest_assets.plan.model import ReadSpec

    home = sqlite_home(SqliteFileResource(path=str(path), engine_name=engine))
    return home.read(ReadRequest(ReadSpec(table="bench", batch_size=BATCH_ROWS)))


def _count_home(path: Path, engine: str) -> int:
    with _home_read(path, engine) as reader:
        return sum(batch.num_rows for batch in reader)


def _count_adbc(path: Path) -> int:
    from adbc_driver_sqlite import dbapi

    with dbapi.connect(str(path)) as connection, connection.cursor() as cursor:
        cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
        cursor.execute("SELECT * FROM bench")
        return sum(batch.num_rows for batch in cursor.fetch_record_batch())


def _count_connectorx(path: Path) -> int:
    import connectorx

    return connectorx.read_sql(f"sqlite://{path}", "SELECT * FROM bench", return_type="arrow").num_rows


def _count_sqlite3(path: Path) -> int:
    import pyarrow as pa
    import pyarrow.compute as pc

    storage = (pa.int64(), pa.int64(), pa.float64(), pa.string(), pa.string(), pa.string(), pa.int64())
    declared = (pa.int64(), pa.int64(), pa.decimal128(12, 2), pa.string(), pa.string(), pa.timestamp("us"),
                pa.bool_())
    count = 0
    with sqlite3.connect(path) as connection:
        cursor = connection.execute("SELECT * FROM bench")
        while rows := cursor.fetchmany(BATCH_ROWS):
            columns = zip(*rows, strict=True)
            arrays = [pc.cast(pa.array(values, type=kind), target)
                      for values, kind, target in zip(columns, storage, declared, strict=True)]
            count += len(pa.RecordBatch.from_arrays(arrays, names=[f"c{i}" for i in range(len(arrays))]))
    return count


COUNTERS: dict[str, Callable[[Path], int]] = {
    "sqlalchemy": lambda path: _count_home(path, "sqlalchemy"),
    "ingest": lambda path: _count_home(path, "adbc"),
    "adbc-raw": _count_adbc,
    "connectorx": _count_connectorx,
    "sqlite3": _count_sqlite3,
}


# Imported before the clock starts: a run worker has them loaded already.
IMPORTS = {"sqlalchemy": ["ingest_assets.homes.sqlite"],
           "ingest": ["ingest_assets.homes.sqlite", "adbc_driver_sqlite.dbapi"], "adbc-raw": ["adbc_driver_sqlite.dbapi", "pyarrow"], "connectorx": ["connectorx", "pyarrow"],
           "sqlite3": ["pyarrow.compute"]}


def _peak_rss_mib() -> float:
    """This process's peak RSS (VmHWM: getrusage's maxrss would keep the forking parent's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(name: str, path: Path) -> None:
    for module in IMPORTS[name]:
        importlib.import_module(module)
    started = time.perf_counter()
    rows = COUNTERS[name](path)
    seconds = time.perf_counter() - started
    peak = _peak_rss_mib()
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_rss_mib": peak}))


def _run_child(name: str, path: Path) -> dict[str, float]:
    done = subprocess.run([PYTHON, __file__, "--child", name, str(path)], capture_output=True, text=True,
                          check=False, cwd=REPO_ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def check_equal(path: Path) -> None:
    """Both homes give the same schema and values, or nothing is timed."""
    tables = []
    for engine in ("adbc", "sqlalchemy"):
        with _home_read(path, engine) as reader:
            tables.append(reader.read_all())
    fast, rows = tables
    assert fast.schema.equals(rows.schema), f"{fast.schema} != {rows.schema}"
    assert fast.equals(rows), "the homes read different values"


# ---- report ---------------------------------------------------------------------------------------


def run(sizes: list[int], rounds: int, paths: tuple[str, ...] = PATHS) -> str:
    lines = [TITLE, "", f"Whole table, batches of {BATCH_ROWS:,} rows, read time in the process (imports "
             f"excluded), median of {rounds} rounds; ratio to `{YARDSTICK}` in the same round "
             "(higher is faster).", ""]
    for rows in sizes:
        path = database(rows)
        check_equal(path)
        measured: dict[str, list[dict[str, float]]] = {name: [] for name in paths}
        ratios: dict[str, list[float]] = {name: [] for name in paths}
        for round_number in range(rounds):
            log(f"sqlite read: {rows:,} rows, round {round_number + 1}/{rounds}")
            results = {name: _run_child(name, path) for name in paths}
            for name, result in results.items():
                assert result["rows"] == rows, f"{name} read {result['rows']} rows of {rows}"
                measured[name].append(result)
                ratios[name].append(results[YARDSTICK]["seconds"] / result["seconds"])
        table = [[f"`{name}`", f"{median([r['seconds'] for r in measured[name]]):.3f}",
                  f"{median(ratios[name]):.1f}x", f"{median([r['peak_rss_mib'] for r in measured[name]]):.0f}"]
                 for name in paths]
        lines += [f"{rows:,} rows:", "", markdown_table(["path", "seconds", "speed vs sqlalchemy", "peak RSS MiB"],
                                                       table), ""]
    versions = ", ".join(f"{p} {package_version(p)}" for p in ("adbc-driver-sqlite", "connectorx", "pyarrow",
                                                                "sqlalchemy"))
    lines += [f"Versions: {versions}.", "", *machine_lines(), ""]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], Path(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=list(DEFAULT_ROWS))
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS)
    parser.add_argument("--only", nargs="+", choices=PATHS, help="these paths (the yardstick always runs)")
    args = parser.parse_args()
    paths = PATHS if not args.only else (YARDSTICK, *(p for p in args.only if p != YARDSTICK))
    print(run(args.rows, args.rounds, paths))


if __name__ == "__main__":
    main()
