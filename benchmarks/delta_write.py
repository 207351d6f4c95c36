"""Delta writes: the `delta` store against delta-rs (`deltalake`) in a plain script, as ratios.

Three parts, each path a fresh process measured from outside (wall time, CPU, peak RSS of the
process tree, `_measure.py`), the yardstick run first in every round so each ratio is a pair:

1. Parquet -> Delta, N rows (1M and 5M, `--rows`) into a new table. Yardstick: a script doing
   `write_deltalake(path, pq.read_table(file))`. Against it: the store step (a script feeding the
   `DeltaStore` writer the batches a `parquet` home reads, staged and committed) and the whole command a
   user runs (`dagster asset materialize -m ingest_assets.definitions --select ...` on a generated
   project: `type: parquet` home, `type: delta` store, `full_drop`), whose step time is read back from
   the run's event log. The peak RSS of both must be flat from 1M to 5M.
2. PostgreSQL -> Delta (1M and 5M, `--pg-rows`; the tables and server of postgres_to_parquet.py).
   Yardstick: `adbc_driver_postgresql` `fetch_record_batch()` -> `write_deltalake`; against it the
   whole command (`postgres` home, `delta` store).
3. Upsert: N/10 changed rows (N/20 updates, N/20 new ids; N = 5M, `--upsert-rows`) into a copy of an
   N-row Delta table. Yardstick: `DeltaTable.merge(...).when_matched_update_all()
   .when_not_matched_insert_all().execute()`; against it the store (`upsert` write strategy, the
   store-step script) and the whole command (`write_strategy: upsert`, `write_key: [id]`).

Every result is checked (rows, sum(id), the changed rows; for PostgreSQL the table's checksum).

    .venv/bin/python benchmarks/delta_write.py [--rows 1000000 5000000] [--pg-rows 1000000 5000000]
        [--upsert-rows 5000000] [--rounds 3] [--warmup 1] [--parts parquet postgres upsert]

It prints its markdown section and puts it in benchmarks/RESULTS.md in place of the previous one (in
.work/RESULTS.quick.md for other sizes or parts).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import uuid
from dataclasses import dataclass, field
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
    machine_summary,
    markdown_table,
    median,
    package_version,
    replace_section,
    run_command,
    server_version,
)
from parquet_to_parquet import FLAT_GROWTH

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
    """One measured script: `deltars-*` (the yardsticks) or `ingest-*` (the store step, no Dagster)."""
    import time

    if kind == "deltars-postgres":
        import adbc_driver_postgresql.dbapi
        from deltalake import write_deltalake

        started = time.perf_counter()
        uri, source = data.rsplit(" ", 1)
        with adbc_driver_postgresql.dbapi.connect(uri) as connection, connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {source}")
            write_deltalake(table, cursor.fetch_record_batch())
    elif kind.startswith("deltars"):
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
        import pyarrow.parquet as pq

        from ingest_assets.connectors.delta import DeltaResource
        from ingest_assets.plan.model import WriteSpec
        from ingest_assets.stores.base import QualityRequest, WriteMode
        from ingest_assets.stores.delta import DeltaStore
        from ingest_assets.stores.schema_changes import decide

        started = time.perf_counter()
        root, name = Path(table).parent, Path(table).name
        store = DeltaStore(DeltaResource(local_path=str(root)))
        spec = WriteSpec(path=name)
        # One row group at a time (a dataset scan's read-ahead would hold most of a big file).
        source = pq.ParquetFile(data)
        reference = store.current_schema(spec)
        keys = () if kind == "ingest-full" else ("id",)
        layout = decide(reference, source.schema_arrow, "evolve", replaces_table=kind == "ingest-full", keys=keys).layout
        mode = WriteMode("replace") if kind == "ingest-full" else WriteMode("upsert", keys=("id",))
        with store.writer(spec, mode, layout, uuid.uuid4().hex[:12], QualityRequest()) as writer:
            for batch in source.iter_batches(batch_size=65_536):
                writer.write(batch)
            writer.finish_staging()
            writer.resolve_duplicate_keys()
            writer.commit()
    Path(result).write_text(json.dumps({"seconds": time.perf_counter() - started}))


def _delta_sql(table: Path, sql: str) -> tuple:
    import duckdb
    from deltalake import DeltaTable

    with duckdb.connect() as connection:
        connection.register("t", DeltaTable(str(table)).to_pyarrow_dataset())
        return tuple(connection.sql(sql).fetchall()[0])


def verify(table: Path, rows: int, upserted: bool) -> None:
    """The generated data: N rows of ids 1..N, or N + N/20 after the upsert with N/10 changed rows."""
    count, changed, id_sum = _delta_sql(table, "SELECT count(*), count_if(status = 'changed'), sum(id) FROM t")
    half = rows // 20
    expected = rows + half if upserted else rows
    assert count == expected, (table, count, expected)
    assert changed == (2 * half if upserted else 0), (table, changed)
    assert id_sum == expected * (expected + 1) // 2, (table, id_sum)


def verify_postgres(table: Path, expected) -> None:
    """Rows, sum(id) and count(note) equal the PostgreSQL table's (amount: ADBC's yardstick writes text)."""
    found = _delta_sql(table, "SELECT count(*), sum(id), count(note) FROM t")
    wanted = (expected.rows, expected.sum_id, expected.notes)
    assert found == wanted, (table, found, wanted)


# ---- the whole command: generated projects -------------------------------------------------------


FLOW = "bench"
DAGSTER_HOME = DATA / "dagster_home"


def fresh_dagster_home() -> None:
    """An empty instance with the repository's settings (telemetry off)."""
    shutil.rmtree(DAGSTER_HOME, ignore_errors=True)
    DAGSTER_HOME.mkdir(parents=True)
    settings = (REPO_ROOT / "dagster.yaml").read_text()
    assert "telemetry:\n  enabled: false" in settings, "the repository's dagster.yaml must turn telemetry off"
    (DAGSTER_HOME / "dagster.yaml").write_text(settings)


