"""The `open_mirroring` and `adls` stores against what our users come from (hygge's way of writing).

Part 1, Open Mirroring on the local-folder backend: an initial load (N rows, `full_drop`) and an
upsert load (N/10 changed rows: N/20 updates of existing ids, N/20 new ids) of one entity
(`keys: [id]`), each in a fresh child process, against a **hygge-style baseline** (see
`hygge_style_mirror` below: hygge itself is not installable, the PyPI name `hygge` is an unrelated
package). Part 2, the `adls` store on Azurite (Blob API) against Polars `write_parquet` + an
azure-storage-blob upload. A B A B, one warm-up, medians; peak RSS per child; memory growth from
the small to the large N with PASS/FAIL (x1.25 at most for x5 rows, as parquet_to_parquet.py).

Every output is checked: each run's landing zone by the Parquet footers of its data files; after the
last measured run, ingest_assets' landing zone is replayed with `ingest_assets.stores.open_mirroring.replay` (the
table Fabric would show) and must hold N rows (initial) and N + N/20 rows with N/20 changed notes
(upsert); the baseline's too at the smallest N (the replay holds the whole table in Python: ~35 s and
~4 GB at 5M rows).
Azurite outputs are downloaded and counted.

    .venv/bin/python benchmarks/open_mirroring.py [--rows 1000000 5000000] [--runs 2] [--warmup 1]
        [--no-azurite] [--quick]

This module is imported by the baseline children (`_workloads.py hygge-mirror|blob-baseline`):
keep its top-level imports to the standard library.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import REPO_ROOT, WORK_DIR, ChildResult, log, markdown_table, median, run_workload, spread

DEFAULT_ROWS = (1_000_000, 5_000_000)  # below one 1M-row source file the buffers are not yet full
QUICK_ROWS = (100_000, 500_000)
FILE_ROWS = 1_000_000  # the source layout of parquet_to_parquet.py (files of 1M rows)
FLAT_GROWTH = 1.25
ROOT = WORK_DIR / "open_mirroring"
MIRROR = "bench"  # the mirrored database
TABLE = "events"  # the entity, and so the table
CHANGED_NOTE = "changed by the upsert"
AZURITE_KEY_VARIABLE = "BENCH_AZURITE_KEY"
TITLE = "## Open Mirroring and ADLS stores, against the hygge-style baseline"

# ---- the hygge-style baselines (run in the children) ---------------------------------------------
#
# What hygge's README and code describe (pineydata/hygge: stores/openmirroring/store.py, core/store.py,
# homes/parquet_home.py), reduced to the data path: the Parquet home collects each source file whole
# (`pl.scan_parquet(file).collect(engine="streaming")`); the store slices it into batches of 100,000
# rows (its default batch_size), adds `__LastLoadedAt__` and one constant `__rowMarker__` (its
# configured `row_marker`; 4 = upsert here, with `isUpsertDefaultRowMarker`), writes each batch with
# `df.write_parquet(BytesIO, compression="snappy")`, uploads it to `Files/_tmp/<table>/` under the next
# 20-digit number (counted from the table folder), and at the end moves the files (and, on a full
# drop, `_metadata.json` and `_partnerEvents.json`) into the landing zone after deleting the table
# folder. Left out, so the baseline is a lower bound of hygge's time: its configuration and async
# machinery, the 0.5 s sleep after writing the metadata, and the folder_deletion_wait (0 on both sides).
# No journal, no key set, no count-back, no checks: what the ratio pays for on our side.

HYGGE_BATCH_ROWS = 100_000
HYGGE_COMPRESSION = "snappy"


def hygge_style_mirror(args: argparse.Namespace, phases: Any) -> dict[str, Any]:
    """BASELINE (hygge-style), not ingest_assets: one constant-marker file per 100k-row batch."""
    import io
    import json
    import re
    from datetime import datetime

    import polars as pl

    phases.mark("import")
    files = Path(args.zone_root) / args.mirror / "Files"
    table, tmp = files / "LandingZone" / args.table, files / "_tmp" / args.table
    full_drop, marker = args.mode == "full_drop", 4
    numbers = [int(p.stem) for p in table.glob("*.parquet") if re.fullmatch(r"\d{20}", p.stem)] if table.exists() else []
    sequence = max(numbers, default=0)
    metadata = json.dumps({"keyColumns": [args.key], "isUpsertDefaultRowMarker": True}, indent=2).encode()
    tmp.mkdir(parents=True, exist_ok=True)
    staged: list[Path] = []
    if full_drop:
        (tmp / "_metadata.json").write_bytes(metadata)
        (tmp.parent / "_partnerEvents.json").write_text(json.dumps({"partnerName": "hygge"}))
    elif not (table / "_metadata.json").exists():
        table.mkdir(parents=True, exist_ok=True)
        (table / "_metadata.json").write_bytes(metadata)
    rows = 0
    for path in sorted(Path(args.source).glob("*.parquet")):
        frame = pl.scan_parquet(path).collect(engine="streaming")
        for start in range(0, len(frame), HYGGE_BATCH_ROWS):
            batch = frame.slice(start, HYGGE_BATCH_ROWS).with_columns(
                pl.lit(datetime.now()).alias("__LastLoadedAt__"), pl.lit(marker).alias("__rowMarker__"))
            buffer = io.BytesIO()
            batch.write_parquet(buffer, compression=HYGGE_COMPRESSION)
            sequence += 1
            staged.append(tmp / f"{sequence:020d}.parquet")
            staged[-1].write_bytes(buffer.getvalue())  # upload_bytes, on the local-folder "OneLake"
            rows += len(batch)
        del frame
    if full_drop:
        shutil.rmtree(table, ignore_errors=True)  # delete the table folder, then (not here) wait
        table.mkdir(parents=True)
        staged += [tmp / "_metadata.json"]
        (tmp.parent / "_partnerEvents.json").replace(files / "LandingZone" / "_partnerEvents.json")
    for path in staged:
        path.replace(table / path.name)  # move_file
    phases.mark("run")
    return {"phases": phases.seconds, "rows_written": rows}


def blob_baseline(args: argparse.Namespace, phases: Any) -> dict[str, Any]:
    """BASELINE: Polars `write_parquet` per 100k-row batch (hygge's adls store) + azure-storage-blob upload."""
    import io

    import polars as pl
    from azure.storage.blob import ContainerClient

    phases.mark("import")
    connection = (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
                  f"AccountKey={os.environ[AZURITE_KEY_VARIABLE]};BlobEndpoint={args.account_url};")
    container = ContainerClient.from_connection_string(connection, args.container)
    sequence = rows = 0
    for path in sorted(Path(args.source).glob("*.parquet")):
        frame = pl.scan_parquet(path).collect(engine="streaming")
        for start in range(0, len(frame), HYGGE_BATCH_ROWS):
            batch = frame.slice(start, HYGGE_BATCH_ROWS)
            buffer = io.BytesIO()
            batch.write_parquet(buffer, compression=HYGGE_COMPRESSION)
            sequence += 1
            # Straight to the final name (hygge uploads to _tmp/ and copies: this is a lower bound).
            container.upload_blob(f"{args.prefix}/{sequence:020d}.parquet", buffer.getvalue(), overwrite=True)
            rows += len(batch)
        del frame
    phases.mark("run")
    return {"phases": phases.seconds, "rows_written": rows}


# ---- data: the source (shared with parquet_to_parquet.py) and the changes ------------------------


def sources(rows: int) -> tuple[Path, Path]:
    """The N-row source and its changes (N/20 updates of every 20th id, N/20 new ids), cached."""
    import parquet_to_parquet as p2p
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    source = p2p.source_dir(rows, FILE_ROWS)
    changes = ROOT / f"changes_{rows}"
    marker = changes / "_complete"
    if not marker.exists():
        log(f"open mirroring: generating {rows // 10:,} changed rows in {changes}")
        shutil.rmtree(changes, ignore_errors=True)
        changes.mkdir(parents=True)
        with pq.ParquetWriter(changes / "part-0000.parquet", p2p.SCHEMA, compression="zstd") as writer:
            for path in sorted(source.glob("*.parquet")):
                for batch in pq.ParquetFile(path).iter_batches(p2p.CHUNK_ROWS):
                    table = pa.Table.from_batches([batch])
                    every_20th = pc.equal(pc.subtract(table["id"], pc.multiply(pc.divide(table["id"], 20), 20)), 0)
                    table = table.filter(every_20th)  # integer division: id - id // 20 * 20 == 0
                    notes = pa.array([CHANGED_NOTE] * len(table), pa.string())
                    writer.write_table(table.set_column(table.schema.get_field_index("note"), "note", notes))
            for start in range(rows, rows + rows // 20, p2p.CHUNK_ROWS):
                writer.write_batch(p2p.generate_chunk(start, min(p2p.CHUNK_ROWS, rows + rows // 20 - start)))
        marker.write_text("done")
    return source, changes


# ---- the Open Mirroring variants -----------------------------------------------------------------

PROJECT = """\
name: bench_mirror
connections:
  src:
    type: parquet
    path: '{source}'
  fabric:
    type: open_mirroring
    local_path: '{zone_root}'
    mirror_name: {mirror}
    folder_deletion_wait_seconds: 0
"""
INITIAL_ENTITY = "home:\n  path: '*.parquet'\nkeys: [id]\n"
UPSERT_ENTITY = "home:\n  path: '*.parquet'\nkeys: [id]\nwrite_strategy: upsert\n"


def zone_dir(zone_root: Path, ours: bool) -> Path:
    """The landing zone below a local-folder root: ours follows Fabric's item naming, hygge its own path."""
    return zone_root / (f"{MIRROR}.MountedRelationalDatabase" if ours else MIRROR) / "Files" / "LandingZone"


def write_project(folder: Path, source: Path, zone_root: Path, entity: str) -> Path:
    flows = folder / "flows"
    shutil.rmtree(flows, ignore_errors=True)
    (flows / "bench" / "entities").mkdir(parents=True)
    (flows / "ingest.yml").write_text(PROJECT.format(source=source, zone_root=zone_root, mirror=MIRROR))
    (flows / "bench" / "flow.yml").write_text("home: src\nstore: fabric\nrun_type: full_drop\n")
    (flows / "bench" / "entities" / f"{TABLE}.yml").write_text(entity)
    return flows


@dataclass(frozen=True)
class Variant:
    name: str
    workload: str
    args: list[str]
    zone_root: Path  # cleared (initial) or restored from `template` (upsert) before every run
    zone: Path
    template: Path | None = None
    env: dict[str, str] = field(default_factory=dict)

    def prepare(self) -> None:
        shutil.rmtree(self.zone_root, ignore_errors=True)
        if self.template is not None:
            shutil.copytree(self.template, self.zone_root, symlinks=True)


def mirror_variants(rows: int, phase: str) -> list[Variant]:
    source, changes = sources(rows)
    home = source if phase == "initial" else changes
    out = ROOT / "out" / f"{rows}"
    variants = []
    for ours in (True, False):
        name = "ingest_assets" if ours else "hygge-style baseline"
        zone_root = out / ("ingest" if ours else "hygge") / phase
        template = None if phase == "initial" else out / ("ingest" if ours else "hygge") / "initial_state"
        if ours:
            flows = write_project(out / f"project_{phase}", home, zone_root,
                                  INITIAL_ENTITY if phase == "initial" else UPSERT_ENTITY)
            variants.append(Variant(name, "ingest", [str(flows)], zone_root, zone_dir(zone_root, True), template))
        else:
            mode = "full_drop" if phase == "initial" else "incremental"
            args = [str(home), str(zone_root), MIRROR, TABLE, "id", mode]
            variants.append(Variant(name, "hygge-mirror", args, zone_root, zone_dir(zone_root, False), template))
    return variants


def data_file_rows(zone: Path) -> int:
    """Rows in the table folder's published (20-digit) files, from the footers: the per-run check."""
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(p).metadata.num_rows for p in (zone / TABLE).glob("*.parquet")
               if p.stem.isdigit() and len(p.stem) == 20)


def replay(zone: Path) -> tuple[int, int, float]:
    """(rows, rows with the changed note, seconds) of the table Fabric would show."""
    import pyarrow.compute as pc

    from ingest_assets.storage.local import LocalStorage
    from ingest_assets.stores.open_mirroring.replay import replay_table

    started = time.perf_counter()
    table = replay_table(LocalStorage(zone), TABLE)
    changed = pc.sum(pc.equal(table["note"], CHANGED_NOTE)).as_py() or 0
    return table.num_rows, changed, time.perf_counter() - started


@dataclass
class Measured:
    rows: int
    runs: dict[str, list[ChildResult]] = field(default_factory=dict)
    checks: dict[str, str] = field(default_factory=dict)

    def wall(self, name: str) -> float:
        return median([r.wall_seconds for r in self.runs[name]])

    def work(self, name: str) -> float:
        return median([r.report["phases"]["run"] for r in self.runs[name]])

    def rss(self, name: str) -> float:
        return max(r.peak_rss_mib for r in self.runs[name])


def measure_mirror(rows: int, phase: str, runs: int, warmup: int, replay_baseline: bool) -> Measured:
    variants = mirror_variants(rows, phase)
    expected_files = rows if phase == "initial" else rows // 10
    measured = Measured(rows, {v.name: [] for v in variants})
    for index in range(warmup + runs):
        kind = "warm-up" if index < warmup else f"run {index - warmup + 1}/{runs}"
        for variant in variants:
            log(f"open mirroring {phase}: {rows:,} rows, {variant.name}, {kind}")
            variant.prepare()
            result = run_workload(variant.workload, variant.args, f"om_{phase}_{variant.workload}_{rows}_{index}")
            before = 0 if variant.template is None else data_file_rows(zone_dir(variant.template, variant.workload == "ingest"))
            found = data_file_rows(variant.zone) - before
            if found != expected_files or result.report.get("rows_written") != expected_files:
                raise AssertionError(f"{variant.name} {phase}: {found:,} rows in new files, "
                                     f"reported {result.report.get('rows_written')}, expected {expected_files:,}")
            if index >= warmup:
                measured.runs[variant.name].append(result)
    for variant in variants:  # the last run's landing zone, replayed as Fabric would apply it
        if phase == "initial":  # the starting state of the upsert runs
            template = variant.zone_root.parent / "initial_state"
            shutil.rmtree(template, ignore_errors=True)
            shutil.copytree(variant.zone_root, template, symlinks=True)
        if variant.workload != "ingest" and not replay_baseline:
            measured.checks[variant.name] = "new files' footers = expected (replayed at the smallest N)"
            continue
        expected = rows if phase == "initial" else rows + rows // 20
        got, changed, seconds = replay(variant.zone)
        expected_changed = 0 if phase == "initial" else rows // 20
        if got != expected or changed != expected_changed:
            raise AssertionError(f"{variant.name} {phase}: replay gives {got:,} rows ({changed:,} changed), "
                                 f"expected {expected:,} ({expected_changed:,})")
        measured.checks[variant.name] = f"replay {got:,} rows = expected ({seconds:.0f} s)"
    return measured


# ---- the adls store on Azurite --------------------------------------------------------------------

ADLS_PROJECT = """\
name: bench_adls
connections:
  src:
    type: parquet
    path: '{source}'
  lake:
    type: adls
    account_url: {account_url}
    filesystem: {container}
    api: blob
    credential: account_key
    account_key: ${{{variable}}}
"""


def adls_variants(rows: int, server: Any, container: str) -> list[Variant]:
    source, _ = sources(rows)
    env = {AZURITE_KEY_VARIABLE: server.account_key}
    flows = ROOT / "out" / f"{rows}" / "project_adls" / "flows"
    shutil.rmtree(flows, ignore_errors=True)
    (flows / "bench" / "entities").mkdir(parents=True)
    (flows / "ingest.yml").write_text(ADLS_PROJECT.format(source=source, account_url=server.account_url,
                                                          container=container, variable=AZURITE_KEY_VARIABLE))
    (flows / "bench" / "flow.yml").write_text("home: src\nstore: lake\nrun_type: full_drop\n")
    (flows / "bench" / "entities" / f"{TABLE}.yml").write_text("home:\n  path: '*.parquet'\n")
    unused = Path("/nonexistent")
    return [
        Variant("ingest_assets", "ingest", [str(flows)], unused, Path(f"bench/{TABLE}"), env=env),
        Variant("polars + azure-storage-blob", "blob-baseline",
                [str(source), server.account_url, container, f"baseline/{TABLE}"], unused,
                Path(f"baseline/{TABLE}"), env=env),
    ]


def blob_rows(container: Any, prefix: str) -> int:
    """Rows in the published Parquet files below `prefix` (staged `_` names skipped), downloaded and counted."""
    import io

    import pyarrow.parquet as pq

    total = 0
    for blob in container.list_blobs(name_starts_with=f"{prefix}/"):
        name = blob.name.rsplit("/", 1)[-1]
        if name.endswith(".parquet") and not name.startswith("_"):
            total += pq.ParquetFile(io.BytesIO(container.download_blob(blob.name).readall())).metadata.num_rows
    return total


def clear_blobs(container: Any) -> None:
    for blob in list(container.list_blobs()):
        container.delete_blob(blob.name)


def measure_adls(rows: int, runs: int, warmup: int, server: Any, container_name: str) -> Measured:
    container = server._service().get_container_client(container_name)
    variants = adls_variants(rows, server, container_name)
    measured = Measured(rows, {v.name: [] for v in variants})
    for index in range(warmup + runs):
        kind = "warm-up" if index < warmup else f"run {index - warmup + 1}/{runs}"
        for variant in variants:
            log(f"adls on Azurite: {rows:,} rows, {variant.name}, {kind}")
            clear_blobs(container)
            result = run_workload(variant.workload, variant.args, f"adls_{variant.workload}_{rows}_{index}",
                                  env=variant.env)
            found = blob_rows(container, str(variant.zone))
            if found != rows:
                raise AssertionError(f"adls {variant.name}: {found:,} rows in the blobs, expected {rows:,}")
            measured.checks[variant.name] = f"{found:,} rows downloaded and counted"
            if index >= warmup:
                measured.runs[variant.name].append(result)
    clear_blobs(container)
    return measured


# ---- report ---------------------------------------------------------------------------------------


def _tables(results: list[Measured], ours: str, theirs: str, moved: str) -> list[str]:
    rows, ratios = [], []
    for m in results:
        rows.extend([f"{m.rows:,}", name, spread([r.wall_seconds for r in m.runs[name]]), f"{m.work(name):.2f}",
                     f"{m.rss(name):.0f}", m.checks.get(name, "")] for name in (ours, theirs))
        ratios.append([f"{m.rows:,}", f"x{m.wall(ours) / m.wall(theirs):.2f}", f"x{m.work(ours) / m.work(theirs):.2f}",
                       f"x{m.rss(ours) / m.rss(theirs):.2f}"])
    lines = [markdown_table([f"rows ({moved})", "tool", "process wall s, median (min–max)", "work s",
                             "peak RSS MiB", "output check"], rows), "",
             markdown_table(["rows", "time ours/baseline (process)", "time ours/baseline (work)",
                             "peak RSS ours/baseline"], ratios), ""]
    if len(results) >= 2:
        small, large = results[0], results[-1]
        lines.extend(f"- {name} peak RSS {small.rows:,} -> {large.rows:,} rows (x{large.rows / small.rows:g}): "
                     f"{small.rss(name):.0f} -> {large.rss(name):.0f} MiB (x{large.rss(name) / small.rss(name):.2f})"
                     for name in (ours, theirs))
        growth = large.rss(ours) / small.rss(ours)
        flat = growth <= FLAT_GROWTH
        lines.append(f"- **{'PASS' if flat else 'FAIL'}**: ingest_assets memory is {'flat' if flat else 'NOT flat'} "
                     f"(x{growth:.2f} for x{large.rows / small.rows:g} rows; limit x{FLAT_GROWTH})")
    return lines


def report(initial: list[Measured], upsert: list[Measured], adls: list[Measured] | str, runs: int, warmup: int) -> str:
    lines = [
        TITLE,
        "",
        f"Each measurement a fresh child process, alternating A B A B, {warmup} warm-up and {runs} measured run(s) "
        "each, median shown; `work s` is the data path alone (the Dagster run for ingest_assets), without start-up, "
        "imports and building the definitions. Source: parquet_to_parquet.py's 9-column data, files of "
        f"{FILE_ROWS:,} rows. **The baseline is not hygge**: `pip download hygge` gets an unrelated package "
        "(an async JSON GET helper, 2.8 kB), pineydata/hygge is not on PyPI. It is the data path of hygge's "
        "Open Mirroring store as its README and code describe it (`hygge_style_mirror` in "
        "`benchmarks/open_mirroring.py`): Polars collects each source file, slices 100,000-row batches, adds "
        "`__LastLoadedAt__` and a constant `__rowMarker__` (4), `write_parquet` (snappy) to memory, writes each "
        "as the next 20-digit file into `_tmp/`, then moves them (and `_metadata.json`) into the table folder; "
        "without hygge's config and async layers and its 0.5 s sleep, so a lower bound of hygge's time. "
        "folder_deletion_wait is 0 on both sides.",
        "",
        "### Open Mirroring, initial load (`full_drop`, `keys: [id]`), local-folder backend",
        "",
        "ingest_assets: stage, key-set snapshot for later delete detection, journal, rename, published-file and "
        "sequence checks. Every run's new files are counted from their footers; the last run's landing zone is "
        "replayed with `ingest_assets.stores.open_mirroring.replay` (the table Fabric would show; the baseline's at the "
        "smallest N only, the replay holds the whole table in Python).",
        "",
        *_tables(initial, "ingest_assets", "hygge-style baseline", "N"),
        "",
        "### Open Mirroring, upsert load (N/10 rows: N/20 updates, N/20 new ids) onto the N-row table",
        "",
        "ingest_assets `write_strategy: upsert` (marker 4, next sequence numbers from the folder, the stale key set "
        "removed); the baseline appends with marker 4. The starting state (each tool's own initial load) is "
        "restored before every run, untimed. The replay must give N + N/20 rows with N/20 changed notes.",
        "",
        *_tables(upsert, "ingest_assets", "hygge-style baseline", "N; N/10 moved"),
        "- the upsert moves N/10 rows (one file): its memory check compares 100,000 and 500,000 moved rows at the "
        "default sizes, where the read-ahead and staging buffers are still filling (initial loads, one run each, "
        "same machine: 295 MiB at 400,000 rows, 367 at 1M, 400 at 5M); the store does not read the N-row table",
        "",
        "### `adls` store on Azurite (Blob API), `full_drop`",
        "",
    ]
    if isinstance(adls, str):
        lines.append(f"Not measured: {adls}")
    else:
        lines += [
            "Azurite 3.35 (in-memory, the tests' `ingest_assets_tests/servers/azurite.py`) on the same 2 cores: its "
            "CPU is not in either child's figures, and blob renames are copy + delete on the Blob API. "
            "ingest_assets: stage, upload as `_part-*`, journal, rename. Baseline: Polars `write_parquet` (snappy) "
            "per 100,000-row batch and `ContainerClient.upload_blob` straight to the final name (no staging). "
            "Outputs downloaded and counted after every run.",
            "",
            *_tables(adls, "ingest_assets", "polars + azure-storage-blob", "N"),
        ]
    return "\n".join(lines) + "\n"


def run(row_counts: list[int], runs: int, warmup: int, azurite: bool = True) -> str:
    import sys

    sys.path.insert(0, str(REPO_ROOT))  # ingest_assets and its tests' Azurite helper
    initial = [measure_mirror(rows, "initial", runs, warmup, rows == row_counts[0]) for rows in row_counts]
    upsert = [measure_mirror(rows, "upsert", runs, warmup, rows == row_counts[0]) for rows in row_counts]
    adls: list[Measured] | str = "skipped (--no-azurite)"
    if azurite:
        with ExitStack() as stack:
            try:
                from ingest_assets_tests.servers.azurite import azurite_server

                log("starting Azurite")
                server = stack.enter_context(azurite_server())
            except Exception as error:  # any failure is reported in the section
                adls = f"Azurite did not start here ({type(error).__name__}: {error})"
            else:
                container = server.create_container("bench")
                adls = [measure_adls(rows, runs, warmup, server, container) for rows in row_counts]
    return report(initial, upsert, adls, runs, warmup)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=list(DEFAULT_ROWS))
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--no-azurite", action="store_true", help="skip the adls store on Azurite")
    parser.add_argument("--quick", action="store_true",
                        help=f"a smoke test: {QUICK_ROWS[0]:,} and {QUICK_ROWS[1]:,} rows, one run, no warm-up")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.runs, args.warmup = list(QUICK_ROWS), 1, 0
    print(run(sorted(args.rows), args.runs, args.warmup, not args.no_azurite))


if __name__ == "__main__":
    main()
