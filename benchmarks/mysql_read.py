"""Reading a MySQL / MariaDB table into Arrow: the SQLAlchemy home (PyMySQL rows) and the candidates.

The script starts its own MariaDB (the test suite's `servers/mariadb.py`; skipped with a note when
mariadbd is not installed, see `.ci/system-packages`) and fills a table `bench_<rows>` of bigint key,
int, DECIMAL(12,2), VARCHAR, 25%-null VARCHAR, DATETIME(6) and BOOLEAN (TINYINT(1)) on the server
(`seq_1_to_N`, values from the key: the same table every run). Each path reads the whole table as
record batches of 100,000 rows in its own process, which times the read alone (not the imports) and
reports its peak RSS and its RSS when the first batch arrives (a path whose driver buffers the whole
result has its peak then); every round runs all paths one after the other, so each ratio to the
SQLAlchemy home is of the same round.

- sqlalchemy: `SqlAlchemyHome`, the universal path (PyMySQL's unbuffered SSCursor, rows, `pa.array` per column);
- ingest: `MysqlHome`, connectorx's batches cast to the declared types (the default);
- sqlalchemy-mysqldb: the same home over mysqlclient (`mysql+mysqldb`), the C driver;
- mysqlclient: mysqlclient's unbuffered rows made columns with `pa.array` (no SQLAlchemy);
- connectorx: `return_type="arrow_stream"`, its batches as it types them (the driver's own limit);
- arrow-odbc: record batches over MariaDB's ODBC driver (Debian's odbc-mariadb), parameters bound; the
  driver (3.1.15 in Debian 12) holds the whole result before the first batch (streaming needs 3.1.17's
  NO_CACHE), which the RSS at the first batch shows.

The homes' results are checked equal (schema and values) before anything is timed.

A path whose package is not installed is left out with a note (`pip install -r benchmarks/requirements.txt`).

    .venv/bin/python benchmarks/mysql_read.py [--rows 20000 1000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from _common import PYTHON, REPO_ROOT, log, machine_lines, markdown_table, median, package_version

sys.path.insert(0, str(REPO_ROOT))

DEFAULT_ROWS = (20_000, 1_000_000)
DEFAULT_ROUNDS = 3
BATCH_ROWS = 100_000
DATABASE = "bench"
TITLE = "## MySQL / MariaDB -> Arrow"
PATHS = ("sqlalchemy", "ingest", "sqlalchemy-mysqldb", "mysqlclient", "connectorx", "arrow-odbc")
YARDSTICK = "sqlalchemy"
# The module each path needs beyond the package's own.
NEEDS = {"ingest": "connectorx", "sqlalchemy-mysqldb": "MySQLdb", "mysqlclient": "MySQLdb", "connectorx": "connectorx",
         "arrow-odbc": "arrow_odbc"}
ODBC_DRIVER = "MariaDB Unicode"  # as the test suite names Debian's odbc-mariadb

CREATE_TABLE = """
CREATE TABLE bench_{rows} (
    id BIGINT NOT NULL PRIMARY KEY, customer_id INT, amount DECIMAL(12, 2), status VARCHAR(20),
    note VARCHAR(100), updated_at DATETIME(6), flag TINYINT(1)
)"""
# Deterministic values from the key (MariaDB's sequence engine makes the keys).
FILL_TABLE = """
INSERT INTO bench_{rows}
SELECT seq, 1 + (seq * 2654435761) % 2000000, ((seq * 40503) % 100000000) / 100,
       ELT(1 + seq % 6, 'placed', 'paid', 'packed', 'shipped', 'delivered', 'returned'),
       IF(CRC32(seq) % 4 = 0, NULL, CONCAT('note ', LEFT(MD5(seq), 25))),
       TIMESTAMP'2025-01-01 00:00:00' + INTERVAL ((seq * 104729 * 1000003) % 31536000000000) MICROSECOND,
       CRC32(seq * 7) % 10 < 6