def write_parquet_project(project: Path, home_folder: Path, lake: Path, entity: str, upsert: bool) -> Path:
    """flows/ with a `parquet` home on `home_folder` and a `delta` store on `lake`; one entity."""
    flows = project / "flows"
    shutil.rmtree(project, ignore_errors=True)
    (flows / FLOW / "entities").mkdir(parents=True)
    (flows / "ingest.yml").write_text(f"name: bench_delta\nconnections:\n  src:\n    type: parquet\n"
                                      f"    path: '{home_folder}'\n  lake:\n    type: delta\n    path: '{lake}'\n")
    (flows / FLOW / "flow.yml").write_text("home: src\nstore: lake\nrun_type: full_drop\n")
    settings = "write_strategy: upsert\nwrite_key: [id]\n" if upsert else ""
    source = "changes.parquet" if upsert else "source.parquet"
    (flows / FLOW / "entities" / f"{entity}.yml").write_text(f"home: {{path: '{source}'}}\n{settings}")
    return flows


def write_postgres_project(server, project: Path, lake: Path, table: str) -> Path:
    """postgres_to_parquet.py's project (its `postgres` home), with the store made `type: delta`."""
    from postgres_to_parquet import write_project

    shutil.rmtree(project, ignore_errors=True)
    flows = write_project(server, project, lake, table, parallel=False)
    settings = flows / "ingest.yml"
    text = settings.read_text()
    assert text.count("type: parquet") == 1, text
    settings.write_text(text.replace("type: parquet", "type: delta").replace("bench_postgres", "bench_delta_pg"))
    return flows


@dataclass(frozen=True)
class Run:
    result: ChildResult
    work_seconds: float  # scripts: after the imports; the command: Dagster's STEP_SUCCESS duration
    ingest_seconds: float | None = None  # the command: the materialization's `ingest/duration_seconds`


