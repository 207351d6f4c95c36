"""How long a code location with 100, 1,000 and 5,000 entities takes to load, from a cold process.

Each size is a generated project (10 flows, every entity its own file) with the mix a real project
has: keys, tags, checks, column lists, incremental entities with watermarks (some with a lookback),
and ~1% partitioned entities; half of the flows have a schedule. Every run is a fresh interpreter
doing `build_definitions(flows_dir)` and `Definitions.validate_loadable(defs)`, which is what
`dagster dev`, the webserver and the daemon pay on every (re)load of the code location.

    .venv/bin/python benchmarks/definitions_load.py [--sizes 100 1000 5000] [--runs 3]
"""

from __future__ import annotations

import argparse
import itertools
import shutil
from dataclasses import dataclass
from pathlib import Path

from _common import WORK_DIR, ChildResult, log, markdown_table, median, run_workload, spread

DEFAULT_SIZES = (100, 1_000, 5_000)
FLOWS = 10
BUDGET_SIZE = 1_000
BUDGET_SECONDS = 5.0
PROJECTS_DIR = WORK_DIR / "definitions_load"


# ---- project generation -------------------------------------------------------------------------

PROJECT_FILE = """\
name: bench_{entities}
connections:
  src:
    type: parquet
    path: data/src
  lake:
    type: parquet
    path: data/lake
options:
  concurrency: 2
"""


def flow_file(index: int) -> str:
    lines = [
        f"description: Generated flow {index} of the load benchmark.",
        "home: src",
        "store: lake",
        "tags:",
        f"  domain: flow_{index:02d}",
        "owners: [team:data-platform]",
    ]
    if index % 2 == 0:
        lines.append(f'schedule: "{index} 3 * * *"')
    else:
        lines.append("sensor: {interval_seconds: 300}")
    return "\n".join(lines) + "\n"


def entity_file(number: int) -> str:
    """One entity; the modulo rules give a stable, realistic mix of settings across the project."""
    name = f"e_{number:05d}"
    lines = [f"description: Generated entity {number}.", "home:", f"  path: '{name}/*.parquet'"]
    if number % 100 == 50:
        lines += ["keys: [id]", "partition:", "  column: event_date", "  granularity: daily",
                  "  start: 2025-01-01"]
    elif number % 4 == 1:
        lines += ["run_type: incremental", "keys: [id]", "watermark:", "  column: updated_at",
                  "  lookback: 1 hour"]
    elif number % 8 == 3:
        lines += ["run_type: incremental", "watermark: id"]
    elif number % 3 == 0:
        lines.append("keys: [id]")
    if number % 5 == 0:
        lines += ["tags:", "  tier: gold"]
    elif number % 7 == 0:
        lines.append("tags: [critical]")
    if number % 10 == 2:
        lines += ["checks:", "  min_rows: 1", "  not_null: [id]"]
    if number % 6 == 5:
        lines.append("columns: [id, updated_at, event_date, amount, status]")
    return "\n".join(lines) + "\n"


def generate_project(entities: int) -> Path:
    """Write (or reuse) the project with `entities` entities; returns its flows/ folder."""
    flows_dir = PROJECTS_DIR / f"project_{entities}" / "flows"
    marker = flows_dir / ".complete"
    if marker.exists():
        return flows_dir
    shutil.rmtree(flows_dir, ignore_errors=True)
    flows_dir.mkdir(parents=True)
    (flows_dir / "ingest.yml").write_text(PROJECT_FILE.format(entities=entities))
    for index in range(FLOWS):
        entity_dir = flows_dir / f"flow_{index:02d}" / "entities"
        entity_dir.mkdir(parents=True)
        (entity_dir.parent / "flow.yml").write_text(flow_file(index))
    for number in range(entities):
        path = flows_dir / f"flow_{number % FLOWS:02d}" / "entities" / f"e_{number:05d}.yml"
        path.write_text(entity_file(number))
    marker.touch()  # hidden: the loader skips dot files and folders
    return flows_dir


