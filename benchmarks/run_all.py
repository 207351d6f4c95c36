"""Run every benchmark and write the combined markdown summary to benchmarks/RESULTS.md (`make bench`).

    .venv/bin/python benchmarks/run_all.py            # full sizes, ~30 minutes on 2 cores
    .venv/bin/python benchmarks/run_all.py --quick    # small sizes, a smoke test; writes .work/RESULTS.quick.md
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable

import bulk_load_postgres
import definitions_load
import delta_write
import many_tables
import mysql_read
import open_mirroring
import parquet_to_parquet
import postgres_to_parquet
import sqlite_read
import upsert
from _common import BENCH_DIR, WORK_DIR, log, machine_summary

RESULTS = BENCH_DIR / "RESULTS.md"
QUICK_RESULTS = WORK_DIR / "RESULTS.quick.md"


def _section(title: str, benchmark: Callable[[], str]) -> tuple[str, bool]:
    """A benchmark's markdown, or its failure as a section, so one failure does not hide the others."""
    try:
        return benchmark(), True
    except Exception:  # reported in the results and by the exit status
        log(f"{title} failed")
        return f"## {title}\n\nFAILED:\n\n```\n{traceback.format_exc()}```\n", False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes and one run each (a smoke test)")
    args = parser.parse_args()

    if args.quick:
        sizes, load_runs, output = [50, 200], 1, QUICK_RESULTS
        row_counts, file_rows, copy_runs, warmup = [100_000, 300_000], 100_000, 1, 0
        table_rows, rounds = 200_000, 1
        store_rows, store_rounds = 200_000, 1
        mirror_rows = list(open_mirroring.QUICK_ROWS)
        many = (many_tables.QUICK_TABLES, many_tables.QUICK_ROWS)
        sqlite_rows, sqlite_rounds = [20_000, 200_000], 1
        delta = dict(rows=[100_000, 500_000], rounds=1, pg_rows=[200_000], upsert_rows=500_000)
    else:
        sizes, load_runs, output = list(definitions_load.DEFAULT_SIZES), 3, RESULTS
        row_counts, file_rows = list(parquet_to_parquet.DEFAULT_ROWS), parquet_to_parquet.DEFAULT_FILE_ROWS
        copy_runs, warmup = 2, 1
        table_rows, rounds = postgres_to_parquet.DEFAULT_ROWS, postgres_to_parquet.DEFAULT_ROUNDS
        store_rows, store_rounds = upsert.DEFAULT_ROWS, upsert.DEFAULT_ROUNDS
        mirror_rows = list(open_mirroring.DEFAULT_ROWS)
        many = (many_tables.DEFAULT_TABLES, many_tables.DEFAULT_ROWS)
        sqlite_rows, sqlite_rounds = list(sqlite_read.DEFAULT_ROWS), sqlite_read.DEFAULT_ROUNDS
        delta = dict(rows=list(delta_write.DEFAULT_ROWS), rounds=delta_write.DEFAULT_ROUNDS,
                     pg_rows=list(delta_write.DEFAULT_PG_ROWS), upsert_rows=delta_write.DEFAULT_UPSERT_ROWS)

    started = time.perf_counter()
    load, load_ok = _section("Definitions load", lambda: definitions_load.run(sizes, load_runs))
    copy, copy_ok = _section("Parquet -> Parquet",
                             lambda: parquet_to_parquet.run(row_counts, copy_runs, warmup, file_rows))
    # The same sizes as one file each: read-ahead inside a file must not grow with the file either.
    one_file, one_file_ok = _section(
        "Parquet -> Parquet (one file per source)",
        lambda: parquet_to_parquet.run(row_counts, copy_runs, warmup, file_rows=max(row_counts)),
    )
    database, database_ok = _section("PostgreSQL -> Parquet", lambda: postgres_to_parquet.run(table_rows, rounds))
    upserts, upserts_ok = _section(upsert.TITLE[3:], lambda: upsert.run(store_rows, store_rounds))
    upsert_keys, upsert_keys_ok = _section(upsert.title(keys=True)[3:],
                                           lambda: upsert.run(store_rows, store_rounds, keys=True))
    bulk, bulk_ok = _section(bulk_load_postgres.TITLE[3:], lambda: bulk_load_postgres.run(store_rows, store_rounds))
    mirror, mirror_ok = _section(open_mirroring.TITLE[3:],
                                 lambda: open_mirroring.run(mirror_rows, copy_runs, warmup))
    sqlite, sqlite_ok = _section(sqlite_read.TITLE[3:], lambda: sqlite_read.run(sqlite_rows, sqlite_rounds))
    mysql, mysql_ok = _section(mysql_read.TITLE[3:], lambda: mysql_read.run(sqlite_rows, sqlite_rounds))
    tables, tables_ok = _section(many_tables.TITLE[3:], lambda: many_tables.run(*many))
    delta_section, delta_ok = _section(delta_write.TITLE[3:], lambda: delta_write.run(**delta))
    minutes = (time.perf_counter() - started) / 60

    summary = "\n".join([
        "# Benchmark results",
        "",
        f"Written by `benchmarks/run_all.py{' --quick' if args.quick else ''}` (`make bench`) in "
        f"{minutes:.1f} minutes; see benchmarks/README.md for what each figure measures.",
        "",
        machine_summary(),
        "",
        load,
        copy,
        one_file,
        database,
        upserts,
        upsert_keys,
        bulk,
        mirror,
        sqlite,
        mysql,
        tables,
        delta_section,
    ])
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(summary)
    print(summary)
    log(f"written to {output.relative_to(BENCH_DIR.parent)}")
    succeeded = (load_ok, copy_ok, one_file_ok, database_ok, upserts_ok, upsert_keys_ok, bulk_ok, mirror_ok, sqlite_ok,
                 mysql_ok, tables_ok, delta_ok)
    return 0 if all(succeeded) else 1


if __name__ == "__main__":
    sys.exit(main())