def run_materialize(flows: Path, entity: str, label: str) -> Run:
    """`dagster asset materialize` of `bench/<entity>`, as a user runs it; the step read back."""
    argv = [str(Path(PYTHON).parent / "dagster"), "asset", "materialize", "-m", "ingest_assets.definitions",
            "--select", f"{FLOW}/{entity}"]
    result = run_command(argv, label, env={"INGEST_FLOWS_DIR": str(flows), "DAGSTER_HOME": str(DAGSTER_HOME)},
                         cwd=DAGSTER_HOME)
    steps: StepTimes = last_step_times(DAGSTER_HOME)
    assert steps.step_seconds is not None, f"{label}: no STEP_SUCCESS in the run's event log"
    return Run(result, steps.step_seconds, steps.ingest_seconds)


def run_script(kind: str, table: Path, data: str, label: str) -> Run:
    result_file = DATA / "runs" / f"{label}.json"
    result_file.parent.mkdir(parents=True, exist_ok=True)
    measured = run_command([PYTHON, __file__, "--child", kind, str(table), data, str(result_file)], label)
    return Run(measured, json.loads(result_file.read_text())["seconds"])


def _fresh(table: Path, template: Path | None = None) -> None:
    shutil.rmtree(table, ignore_errors=True)
    table.parent.mkdir(parents=True, exist_ok=True)
    if template is not None:
        shutil.copytree(template, table)


# ---- the benchmark ---------------------------------------------------------------------------


TITLE = "## Delta writes: the `delta` store against delta-rs"
DEFAULT_ROWS = (1_000_000, 5_000_000)
DEFAULT_PG_ROWS = (1_000_000, 5_000_000)
DEFAULT_UPSERT_ROWS = 5_000_000
DEFAULT_ROUNDS = 3
DEFAULT_WARMUP = 1
PARTS = ("parquet", "postgres", "upsert")
AIM = 1.5  # the aim: within x1.5 of each yardstick
RESULTS = BENCH_DIR / "RESULTS.md"
QUICK_RESULTS = WORK_DIR / "RESULTS.quick.md"


@dataclass
class Case:
    """One part at one size: the yardstick's runs and, per contender, its runs (paired by index)."""

    part: str
    rows: int
    what: str
    runs: dict[str, list[Run]] = field(default_factory=dict)

    def add(self, name: str, run: Run) -> None:
        self.runs.setdefault(name, []).append(run)


YARDSTICK = "delta-rs"


def _round(index: int, warmup: int, rounds: int) -> str:
    return "warm-up" if index < warmup else f"round {index + 1 - warmup}/{rounds}"


def measure_parquet(rows: int, rounds: int, warmup: int) -> Case:
    paths = prepare(rows)
    case = Case("parquet", rows, f"{rows:,} rows, Parquet -> new Delta table")
    entity = f"orders_{rows}"
    lake = DATA / "lake"
    flows = write_parquet_project(DATA / "projects" / entity, paths["source"].parent, lake, entity, upsert=False)
    script_table, target = DATA / "runs" / "t", lake / FLOW / entity
    for index in range(warmup + rounds):  # the first `warmup` rounds are dropped
        log(f"delta: parquet {rows:,}, {_round(index, warmup, rounds)}")
        _fresh(script_table)
        case.add(YARDSTICK, run_script("deltars-full", script_table, str(paths["source"]), f"delta_rs_full_{rows}_{index}"))
        verify(script_table, rows, upserted=False)
        _fresh(script_table)
        case.add("store", run_script("ingest-full", script_table, str(paths["source"]), f"delta_store_full_{rows}_{index}"))
        verify(script_table, rows, upserted=False)
        _fresh(target)
        case.add("command", run_materialize(flows, entity, f"delta_command_full_{rows}_{index}"))
        verify(target, rows, upserted=False)
    shutil.rmtree(script_table, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)
    case.runs = {name: runs[warmup:] for name, runs in case.runs.items()}
    return case