# ---- measurement --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SizeResult:
    entities: int
    runs: list[ChildResult]

    @property
    def wall(self) -> list[float]:
        return [r.wall_seconds for r in self.runs]

    def phase(self, name: str) -> float:
        return median([r.report["phases"][name] for r in self.runs])

    @property
    def load(self) -> float:
        """build + validate: the part that grows with the project (imports do not)."""
        return median([r.report["phases"]["build"] + r.report["phases"]["validate"] for r in self.runs])

    @property
    def peak_rss(self) -> float:
        return max(r.peak_rss_mib for r in self.runs)


def measure(sizes: list[int], runs: int) -> list[SizeResult]:
    projects = {size: generate_project(size) for size in sizes}
    # One unmeasured load first: compiles .pyc files and warms the page cache for every size alike.
    run_workload("load", [str(projects[sizes[0]])], "load_warmup")
    results = []
    for size in sizes:
        measured = []
        for run in range(runs):
            log(f"definitions load: {size} entities, run {run + 1}/{runs}")
            measured.append(run_workload("load", [str(projects[size])], f"load_{size}_{run}"))
        results.append(SizeResult(size, measured))
    return results


def _fit(results: list[SizeResult], value) -> tuple[float, float]:
    """Least-squares line through (entities, value): (seconds per entity, fixed seconds)."""
    xs = [r.entities for r in results]
    ys = [value(r) for r in results]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    denominator = sum((x - mean_x) ** 2 for x in xs)
    if denominator == 0:
        return float("nan"), mean_y
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=False)) / denominator
    return slope, mean_y - slope * mean_x


# ---- report -------------------------------------------------------------------------------------


def report(results: list[SizeResult], runs: int) -> str:
    rows = []
    for r in results:
        counts = r.runs[0].report
        rows.append([
            f"{r.entities:,}",
            f"{counts['assets']:,} / {counts['jobs']} / {counts['schedules']} / {counts['sensors']}",
            spread(r.wall),
            f"{r.phase('import'):.2f}",
            f"{r.phase('build'):.2f}",
            f"{r.phase('validate'):.2f}",
            f"{median(r.wall) / r.entities * 1000:.2f}",
            f"{r.load / r.entities * 1000:.2f}",
            f"{r.peak_rss:.0f}",
        ])
    table = markdown_table(
        ["entities", "assets / jobs / schedules / sensors", "process wall s, median (min–max)", "import s",
         "build s", "validate s", "ms per entity (wall)", "ms per entity (build+validate)", "peak RSS MiB"],
        rows,
    )
    lines = [
        "## Definitions load",
        "",
        f"A fresh interpreter per run runs `build_definitions(flows_dir)` and "
        f"`Definitions.validate_loadable(defs)`; median of {runs} runs after one warm-up load. "
        f"Projects: {FLOWS} flows, one YAML file per entity.",
        "",
        table,
        "",
    ]
    lines += _growth_lines(results)
    budget = _budget_line(results)
    if budget is not None:
        lines.append(budget)
    return "\n".join(lines) + "\n"


def _growth_lines(results: list[SizeResult]) -> list[str]:
    lines = []
    for small, large in itertools.pairwise(results):
        lines.append(
            f"- growth {small.entities:,} -> {large.entities:,} entities (x{large.entities / small.entities:g}): "
            f"process wall x{median(large.wall) / median(small.wall):.2f}, "
            f"build+validate x{large.load / small.load:.2f}"
        )
    if len(results) >= 2:
        slope, fixed = _fit(results, lambda r: median(r.wall))
        load_slope, _ = _fit(results, lambda r: r.load)
        lines.append(
            f"- linear fit over the sizes: {slope * 1000:.2f} ms per entity on top of a fixed "
            f"{fixed:.2f} s (imports and start-up); build+validate alone {load_slope * 1000:.2f} ms per entity"
        )
    return lines


def _budget_line(results: list[SizeResult]) -> str | None:
    budget = next((r for r in results if r.entities == BUDGET_SIZE), None)
    if budget is None:
        return None
    seconds = median(budget.wall)
    passed = seconds < BUDGET_SECONDS
    return (f"- **{'PASS' if passed else 'FAIL'}**: the {BUDGET_SIZE:,}-entity project loads in "
            f"{seconds:.2f} s (budget {BUDGET_SECONDS:g} s, whole fresh process)")


def run(sizes: list[int], runs: int) -> str:
    return report(measure(sizes, runs), runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(run(sorted(args.sizes), args.runs))


if __name__ == "__main__":
    main()
