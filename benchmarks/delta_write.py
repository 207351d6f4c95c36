"""Writing Delta tables: ingest_assets' `delta` store against delta-rs (`deltalake`) in a plain script.

Two workloads on one N-row table (N = 1M; `id bigint` key, a 6-value text, a 25%-null text,
decimal(12,2), two timestamptz, bool), generated once as Parquet and cached in benchmarks/.work/:

- full load: the N-row Parquet file into a new Delta table. ingest: the file read in record batches
  (as the `parquet` home reads it) into the Delta store's writer, staged, counted and committed
  (`writer -> write -> finish_staging -> commit`, what the runtime drives, without Dagster around it);
  delta-rs: `write_deltalake(path, pq.read_table(file))`.
- upsert: N/10 changed rows (N/20 updates of existing keys, N/20 new keys) into the N-row table.
  ingest: the store's `upsert` (staged, keys checked for nulls and repeats, then one MERGE); delta-rs:
  `DeltaTable.merge(pq.read_table(changes), "t.id = s.id").when_matched_update_all()
  .when_not_matched_insert_all().execute()`. Every round starts from a copy of the same N-row table
  (not timed).

Each run is a fresh process measured from outside (wall time, CPU, peak RSS; `_measure.py`), delta-rs
first in each pair so the ratio cancels the drift of a noisy machine. After every run the table is
checked: row count, sum(id), sum(amount), and the rows marked 'changed'.

    .venv/bin/python benchmarks/delta_write.py [--rows 1000000] [--rounds 2]

Prints its markdown section on stdout (progress on stderr); run_all.py runs it at the default size\n(about a minute on 2 cores) and its quick size (100,000 rows, one round).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import uuid
from dataclasses import replace
from pathlib import Path

from _common import (
    PYTHON,
    WORK_DIR,
    ChildResult,
    log,
    machine_summary,
    markdown_table,
    median,
    package_version,
    run_command,
)

DATA = WORK_DIR / "delta_write"
STATUSES = ["new", "paid", "shipped", "delivered", "returned", "cancelled"]


# ---- data ------------------------------------------------------------------------------------


_COLUMNS = """{id} AS id, {status} AS status,
    CASE WHEN {id} % 4 = 0 THEN NULL ELSE 'note ' || {id} END AS note,
    CAST(hash({id} + {seed}) % 10000000 AS DECIMAL(12, 2)) / 100 AS amount,
    TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_microseconds(CAST(hash({id} * 7 + {seed}) % 31536000000000 AS BIGINT)) AS created_at,
    TIMESTAMPTZ '2026-01-01 01:00:00+00' + to_microseconds(CAST(hash({id} * 7 + {seed}) % 31536000000000 AS BIGINT)) AS updated_at,
    hash({id} + {seed}) % 2 = 0 AS active"""


def prepare(rows: int) -> dict[str, Path]:
    """The N-row source, the changes, and the N-row Delta table every upsert round starts from."""
    import duckdb
    import pyarrow.parquet as pq

    folder = DATA / f"{rows}"
    paths = {"source": folder / "source.parquet", "changes": folder / "changes.parquet", "template": folder / "template"}
    if all(p.exists() for p in paths.values()):
        return paths
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    log(f"generating {rows:,} rows")
    statuses = "[" + ", ".join(f"'{s}'" for s in STATUSES) + "]"
    source = _COLUMNS.format(id="i", status=f"{statuses}[CAST(i % 6 AS INT) + 1]", seed=1)
    half = rows // 20
    # N/20 updates (every 20th id) and N/20 new ids, in no key order.
    changed = _COLUMNS.format(id="i", status="'changed'", seed=2)
    with duckdb.connect() as connection:
        connection.execute(f"COPY (SELECT {source} FROM range(1, {rows + 1}) AS r(i) ORDER BY i) "
                           f"TO '{paths['source']}' (FORMAT parquet, ROW_GROUP_SIZE 262144)")
        connection.execute(
            f"COPY (SELECT {changed} FROM (SELECT i * 20 AS i FROM range(1, {half + 1}) AS r(i) UNION ALL "
            f"SELECT i FROM range({rows + 1}, {rows + half + 1}) AS r(i)) ORDER BY hash(i)) "
            f"TO '{paths['changes']}' (FORMAT parquet)")
    from deltalake import write_deltalake

    write_deltalake(str(paths["template"]), pq.read_table(paths["source"]))
    return paths


# ---- the measured children -------------------------------------------------------------------


def child(kind: str, table: str, data: str, result: str) -> None:
    import time

    if kind.startswith("deltars"):
        import pyarrow.parquet as pq
        from deltalake import DeltaTable, write_deltalake

        started = time.perf_counter()  # the work alone, after the imports
        arrow = pq.read_table(data)
        if kind == "deltars-full":
            write_deltalake(table, arrow)
        else:
            (DeltaTable(table).merge(arrow, "t.id = s.id", source_alias="s", target_alias="t")
             .when_matched_update_all().when_not_matched_insert_all().execute())
    else:
        import pyarrow.dataset as ds

        from ingest_assets.connectors.files import FolderResource
        from ingest_assets.plan.model import WriteSpec
        from ingest_assets.stores.base import QualityRequest, WriteMode
        from ingest_assets.stores.delta import DeltaStore
        from ingest_assets.stores.schema_changes import decide

        started = time.perf_counter()
        root, name = Path(table).parent, Path(table).name
        store = DeltaStore(FolderResource(path=str(root)))
        spec = WriteSpec(path=name)
        source = ds.dataset(data, format="parquet")
        reference = store.current_schema(spec)
        layout = decide(reference, source.schema, "evolve", replaces_table=kind == "ingest-full").layout
        mode = WriteMode("replace") if kind == "ingest-full" else WriteMode("upsert", keys=("id",))
        with store.writer(spec, mode, layout, uuid.uuid4().hex[:12], QualityRequest()) as writer:
            for batch in source.to_batches(batch_size=65_536):
                writer.write(batch)
            writer.finish_staging()
            writer.resolve_duplicate_keys()
            writer.commit()
    Path(result).write_text(json.dumps({"seconds": time.perf_counter() - started}))


def verify(table: Path, rows: int, upserted: bool) -> None:
    import duckdb
    from deltalake import DeltaTable

    connection = duckdb.connect()
    dataset = DeltaTable(str(table)).to_pyarrow_dataset()
    connection.register("t", dataset)
    count, changed, id_sum = connection.sql(
        "SELECT count(*), count_if(status = 'changed'), sum(id) FROM t").fetchall()[0]
    half = rows // 20
    expected = rows + half if upserted else rows
    assert count == expected, (table, count, expected)
    assert changed == (2 * half if upserted else 0), (table, changed)
    assert id_sum == expected * (expected + 1) // 2, (table, id_sum)


# ---- the benchmark ---------------------------------------------------------------------------


def run_one(kind: str, paths: dict[str, Path], rows: int, label: str) -> ChildResult:
    table = DATA / "runs" / label / "t"
    shutil.rmtree(table.parent, ignore_errors=True)
    table.parent.mkdir(parents=True)
    upsert = kind.endswith("upsert")
    if upsert:
        shutil.copytree(paths["template"], table)
    data = paths["changes"] if upsert else paths["source"]
    result_file = DATA / "runs" / f"{label}.json"
    measured = run_command([PYTHON, __file__, "--child", kind, str(table), str(data), str(result_file)], label)
    verify(table, rows, upsert)
    shutil.rmtree(table.parent, ignore_errors=True)
    return replace(measured, report=json.loads(result_file.read_text()))


TITLE = "## Delta writes: the `delta` store against delta-rs"
DEFAULT_ROWS, DEFAULT_ROUNDS = 1_000_000, 2


def run(rows: int = DEFAULT_ROWS, rounds: int = DEFAULT_ROUNDS) -> str:
    """Every round of both loads; the markdown section."""
    paths = prepare(rows)
    results: dict[str, list[ChildResult]] = {}
    for round_number in range(rounds):
        for workload in ("full", "upsert"):
            for tool in ("deltars", "ingest"):  # the yardstick first in each pair
                kind = f"{tool}-{workload}"
                label = f"delta-{kind}-{rows}-{round_number}"
                log(f"round {round_number + 1}: {kind}")
                results.setdefault(kind, []).append(run_one(kind, paths, rows, label))
    table_rows = []
    for workload, what in (("full", f"{rows:,} rows into a new table"),
                           ("upsert", f"{rows // 10:,} changed rows into {rows:,}")):
        ours, theirs = results[f"ingest-{workload}"], results[f"deltars-{workload}"]
        ours_s, theirs_s = median([r.wall_seconds for r in ours]), median([r.wall_seconds for r in theirs])
        ours_w = median([r.report["seconds"] for r in ours])
        theirs_w = median([r.report["seconds"] for r in theirs])
        table_rows.append([
            what, f"{theirs_s:.2f} s", f"{ours_s:.2f} s", f"{ours_s / theirs_s:.2f}x",
            f"{theirs_w:.2f} / {ours_w:.2f} s", f"{ours_w / theirs_w:.2f}x",
            f"{median([r.cpu_seconds for r in theirs]):.1f} / {median([r.cpu_seconds for r in ours]):.1f} s",
            f"{median([r.peak_rss_mib for r in theirs]):.0f} / {median([r.peak_rss_mib for r in ours]):.0f} MiB",
        ])
    return "\n".join([
        f"{TITLE} ({rounds} rounds, medians)", "",
        f"deltalake {package_version('deltalake')}. Process: the whole process's wall time (interpreter start-up "
        "and imports included; ingest_assets imports dagster for its resources). Work: from after the imports to "
        "the committed table.", "",
        markdown_table(["load", "delta-rs script", "ingest delta store", "ratio (process)",
                        "work alone delta-rs / ingest", "ratio (work)", "CPU delta-rs / ingest",
                        "peak RSS delta-rs / ingest"], table_rows), "",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    section = run(args.rows, args.rounds)
    print(machine_summary() + "\n")
    print(section)


if __name__ == "__main__":
    sys.exit(main())