def measure_upsert(rows: int, rounds: int, warmup: int) -> Case:
    paths = prepare(rows)
    case = Case("upsert", rows, f"{rows // 10:,} changed rows upserted into {rows:,}")
    entity = f"orders_upsert_{rows}"
    lake = DATA / "lake"
    flows = write_parquet_project(DATA / "projects" / entity, paths["source"].parent, lake, entity, upsert=True)
    script_table, target = DATA / "runs" / "t", lake / FLOW / entity
    changes = str(paths["changes"])
    for index in range(warmup + rounds):  # the first `warmup` rounds are dropped
        log(f"delta: upsert into {rows:,}, {_round(index, warmup, rounds)}")
        _fresh(script_table, paths["template"])
        case.add(YARDSTICK, run_script("deltars-upsert", script_table, changes, f"delta_rs_upsert_{rows}_{index}"))
        verify(script_table, rows, upserted=True)
        _fresh(script_table, paths["template"])
        case.add("store", run_script("ingest-upsert", script_table, changes, f"delta_store_upsert_{rows}_{index}"))
        verify(script_table, rows, upserted=True)
        _fresh(target, paths["template"])
        case.add("command", run_materialize(flows, entity, f"delta_command_upsert_{rows}_{index}"))
        verify(target, rows, upserted=True)
    shutil.rmtree(script_table, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)
    case.runs = {name: runs[warmup:] for name, runs in case.runs.items()}
    return case


def measure_postgres(server, rows: int, rounds: int, warmup: int) -> Case:
    import postgres_to_parquet as pg

    table = pg.table_name(rows, pg.DEFAULT_ROWS)  # its cached tables: bench_orders_1m, bench_orders (5M)
    expected = pg.ensure_table(server, table, rows)
    case = Case("postgres", rows, f"{rows:,} rows, PostgreSQL `{table}` -> new Delta table")
    lake = DATA / "lake_pg"
    flows = write_postgres_project(server, DATA / "projects" / f"pg_{table}", lake, table)
    script_table, target = DATA / "runs" / "t", lake / FLOW / table
    for index in range(warmup + rounds):  # the first `warmup` rounds are dropped
        log(f"delta: postgres {rows:,}, {_round(index, warmup, rounds)}")
        _fresh(script_table)
        case.add(YARDSTICK, run_script("deltars-postgres", script_table, f"{server.uri()} public.{table}",
                                       f"delta_rs_pg_{rows}_{index}"))
        verify_postgres(script_table, expected)
        _fresh(target)
        case.add("command", run_materialize(flows, table, f"delta_command_pg_{rows}_{index}"))
        verify_postgres(target, expected)
    shutil.rmtree(script_table, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)
    case.runs = {name: runs[warmup:] for name, runs in case.runs.items()}
    return case


# ---- report ------------------------------------------------------------------------------------


TOOLS = {
    YARDSTICK: "delta-rs script (yardstick)",
    "store": "ingest `delta` store step (script, no Dagster)",
    "command": "ingest `dagster asset materialize` (whole command)",
}
YARDSTICKS = {
    "parquet": "`write_deltalake(path, pq.read_table(file))`",
    "postgres": "ADBC `fetch_record_batch()` -> `write_deltalake`",
    "upsert": "`DeltaTable.merge(...).when_matched_update_all().when_not_matched_insert_all().execute()`",
}


def _ratios(case: Case, name: str, attribute: str) -> list[float]:
    theirs = case.runs[YARDSTICK]
    if attribute == "wall":
        return [r.result.wall_seconds / y.result.wall_seconds for r, y in zip(case.runs[name], theirs, strict=True)]
    return [r.work_seconds / y.work_seconds for r, y in zip(case.runs[name], theirs, strict=True)]


def _ratio_cell(values: list[float]) -> str:
    text = f"x{median(values):.2f}"
    if len(values) > 1:
        text += f" ({min(values):.2f}–{max(values):.2f})"
    return f"**{text}**" if median(values) <= AIM else text


