"""Moving a Parquet table: ingest_assets (one Dagster asset, full_drop) against a plain Polars copy.

For each size N a source of N rows of mixed types is generated once (in 250k-row chunks, so in
bounded memory) and cached in benchmarks/.work/. Then, in the same run and alternating A B A B so
that drift of the machine hits both alike, each variant runs in a fresh child process:

- ingest: `build_definitions(project)` and `execute_in_process` of the implicit asset job, the same
  code path a Dagster run worker executes (stream batches -> staged Parquet -> commit -> checks);
- polars: `pl.scan_parquet(src).sink_parquet(dst)`, a streaming copy with nothing around it.

Wall time and peak RSS are those of the whole child; both outputs are checked to hold N rows. The
idle footprint of each child (imports and, for ingest, building the definitions) is measured too,
so the memory that the data costs can be told apart from the memory that the libraries cost.

    .venv/bin/python benchmarks/parquet_to_parquet.py [--rows 1000000 5000000] [--runs 2] [--warmup 1]
        [--file-rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from _common import WORK_DIR, ChildResult, log, markdown_table, median, run_workload, spread

DEFAULT_ROWS = (1_000_000, 5_000_000)
CHUNK_ROWS = 250_000
DEFAULT_FILE_ROWS = 1_000_000  # 4 row groups of CHUNK_ROWS per file
SOURCE_VERSION = 2  # bump when the generated data changes, so cached sources are rebuilt
STATUSES = ("placed", "paid", "packed", "shipped", "delivered", "returned")
BASE_MICROS = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)
YEAR_MICROS = 365 * 86_400 * 1_000_000
FLAT_GROWTH = 1.25  # ingest peak RSS may grow at most this much from the smallest to the largest N

ROOT = WORK_DIR / "parquet_to_parquet"
SCHEMA = pa.schema([
    ("id", pa.int64()),
    ("customer_id", pa.int32()),
    ("amount", pa.decimal128(12, 2)),
    ("status", pa.string()),
    ("note", pa.string()),
    ("created_at", pa.timestamp("us")),
    ("updated_at", pa.timestamp("us")),
    ("is_paid", pa.bool_()),
    ("order_date", pa.date32()),
])


# ---- source data --------------------------------------------------------------------------------


def _uniform_ints(count: int, high: int, seed: int) -> pa.Array:
    """`count` pseudo-random int64 in [0, high), reproducible from `seed` (no numpy needed)."""
    scaled = pc.multiply(pc.random(count, initializer=seed), float(high))
    return pc.cast(pc.floor(scaled), pa.int64())


def _decimal_from_cents(cents: pa.Array) -> pa.Array:
    """Exact decimal(12,2) from integer cents: decimal(19,0) holds the same unscaled 128-bit values."""
    unscaled = pc.cast(cents, pa.decimal128(19, 0))  # int64 needs 19 digits; the values need fewer
    return pa.Array.from_buffers(pa.decimal128(12, 2), len(unscaled), unscaled.buffers(), unscaled.null_count)


def generate_chunk(start: int, count: int) -> pa.RecordBatch:
    """Rows start .. start+count-1; every column derives from its own seed, so chunks are independent."""
    seed = start // CHUNK_ROWS * 16
    ids = pa.array(range(start, start + count), pa.int64())
    created = pc.add(_uniform_ints(count, YEAR_MICROS, seed + 1), BASE_MICROS)
    updated = pc.add(created, _uniform_ints(count, 30 * 86_400 * 1_000_000, seed + 2))
    note_is_null = pc.less(pc.random(count, initializer=seed + 3), 0.25)
    notes = pc.binary_join_element_wise("note ", pc.cast(ids, pa.string()), "")
    return pa.RecordBatch.from_arrays(
        [
            ids,
            pc.cast(_uniform_ints(count, 2_000_000, seed + 4), pa.int32()),
            _decimal_from_cents(_uniform_ints(count, 100_000_000, seed + 5)),  # up to 999,999.99
            pa.array(STATUSES).take(_uniform_ints(count, len(STATUSES), seed + 6)),
            pc.if_else(note_is_null, pa.scalar(None, pa.string()), notes),
            pc.cast(created, pa.timestamp("us")),
            pc.cast(updated, pa.timestamp("us")),
            pc.less(pc.random(count, initializer=seed + 7), 0.6),
            pc.cast(pc.divide(created, 86_400 * 1_000_000), pa.int32()).cast(pa.date32()),  # integer division
        ],
        schema=SCHEMA,
    )


def source_dir(rows: int, file_rows: int) -> Path:
    """The cached source of `rows` rows in files of `file_rows` rows (generated on first use)."""
    folder = ROOT / f"source_{rows}_per_file_{file_rows}"
    marker = folder / "_complete.json"
    expected = {"rows": rows, "file_rows": file_rows, "version": SOURCE_VERSION}
    if marker.exists() and json.loads(marker.read_text()) == expected:
        return folder
    log(f"generating a {rows:,}-row Parquet source in {folder}")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for file_start in range(0, rows, file_rows):
        path = folder / f"part-{file_start // file_rows:04d}.parquet"
        file_end = min(file_start + file_rows, rows)
        with pq.ParquetWriter(path, SCHEMA, compression="zstd") as writer:
            for start in range(file_start, file_end, CHUNK_ROWS):
                writer.write_batch(generate_chunk(start, min(CHUNK_ROWS, file_end - start)))
    marker.write_text(json.dumps(expected))  # written last: an interrupted generation is redone
    return folder


# ---- the two variants ---------------------------------------------------------------------------

PROJECT_FILE = """\
name: bench_parquet
connections:
  src:
    type: parquet
    path: '{source}'
  lake:
    type: parquet
    path: '{lake}'
