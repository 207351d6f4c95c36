"""Shared helpers: child processes measured by wall time and peak RSS, the machine, markdown tables,
the PostgreSQL server the database benchmarks share, and Dagster's timing of a run's step.

Every measurement runs in a fresh child process so that imports, interpreter start-up and the whole
memory footprint are counted, the way a user (or a Dagster run worker) experiences them.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
WORK_DIR = BENCH_DIR / ".work"  # git-ignored: generated projects, data, outputs, child logs
WORKLOADS = BENCH_DIR / "_workloads.py"
MEASURE = BENCH_DIR / "_measure.py"
PYTHON = sys.executable

# Variables that would change what a child loads (another project, environment or flows folder).
_ISOLATED_VARIABLES = ("INGEST_ENV", "INGEST_FLOWS_DIR")


@dataclass(frozen=True)
class ChildResult:
    wall_seconds: float  # interpreter start-up to exit of the workload process
    peak_rss_mib: float  # the largest resident set of one process (of the child or its descendants)
    report: dict[str, Any]  # what the workload wrote to its result file (phase timings, counts)
    peak_tree_rss_mib: float = 0.0  # the largest sum over the child and its descendants (sampled)
    cpu_seconds: float = 0.0  # user + system CPU of the child and its descendants
    peak_tree_pss_mib: float = 0.0  # the largest sum of proportional set sizes (shared pages split once)


class ChildFailed(RuntimeError):
    pass


def run_workload(name: str, args: list[str], label: str, timeout_seconds: float = 900,
                 env: dict[str, str] | None = None) -> ChildResult:
    """Run `_workloads.py <name> <args>` in a fresh interpreter; raise ChildFailed with its log tail."""
    result_file = WORK_DIR / "logs" / f"{label}.json"
    result_file.unlink(missing_ok=True)
    argv = [PYTHON, str(WORKLOADS), name, "--result", str(result_file), *args]
    measured = run_command(argv, label, env=env, timeout_seconds=timeout_seconds)
    if not result_file.exists():
        raise ChildFailed(f"{label}: no result file; last lines of its log:\n{_log_tail(label)}")
    return replace(measured, report=json.loads(result_file.read_text()))


def run_command(argv: list[str], label: str, env: dict[str, str] | None = None, cwd: Path = REPO_ROOT,
                timeout_seconds: float = 900) -> ChildResult:
    """Run any program (absolute path first) measured; `env` is added to the isolated environment."""
    logs = WORK_DIR / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    measure_file = logs / f"{label}.measure.json"
    measure_file.unlink(missing_ok=True)
    _run_measured(argv, measure_file, logs / f"{label}.log", timeout_seconds, env or {}, cwd)
    measured = json.loads(measure_file.read_text()) if measure_file.exists() else {"exit_status": "none"}
    if measured["exit_status"] != 0:
        raise ChildFailed(f"{label}: exit status {measured['exit_status']}; last lines of its log:\n"
                          f"{_log_tail(label)}")
    return ChildResult(measured["wall_seconds"], measured["peak_rss_kib"] / 1024, {},
                       measured["peak_tree_rss_kib"] / 1024, measured["cpu_seconds"],
                       measured.get("peak_tree_pss_kib", 0) / 1024)


def _log_tail(label: str, lines: int = 25) -> str:
    log_file = WORK_DIR / "logs" / f"{label}.log"
    return f"{log_file}:\n" + "\n".join(log_file.read_text(errors="replace").splitlines()[-lines:])


@cache
def _compile_package_bytecode() -> None:
    """Compile ingest_assets' bytecode once, as `pip install` of the package does.

    `make install` installs it editable, and where PYTHONDONTWRITEBYTECODE is set (CI, this machine's
    shell) Python never writes the .pyc files: every measured process would compile the package's
    sources again, a cost no installed copy pays.
    """
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(REPO_ROOT / "ingest_assets")], check=True,
                   env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"})


def _run_measured(argv: list[str], measure_file: Path, log_file: Path, timeout_seconds: float,
                  extra_env: dict[str, str], cwd: Path) -> None:
    """Run argv under the `_measure.py` wrapper (see there why), killing it all after the timeout."""
    _compile_package_bytecode()
    env = {k: v for k, v in os.environ.items() if k not in _ISOLATED_VARIABLES} | extra_env
    wrapper = [PYTHON, "-S", str(MEASURE), str(measure_file), *argv]  # -S: stdlib only, a tiny footprint
    with log_file.open("wb") as log:
        process = subprocess.Popen(wrapper, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, env=env,
                                   start_new_session=True)
        try:
            process.wait(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the session holds the wrapper and the workload
            process.wait()


def median(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float], digits: int = 2) -> str:
    """'median (min–max)' or just the value for a single run."""
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{median(values):.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def log(message: str) -> None:
    """Progress goes to stderr so that stdout carries only the markdown report."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---- the machine ----------------------------------------------------------------------------------


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return float("nan")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def package_version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _package_commit() -> str:
    """The commit measured, flagged when the package has uncommitted changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "ingest_assets", "pyproject.toml")
    return f"{commit} (uncommitted changes in the package)" if dirty else commit


def machine_lines() -> list[str]:
    """The machine, system and versions, without the date (for a section that is replaced in place)."""
    cpus = len(os.sched_getaffinity(0))  # what `nproc` prints
    versions = ", ".join(f"{p} {package_version(p)}" for p in ("dagster", "polars", "pyarrow", "duckdb"))
    return [
        f"- machine: nproc {cpus}, RAM {_memory_gib():.1f} GiB, CPU {_cpu_model()}",
        f"- system: {platform.platform()}, Python {platform.python_version()}",
        f"- versions: {versions}, ingest_assets {package_version('ingest_assets')} at commit {_package_commit()}",
    ]


def machine_summary() -> str:
    return "\n".join([f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", *machine_lines()])


def replace_section(path: Path, markdown: str) -> None:
    """Put `markdown` (starting with its `## ` title) in place of the section of that title, or append it."""
    title = markdown.splitlines()[0]
    lines = path.read_text().splitlines() if path.exists() else []
    if title in lines:
        start = lines.index(title)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        lines[start:end] = markdown.rstrip("\n").splitlines() + ([""] if end < len(lines) else [])
    else:
        lines += ([""] if lines else []) + markdown.rstrip("\n").splitlines()
    path.write_text("\n".join(lines) + "\n")


# ---- a PostgreSQL server on a kept data folder ------------------------------------------------


@contextmanager
def cached_server(root: Path):
    """The tests' server class on a kept data folder below `root` (the test helper deletes its own)."""
    runtime = root / "runtime"
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))  # platformdirs (in pgserver) wants one
    sys.path.insert(0, str(REPO_ROOT))  # ingest_assets_tests is not installed
    import pgserver

    from ingest_assets_tests.servers.postgres import PostgresServer

    server = pgserver.get_server(root / "pgdata", cleanup_mode="stop")
    try:
        yield PostgresServer(socket_dir=str(server.get_postmaster_info().socket_dir))
    finally:
        server.cleanup()