FROM seq_1_to_{rows}"""


def fill(server, rows: int) -> str:
    table = f"bench_{rows}"
    server.execute(DATABASE, CREATE_TABLE.format(rows=rows))
    server.execute(DATABASE, FILL_TABLE.format(rows=rows))
    server.execute(DATABASE, f"ANALYZE TABLE {table}")
    return table


# ---- the paths (each runs in a child process: `--child PATH PORT TABLE`) --------------------------


_first_batch_rss: list[float] = []


def _first(count: int, rows: int) -> int:
    """Counts rows, noting the RSS when the first batch has arrived."""
    if not _first_batch_rss:
        _first_batch_rss.append(_rss_mib("VmRSS"))
    return count + rows


def _home(port: int, table: str, engine: str, url: str | None = None):
    from ingest_assets.connectors.mysql import MysqlResource
    from ingest_assets.connectors.sqlalchemy import SqlAlchemyResource
    from ingest_assets.homes.base import ReadRequest
    from ingest_assets.homes.mysql import mysql_home
    from ingest_assets.homes.sql import SqlAlchemyHome
    from ingest_assets.plan.model import ReadSpec

    request = ReadRequest(ReadSpec(table=table, batch_size=BATCH_ROWS))
    if url is not None:
        return SqlAlchemyHome(SqlAlchemyResource(url=url)).read(request)
    resource = MysqlResource(host="127.0.0.1", port=port, database=DATABASE, user="root", engine_name=engine)
    return mysql_home(resource).read(request)


def _home_count(port: int, table: str, engine: str, url: str | None = None) -> int:
    count = 0
    with _home(port, table, engine, url) as reader:
        for batch in reader:
            count = _first(count, batch.num_rows)
    return count


def check_equal(port: int, table: str) -> None:
    """Both homes give the same schema and values, or nothing is timed."""
    tables = []
    for engine in ("connectorx", "sqlalchemy"):
        with _home(port, table, engine) as reader:
            tables.append(reader.read_all())
    fast, rows = tables
    assert fast.schema.equals(rows.schema), f"{fast.schema} != {rows.schema}"
    assert fast.equals(rows), "the homes read different values"


def _count_mysqlclient(port: int, table: str) -> int:
    import MySQLdb
    import MySQLdb.cursors
    import pyarrow as pa

    types = (pa.int64(), pa.int64(), pa.decimal128(12, 2), pa.string(), pa.string(), pa.timestamp("us"), pa.int64())
    connection = MySQLdb.connect(host="127.0.0.1", port=port, user="root", database=DATABASE, charset="utf8mb4")
    cursor = connection.cursor(MySQLdb.cursors.SSCursor)
    cursor.execute(f"SELECT * FROM {table}")
    count = 0
    while rows := cursor.fetchmany(BATCH_ROWS):
        arrays = [pa.array(values, type=kind) for values, kind in zip(zip(*rows, strict=True), types, strict=True)]
        count = _first(count, pa.RecordBatch.from_arrays(arrays, names=[f"c{i}" for i in range(7)]).num_rows)
    connection.close()
    return count


def _count_connectorx(port: int, table: str) -> int:
    import connectorx

    reader = connectorx.read_sql(f"mysql://root@127.0.0.1:{port}/{DATABASE}", f"SELECT * FROM {table}",
                                 return_type="arrow_stream", batch_size=BATCH_ROWS)
    count = 0
    for batch in reader:
        count = _first(count, batch.num_rows)
    return count


def _count_arrow_odbc(port: int, table: str) -> int:
    import arrow_odbc

    connection = f"DRIVER={{{ODBC_DRIVER}}};SERVER=127.0.0.1;PORT={port};DATABASE={DATABASE};UID=root;CHARSET=utf8mb4"
    # One thread: on two cores, fetching concurrently was slower (2.8 s against 1.7 s on 1M rows).
    reader = arrow_odbc.read_arrow_batches_from_odbc(f"SELECT * FROM {table}", connection, batch_size=BATCH_ROWS,
                                                     fetch_concurrently=False)
    count = 0
    for batch in reader:
        count = _first(count, batch.num_rows)
    return count


def _mysqldb_url(port: int) -> str:
    return f"mysql+mysqldb://root@127.0.0.1:{port}/{DATABASE}?charset=utf8mb4"


COUNTERS: dict[str, Callable[[int, str], int]] = {
    "sqlalchemy": lambda port, table: _home_count(port, table, "sqlalchemy"),
    "ingest": lambda port, table: _home_count(port, table, "connectorx"),
    "sqlalchemy-mysqldb": lambda port, table: _home_count(port, table, "sqlalchemy", _mysqldb_url(port)),
    "mysqlclient": _count_mysqlclient,
    "connectorx": _count_connectorx,
    "arrow-odbc": _count_arrow_odbc,
}

# Imported before the clock starts: a run worker has them loaded already.
IMPORTS = {"sqlalchemy": ["ingest_assets.homes.mysql", "pymysql"],
           "ingest": ["ingest_assets.homes.mysql", "pymysql", "connectorx"],
           "sqlalchemy-mysqldb": ["ingest_assets.homes.sql", "MySQLdb"],
           "mysqlclient": ["MySQLdb", "pyarrow"], "connectorx": ["connectorx", "pyarrow"],
           "arrow-odbc": ["arrow_odbc", "pyarrow"]}


def _rss_mib(field: str = "VmHWM") -> float:
    """This process's peak (VmHWM; getrusage's maxrss would keep the forking parent's) or current RSS."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(name: str, port: int, table: str) -> None:
    for module in IMPORTS[name]:
        importlib.import_module(module)
    started = time.perf_counter()
    rows = COUNTERS[name](port, table)
    seconds = time.perf_counter() - started
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_rss_mib": _rss_mib(),
                      "first_batch_rss_mib": _first_batch_rss[0] if _first_batch_rss else float("nan")}))