"""
FLOW_FILE = "home: src\nstore: lake\nrun_type: full_drop\n"
ENTITY_FILE = "home:\n  path: '*.parquet'\n"


@dataclass(frozen=True)
class Variant:
    name: str
    workload: str
    args: list[str]
    output: Path  # removed before every run, so each run writes into an empty destination

    def written_rows(self) -> int:
        """Rows in the output, read back from the Parquet footers."""
        files = sorted(self.output.glob("*.parquet")) if self.output.is_dir() else [self.output]
        return sum(pq.ParquetFile(path).metadata.num_rows for path in files)


def ingest_variant(source: Path) -> Variant:
    project = ROOT / f"ingest_project_{source.name}"
    lake = ROOT / "out" / f"ingest_{source.name}"
    flows = project / "flows"
    (flows / "bench" / "entities").mkdir(parents=True, exist_ok=True)
    (flows / "ingest.yml").write_text(PROJECT_FILE.format(source=source, lake=lake))
    (flows / "bench" / "flow.yml").write_text(FLOW_FILE)
    (flows / "bench" / "entities" / "events.yml").write_text(ENTITY_FILE)
    # The store publishes the table as <lake>/<flow>/<entity>, a symlink to the committed version.
    return Variant("ingest_assets", "ingest", [str(flows)], lake / "bench" / "events")


def polars_variant(source: Path) -> Variant:
    output = ROOT / "out" / f"polars_{source.name}.parquet"
    return Variant("polars", "polars", [str(source / "*.parquet"), str(output)], output)


def _clear(variant: Variant) -> None:
    if variant.workload == "ingest":
        shutil.rmtree(variant.output.parent.parent, ignore_errors=True)  # the whole lake
    else:
        variant.output.unlink(missing_ok=True)


def run_variant(variant: Variant, rows: int, label: str) -> ChildResult:
    _clear(variant)
    result = run_workload(variant.workload, variant.args, label)
    written = variant.written_rows()
    if written != rows:
        raise AssertionError(f"{variant.name}: {written:,} rows in the output, expected {rows:,}")
    reported = result.report.get("rows_written")
    if reported is not None and reported != rows:
        raise AssertionError(f"{variant.name}: the run reported {reported:,} rows written, expected {rows:,}")
    return result


# ---- measurement --------------------------------------------------------------------------------


@dataclass
class Measured:
    rows: int
    runs: dict[str, list[ChildResult]] = field(default_factory=dict)

    def wall(self, name: str) -> float:
        return median([r.wall_seconds for r in self.runs[name]])

    def rss(self, name: str) -> float:
        return max(r.peak_rss_mib for r in self.runs[name])

    def phase(self, name: str, phase: str) -> float:
        return median([r.report["phases"][phase] for r in self.runs[name]])


def measure_size(rows: int, file_rows: int, runs: int, warmup: int) -> Measured:
    source = source_dir(rows, file_rows)
    variants = [ingest_variant(source), polars_variant(source)]
    measured = Measured(rows, {v.name: [] for v in variants})
    for index in range(warmup + runs):
        kind = "warm-up" if index < warmup else f"run {index - warmup + 1}/{runs}"
        for variant in variants:  # A B A B: both variants see the same machine state
            log(f"parquet -> parquet: {rows:,} rows, {variant.name}, {kind}")
            result = run_variant(variant, rows, f"p2p_{variant.workload}_{source.name}_{index}")
            if index >= warmup:
                measured.runs[variant.name].append(result)
    for variant in variants:
        _clear(variant)  # outputs are large and only needed for the row-count check
    return measured


def measure_idle(rows: int, file_rows: int) -> dict[str, ChildResult]:
    """The footprint of each child before any data moves (the smallest project, after warm-ups)."""
    flows = ingest_variant(source_dir(rows, file_rows)).args[0]
    log("parquet -> parquet: idle footprints")
    return {
        "ingest_assets": run_workload("ingest-idle", [flows], "p2p_ingest_idle"),
        "polars": run_workload("polars-idle", [], "p2p_polars_idle"),
    }


# ---- report -------------------------------------------------------------------------------------


def _results_table(results: list[Measured], idle: dict[str, ChildResult]) -> str:
    rows = []
    for m in results:
        for name in ("ingest_assets", "polars"):
            walls = [r.wall_seconds for r in m.runs[name]]
            rows.append([
                f"{m.rows:,}", name, spread(walls), f"{m.phase(name, 'run'):.2f}",
                f"{m.rows / m.wall(name):,.0f}", f"{m.rows / m.phase(name, 'run'):,.0f}",
                f"{m.rss(name):.0f}", f"{m.rss(name) - idle[name].peak_rss_mib:.0f}", "yes",
            ])
    return markdown_table(
        ["rows", "tool", "process wall s, median (min–max)", "copy s", "rows/s (process)", "rows/s (copy)",
         "peak RSS MiB", "RSS above idle MiB", "output rows = N"],
        rows,
    )


def _ratio_table(results: list[Measured]) -> str:
    rows = [[
        f"{m.rows:,}",
        f"x{m.wall('ingest_assets') / m.wall('polars'):.2f}",
        f"x{m.phase('ingest_assets', 'run') / m.phase('polars', 'run'):.2f}",
        f"x{m.rss('ingest_assets') / m.rss('polars'):.2f}",
    ] for m in results]
    return markdown_table(["rows", "time ingest/polars (process)", "time ingest/polars (copy)",
                           "peak RSS ingest/polars"], rows)


def _growth_lines(results: list[Measured], idle: dict[str, ChildResult]) -> list[str]:
    if len(results) < 2:
        return []
    small, large = results[0], results[-1]
    lines = []
    for name in ("ingest_assets", "polars"):
        growth = large.rss(name) / small.rss(name)
        above = (large.rss(name) - idle[name].peak_rss_mib, small.rss(name) - idle[name].peak_rss_mib)
        lines.append(
            f"- {name} peak RSS {small.rows:,} -> {large.rows:,} rows (x{large.rows / small.rows:g} data): "
            f"{small.rss(name):.0f} -> {large.rss(name):.0f} MiB (x{growth:.2f}; above idle "
            f"{above[1]:.0f} -> {above[0]:.0f} MiB)"
        )
    growth = large.rss("ingest_assets") / small.rss("ingest_assets")
    flat = growth <= FLAT_GROWTH
    lines.append(
        f"- **{'PASS' if flat else 'FAIL'}**: ingest_assets memory is {'flat' if flat else 'NOT flat'} "
        f"(x{growth:.2f} for x{large.rows / small.rows:g} rows; limit x{FLAT_GROWTH})"
    )
    return lines


def report(results: list[Measured], idle: dict[str, ChildResult], file_rows: int, runs: int, warmup: int) -> str:
    idle_line = ", ".join(f"{name} {r.peak_rss_mib:.0f} MiB in {r.wall_seconds:.2f} s" for name, r in idle.items())
    layout = "one file per source" if file_rows >= max(m.rows for m in results) else f"files of {file_rows:,} rows"
    lines = [
        f"## Parquet -> Parquet ({layout})",
        "",
        f"One entity (parquet home -> parquet store, full_drop, no keys or checks) against "
        f"`pl.scan_parquet(src).sink_parquet(dst)`, each in a fresh child process; alternating A B A B, "
        f"{warmup} warm-up and {runs} measured run(s) each, median shown. Source: 9 columns (bigint, int, "
        f"decimal(12,2), 6-value string, 25%-null string, 2 timestamps, bool, date), zstd, files of "
        f"{file_rows:,} rows in row groups of {CHUNK_ROWS:,}. `copy s` is the work alone (the run for "
        "ingest_assets, the scan/sink for Polars), without interpreter start-up, imports and, for "
        "ingest_assets, building the definitions.",
        "",
        _results_table(results, idle),
        "",
        _ratio_table(results),
        "",
        f"- idle footprint (every import the copy needs and, for ingest_assets, the definitions; no data): "
        f"{idle_line}",
        *_growth_lines(results, idle),
    ]
    return "\n".join(lines) + "\n"


def run(row_counts: list[int], runs: int, warmup: int, file_rows: int = DEFAULT_FILE_ROWS) -> str:
    results = [measure_size(rows, file_rows, runs, warmup) for rows in row_counts]
    idle = measure_idle(row_counts[0], file_rows)
    return report(results, idle, file_rows, runs, warmup)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=list(DEFAULT_ROWS))
    parser.add_argument("--runs", type=int, default=2, help="measured runs per variant and size")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured runs per variant and size first")
    parser.add_argument("--file-rows", type=int, default=DEFAULT_FILE_ROWS,
                        help="rows per source file (a larger value: fewer, bigger files)")
    args = parser.parse_args()
    print(run(sorted(args.rows), args.runs, args.warmup, args.file_rows))


if __name__ == "__main__":
    main()