def server_version(server) -> str:
    return str(server.execute("postgres", "SHOW server_version")[0][0])


# ---- Dagster's own timing of a run's step --------------------------------------------------------


@dataclass(frozen=True)
class StepTimes:
    step_seconds: float | None  # Dagster's STEP_SUCCESS duration: the step process's work, no CLI
    ingest_seconds: float | None  # the materialization's `ingest/duration_seconds`: read to commit


def _find_key(value: object, key: str) -> object | None:
    """The value of metadata entry `key` anywhere in a serialized Dagster event (a list of labelled entries)."""
    if isinstance(value, dict):
        if value.get("label") == key and isinstance(value.get("entry_data"), dict):
            return value["entry_data"].get("value")
        children: list[object] = list(value.values())
    elif isinstance(value, list):
        children = value
    else:
        return None
    for child in children:
        found = _find_key(child, key)
        if found is not None:
            return found
    return None


def last_step_times(home: Path) -> StepTimes:
    """The latest run's step and ingest durations, read from the instance's event log (sqlite)."""
    history = home / ".dagster" / "storage" / "history"  # the repository's dagster.yaml layout
    try:
        with closing(sqlite3.connect(history / "runs.db")) as runs:
            run_id = runs.execute("SELECT run_id FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0]
        with closing(sqlite3.connect(history / "runs" / f"{run_id}.db")) as events:
            rows = events.execute("SELECT dagster_event_type, event FROM event_logs WHERE dagster_event_type IN "
                                  "('STEP_SUCCESS', 'ASSET_MATERIALIZATION')").fetchall()
    except (sqlite3.Error, TypeError):
        return StepTimes(None, None)
    step = ingest = None
    for kind, event in rows:
        body = json.loads(event)
        if kind == "STEP_SUCCESS":
            step = body["dagster_event"]["event_specific_data"]["duration_ms"] / 1000
        else:
            found = _find_key(body, "ingest/duration_seconds")
            ingest = float(found) if found is not None else None
    return StepTimes(step, ingest)