def _table(cases: list[Case]) -> str:
    rows = []
    for case in cases:
        for name, runs in case.runs.items():
            wall = median([r.result.wall_seconds for r in runs])
            work = median([r.work_seconds for r in runs])
            ingest = [r.ingest_seconds for r in runs if r.ingest_seconds is not None]
            yardstick = name == YARDSTICK
            rows.append([
                case.what, TOOLS[name], f"{wall:.2f}",
                "x1" if yardstick else _ratio_cell(_ratios(case, name, "wall")),
                f"{work:.2f}" + (f" ({median(ingest):.2f})" if ingest else ""),
                "x1" if yardstick else _ratio_cell(_ratios(case, name, "work")),
                "–" if name == "command" else f"{median([r.result.cpu_seconds for r in runs]):.1f}",
                f"{max(r.result.peak_tree_rss_mib for r in runs):.0f}",
                f"{max(r.result.peak_rss_mib for r in runs):.0f}",
            ])
    return markdown_table(
        ["load", "tool", "process wall s", "x yardstick (process)",
         "work s: script after imports / command's step (`ingest/duration_seconds`)", "x yardstick (work)",
         "CPU s (–: the step's process is not a waited child)", "peak RSS MiB, process tree", "largest process MiB"], rows)


def _verdicts(cases: list[Case]) -> list[str]:
    lines = []
    for case in cases:
        for name in case.runs:
            if name == YARDSTICK:
                continue
            for attribute, what in (("wall", "whole process"), ("work", "work alone")):
                if name == "store" and attribute == "wall":
                    continue  # a script of ours, not what a user runs: its process time is in the table
                ratio = median(_ratios(case, name, attribute))
                verdict = "PASS" if ratio <= AIM else "FAIL"
                lines.append(f"- **{verdict}** {case.part} {case.rows:,}: {TOOLS[name]}, {what} x{ratio:.2f} "
                             f"(aim x{AIM})")
    return lines


def _memory_lines(cases: list[Case]) -> list[str]:
    lines = []
    for part in ("parquet", "postgres"):
        sized = sorted((c for c in cases if c.part == part), key=lambda c: c.rows)
        if len(sized) < 2:
            continue
        small, large = sized[0], sized[-1]
        for name in small.runs:
            low = max(r.result.peak_tree_rss_mib for r in small.runs[name])
            high = max(r.result.peak_tree_rss_mib for r in large.runs[name])
            growth = high / low
            verdict = "" if name == YARDSTICK else ("**PASS** flat: " if growth <= FLAT_GROWTH else "**FAIL** grows: ")
            lines.append(f"- {verdict}{part}, {TOOLS[name]}: peak RSS {low:.0f} -> {high:.0f} MiB from "
                         f"{small.rows:,} to {large.rows:,} rows (x{growth:.2f} for x{large.rows / small.rows:g}"
                         f" rows; flat: at most x{FLAT_GROWTH})")
    return lines


def _overhead_lines(cases: list[Case]) -> list[str]:
    """How much of the whole command is Dagster around the step (CLI, code-location loads, run bookkeeping)."""
    lines = []
    for case in cases:
        runs = case.runs.get("command", [])
        if runs:
            wall, step = median([r.result.wall_seconds for r in runs]), median([r.work_seconds for r in runs])
            lines.append(f"- {case.part} {case.rows:,}: of the command's {wall:.2f} s, the step is {step:.2f} s and "
                         f"{wall - step:.2f} s are Dagster around it (CLI start-up, the code-location load, the "
                         f"run's bookkeeping); the yardstick's whole process {median([r.result.wall_seconds for r in case.runs[YARDSTICK]]):.2f} s")
    return lines


