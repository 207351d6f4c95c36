"""How long a code location with 100, 1,000 and 5,000 entities takes to load, from a cold process,
and what a one-asset run costs in a big project; each figure against its goal (PASS/FAIL lines).

Each size is a generated project (10 flows, every entity its own file) with the mix a real project
has: keys, tags, checks, column lists, incremental entities with watermarks (some with a lookback),
and ~1% partitioned entities; half of the flows have a schedule. Every run is a fresh interpreter
doing `build_definitions(flows_dir)` and `Definitions.validate_loadable(defs)`, which is what
`dagster dev`, the webserver and the daemon pay on every (re)load of the code location.

The goals (issue 14, "Big projects"), on an idle machine of 2 cores:
- 1,000 entities load in under 2 s and 5,000 in under 10 s (the whole fresh process);
- the load grows linearly: build+validate per entity at the largest size at most 1.25x that at 1,000;
- a one-asset run (`dagster asset materialize --select flow_00/e_00000`, the whole command) in a
  1,000-entity project costs no more than in a 10-entity one plus the load (build+validate of the
  1,000-entity project, as measured above). The two projects run in pairs, alternating which goes
  first, each on an instance of its own that one unmeasured run has created; the entity reads one
  small Parquet file.

    .venv/bin/python benchmarks/definitions_load.py [--sizes 100 1000 5000] [--runs 3] [--run-rounds 3]
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from _common import PYTHON, WORK_DIR, ChildResult, log, markdown_table, median, run_command, run_workload, spread

DEFAULT_SIZES = (100, 1_000, 5_000)
FLOWS = 10
LOAD_GOALS = {1_000: 2.0, 5_000: 10.0}  # entities -> whole-process wall seconds the load must stay under
LINEAR_SIZE = 1_000  # growth is measured from here to the largest size
LINEAR_TOLERANCE = 1.25  # build+validate per entity may grow this much and still count as linear
RUN_SIZES = (10, 1_000)  # the one-asset run: a small project and a big one
RUN_ENTITY = "flow_00/e_00000"  # the first entity of flow_00, in every generated project
DEFAULT_RUN_ROUNDS = 3
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


def prepare_run(entities: int) -> tuple[Path, dict[str, str]]:
    """The project's folder and the environment of a run of RUN_ENTITY: its source file, a fresh instance."""
    flows_dir = generate_project(entities)
    root = flows_dir.parent
    source = root / "data" / "src" / "e_00000"
    if not source.exists():
        import pyarrow as pa
        import pyarrow.parquet as pq

        source.mkdir(parents=True)
        pq.write_table(pa.table({"id": list(range(1_000)), "amount": [1.5] * 1_000}), source / "part.parquet")
    home = root / "dagster_home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return root, {"DAGSTER_HOME": str(home), "INGEST_FLOWS_DIR": str(flows_dir)}


def _materialize(root: Path, env: dict[str, str], label: str) -> ChildResult:
    argv = [str(Path(PYTHON).parent / "dagster"), "asset", "materialize", "-m", "ingest_assets.definitions",
            "--select", RUN_ENTITY]
    return run_command(argv, label, env=env, cwd=root)


@dataclass(frozen=True)
class RunCost:
    """Whole-command runs of one asset, round by round: in the small project and in the big one."""

    small: list[ChildResult]
    large: list[ChildResult]

    @property
    def extra(self) -> list[float]:
        return [big.wall_seconds - small.wall_seconds for small, big in zip(self.small, self.large, strict=True)]


def measure_run_cost(rounds: int) -> RunCost:
    prepared = {size: prepare_run(size) for size in RUN_SIZES}
    for size, (root, env) in prepared.items():
        log(f"one-asset run: {size} entities, warm-up (creates the instance)")
        _materialize(root, env, f"run_{size}_warmup")
    results: dict[int, list[ChildResult]] = {size: [] for size in RUN_SIZES}
    for round_number in range(rounds):
        # Alternate which goes first, so that a slow moment of the machine favours neither.
        order = RUN_SIZES if round_number % 2 == 0 else tuple(reversed(RUN_SIZES))
        for size in order:
            log(f"one-asset run: {size} entities, round {round_number + 1}/{rounds}")
            root, env = prepared[size]
            results[size].append(_materialize(root, env, f"run_{size}_{round_number}"))
    small, large = RUN_SIZES
    return RunCost(results[small], results[large])


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