def _run_child(name: str, port: int, table: str) -> dict[str, float]:
    done = subprocess.run([PYTHON, __file__, "--child", name, str(port), table], capture_output=True, text=True,
                          check=False, cwd=REPO_ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def _missing(paths: tuple[str, ...]) -> list[str]:
    return [name for name in paths if name in NEEDS and importlib.util.find_spec(NEEDS[name]) is None]


# ---- report ---------------------------------------------------------------------------------------


def run(sizes: list[int], rounds: int, paths: tuple[str, ...] = PATHS) -> str:
    lines = [TITLE, ""]
    if shutil.which("mariadbd", path="/usr/sbin:/usr/bin") is None and shutil.which("mariadbd") is None:
        return "\n".join([*lines, "Skipped: mariadbd is not installed (run `.ci/system-packages`).", ""])
    from ingest_assets_tests.servers.mariadb import mariadb_server

    missing = _missing(paths)
    paths = tuple(name for name in paths if name not in missing)
    lines += [f"Whole table, batches of {BATCH_ROWS:,} rows, read time in the process (imports excluded), "
              f"median of {rounds} rounds; ratio to `{YARDSTICK}` in the same round (higher is faster); "
              "RSS when the first batch arrived and at its peak.", ""]
    if missing:
        lines += [f"Not installed, left out: {', '.join(missing)} (`pip install -r benchmarks/requirements.txt`).", ""]
    with mariadb_server() as server:
        server.create_database(DATABASE)
        version = server.execute(None, "SELECT VERSION()")[0][0]
        for rows in sizes:
            log(f"mysql read: filling bench_{rows}")
            table = fill(server, rows)
            if "ingest" in paths:
                check_equal(server.port, table)
            measured: dict[str, list[dict[str, float]]] = {name: [] for name in paths}
            ratios: dict[str, list[float]] = {name: [] for name in paths}
            for round_number in range(rounds):
                log(f"mysql read: {rows:,} rows, round {round_number + 1}/{rounds}")
                results = {name: _run_child(name, server.port, table) for name in paths}
                for name, result in results.items():
                    assert result["rows"] == rows, f"{name} read {result['rows']} rows of {rows}"
                    measured[name].append(result)
                    ratios[name].append(results[YARDSTICK]["seconds"] / result["seconds"])
            table_rows = [[f"`{name}`", f"{median([r['seconds'] for r in measured[name]]):.3f}",
                           f"{median(ratios[name]):.1f}x",
                           f"{median([r['first_batch_rss_mib'] for r in measured[name]]):.0f}",
                           f"{median([r['peak_rss_mib'] for r in measured[name]]):.0f}"] for name in paths]
            lines += [f"{rows:,} rows:", "", markdown_table(
                ["path", "seconds", "speed vs sqlalchemy", "RSS at first batch MiB", "peak RSS MiB"], table_rows), ""]
    packages = ("pymysql", "mysqlclient", "connectorx", "arrow-odbc", "pyarrow", "sqlalchemy")
    lines += [f"Server: MariaDB {version}. Versions: {', '.join(f'{p} {package_version(p)}' for p in packages)}.",
              "", *machine_lines(), ""]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]), sys.argv[4])
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