def run(rows: list[int] | tuple[int, ...] = DEFAULT_ROWS, rounds: int = DEFAULT_ROUNDS,
        pg_rows: list[int] | tuple[int, ...] = DEFAULT_PG_ROWS, upsert_rows: int = DEFAULT_UPSERT_ROWS,
        parts: list[str] | tuple[str, ...] = PARTS, warmup: int = DEFAULT_WARMUP) -> str:
    """Every part and size; the markdown section."""
    import postgres_to_parquet as pg

    fresh_dagster_home()
    cases: list[Case] = []
    extra = ""
    if "parquet" in parts:
        cases += [measure_parquet(n, rounds, warmup) for n in rows]
    if "postgres" in parts and pg_rows:
        with cached_server(pg.ROOT) as server:
            cases += [measure_postgres(server, n, rounds, warmup) for n in pg_rows]
            extra = (f"; PostgreSQL {server_version(server)} (`pgserver` {package_version('pgserver')}, default "
                     "settings, unix socket, the same 2 cores; its memory is not counted), adbc-driver-postgresql "
                     f"{package_version('adbc-driver-postgresql')}")
    if "upsert" in parts:
        cases.append(measure_upsert(upsert_rows, rounds, warmup))
    command = (f".venv/bin/python benchmarks/delta_write.py --rows {' '.join(map(str, rows))} --pg-rows "
               f"{' '.join(map(str, pg_rows))} --upsert-rows {upsert_rows} --rounds {rounds} --warmup {warmup} --parts {' '.join(parts)}")
    yardsticks = "; ".join(f"{part}: {YARDSTICKS[part]}" for part in PARTS if part in parts)
    return "\n".join([
        TITLE, "",
        f"Each path a fresh process tree timed from outside; {warmup} warm-up round(s), then {rounds} round(s), the yardstick first in each, "
        "ratios paired within a round (median, min–max). Yardsticks, plain scripts: " + yardsticks + ". "
        "The store step: a script feeding ingest_assets' `DeltaStore` writer the 65,536-row batches of a Parquet "
        "scan, staged, key-checked and committed (no Dagster). The whole command: `dagster asset materialize -m "
        "ingest_assets.definitions --select bench/<entity>` on a generated project (`parquet` or `postgres` "
        "home, `type: delta` store, `full_drop`; the upsert `write_strategy: upsert, write_key: [id]`), its "
        "work the step's `STEP_SUCCESS` duration. Work of a script: from after its imports to the committed "
        "table. Peak RSS: the largest sum over the process tree (sampled every 50 ms). Every table is checked "
        "(rows, sum(id); changed rows; count(note) against PostgreSQL). Bold ratios are within the aim "
        f"(x{AIM}).", "",
        machine_summary(),
        f"- deltalake {package_version('deltalake')}{extra}",
        f"- reproduce: `{command}`", "",
        _table(cases), "",
        *_verdicts(cases), "",
        *_memory_lines(cases), "",
        *_overhead_lines(cases), "",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=list(DEFAULT_ROWS), help="Parquet -> Delta sizes")
    parser.add_argument("--pg-rows", type=int, nargs="*", default=list(DEFAULT_PG_ROWS),
                        help="PostgreSQL -> Delta sizes (1M and 5M are postgres_to_parquet.py's cached tables)")
    parser.add_argument("--upsert-rows", type=int, default=DEFAULT_UPSERT_ROWS,
                        help="rows of the table upserted into (the changes: a tenth of it)")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS)
    parser.add_argument("--warmup", type=int, default=DEFAULT_WARMUP, help="unmeasured rounds first")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    section = run(args.rows, args.rounds, args.pg_rows, args.upsert_rows, args.parts, args.warmup)
    print(section)
    default = (args.rows == list(DEFAULT_ROWS) and args.pg_rows == list(DEFAULT_PG_ROWS)
               and args.upsert_rows == DEFAULT_UPSERT_ROWS and args.parts == list(PARTS))
    output = RESULTS if default else QUICK_RESULTS
    replace_section(output, section)
    log(f"section '{TITLE[3:]}' written to {output.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