def report(results: list[SizeResult], runs: int, run_cost: RunCost | None = None,
           load_average: tuple[float, float] | None = None) -> str:
    rows = []
    for r in results:
        counts = r.runs[0].report
        rows.append([
            f"{r.entities:,}",
            f"{counts['assets']:,} / {counts['jobs']} / {counts['schedules']} / {counts['sensors']}",
            spread(r.wall),
            f"{median([x.cpu_seconds for x in r.runs]):.2f}",
            f"{r.phase('import'):.2f}",
            f"{r.phase('build'):.2f}",
            f"{r.phase('validate'):.2f}",
            f"{median(r.wall) / r.entities * 1000:.2f}",
            f"{r.load / r.entities * 1000:.2f}",
            f"{r.peak_rss:.0f}",
        ])
    table = markdown_table(
        ["entities", "assets / jobs / schedules / sensors", "process wall s, median (min–max)", "CPU s",
         "import s", "build s", "validate s", "ms per entity (wall)", "ms per entity (build+validate)",
         "peak RSS MiB"],
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
        *_growth_lines(results),
    ]
    if run_cost is not None:
        lines += ["", *_run_cost_lines(run_cost)]
    if load_average is not None:
        lines += ["", f"- machine load average (1 min) at start / end: {load_average[0]:.2f} / "
                      f"{load_average[1]:.2f} (the goals are for an idle machine: other work on its cores "
                      "inflates every figure)"]
    lines += ["", "Goals:", "", *goal_lines(results, run_cost)]
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


def _run_cost_lines(cost: RunCost) -> list[str]:
    small, large = RUN_SIZES
    table = markdown_table(
        ["project", "whole command wall s, median (min–max)", "CPU s, the command and its processes",
         "peak RSS MiB, the processes together"],
        [[f"{size:,} entities", spread([r.wall_seconds for r in runs]),
          f"{median([r.cpu_seconds for r in runs]):.2f}", f"{max(r.peak_tree_rss_mib for r in runs):.0f}"]
         for size, runs in ((small, cost.small), (large, cost.large))],
    )
    return [
        f"One-asset run, `dagster asset materialize --select {RUN_ENTITY}` (the whole command: the CLI's "
        f"code-location load and the run, whose one step runs in the CLI's process), {len(cost.small)} paired rounds:",
        "",
        table,
        "",
        f"- the {large:,}-entity project costs {spread(cost.extra)} s more per run (paired differences)",
    ]


def goal_lines(results: list[SizeResult], run_cost: RunCost | None) -> list[str]:
    """One PASS/FAIL line per goal, or a line saying what was not measured."""
    by_size = {r.entities: r for r in results}
    lines = []
    for size, goal in LOAD_GOALS.items():
        if size not in by_size:
            lines.append(f"- not measured: {size:,} entities in under {goal:g} s (needs --sizes ... {size})")
            continue
        seconds = median(by_size[size].wall)
        lines.append(f"- **{_verdict(seconds < goal)}**: {size:,} entities load in {seconds:.2f} s "
                     f"(goal: under {goal:g} s, the whole fresh process)")
    largest = results[-1] if results else None
    if LINEAR_SIZE in by_size and largest is not None and largest.entities > LINEAR_SIZE:
        base = by_size[LINEAR_SIZE]
        growth = (largest.load / largest.entities) / (base.load / base.entities)
        lines.append(
            f"- **{_verdict(growth <= LINEAR_TOLERANCE)}**: linear growth: build+validate "
            f"{base.load / base.entities * 1000:.2f} ms per entity at {base.entities:,}, "
            f"{largest.load / largest.entities * 1000:.2f} ms at {largest.entities:,} "
            f"(x{growth:.2f}; goal: at most x{LINEAR_TOLERANCE:g})")
    else:
        lines.append(f"- not measured: linear growth (needs {LINEAR_SIZE:,} and a larger size)")
    small, large = RUN_SIZES
    if run_cost is None:
        lines.append("- not measured: the one-asset run (left out with --skip-run)")
    elif large not in by_size:
        lines.append(f"- not measured: the one-asset run against the load (needs --sizes ... {large})")
    else:
        extra, allowed = median(run_cost.extra), by_size[large].load
        lines.append(
            f"- **{_verdict(extra <= allowed)}**: a one-asset run in the {large:,}-entity project takes "
            f"{median([r.wall_seconds for r in run_cost.large]):.2f} s, {extra:.2f} s more than in the "
            f"{small:,}-entity one ({median([r.wall_seconds for r in run_cost.small]):.2f} s); goal: at most "
            f"the load's build+validate, {allowed:.2f} s")
    return lines


def _verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def run(sizes: list[int], runs: int, run_rounds: int = DEFAULT_RUN_ROUNDS) -> str:
    """The report; `run_rounds=0` leaves the one-asset run out."""
    started = os.getloadavg()[0]
    results = measure(sorted(sizes), runs)
    run_cost = measure_run_cost(run_rounds) if run_rounds > 0 else None
    return report(results, runs, run_cost, (started, os.getloadavg()[0]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--runs", type=int, default=3, help="fresh-process loads per size (median)")
    parser.add_argument("--run-rounds", type=int, default=DEFAULT_RUN_ROUNDS,
                        help="paired one-asset runs, 10 and 1,000 entities")
    parser.add_argument("--skip-run", action="store_true", help="measure the loads only")
    args = parser.parse_args()
    print(run(args.sizes, args.runs, 0 if args.skip_run else args.run_rounds))


if __name__ == "__main__":
    main()
