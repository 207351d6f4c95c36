"""Run a command and write its wall time, peak RSS and exit status as JSON to a file.

    python -S _measure.py REPORT_FILE PROGRAM [ARGS...]

Why a wrapper: Linux carries a process's peak RSS across fork and exec, so a child spawned directly
by the benchmark would report at least the benchmark's own footprint (which holds pyarrow and the
generated data). Spawned from this small, stdlib-only interpreter instead, the figure is the
command's own. Wall time is measured here, around the command alone.

Two memory figures: `peak_rss_kib` is the largest single process of the command's tree (the
kernel's rusage, exact), `peak_tree_rss_kib` the largest sum over the whole tree at one moment,
sampled from /proc every 50 ms (a CLI that runs its work in child processes, like
`dagster asset materialize`, holds both at once). The RSS sum counts every page shared by several
processes once per process: a step forked from Dagster's forkserver shares the code location's pages
with it. `peak_tree_pss_kib` is the same peak in proportional set size (a shared page split among the
processes that map it, from /proc/<pid>/smaps_rollup): the memory the tree takes from the machine.
"""

import json
import os
import sys
import threading
import time

SAMPLE_SECONDS = 0.05  # one /proc scan takes ~0.5 ms: under 1% of a core
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def _processes() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, resident KiB) of every process, from /proc/<pid>/stat."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                text = stat.read()
        except OSError:  # exited while we looked
            continue
        fields = text[text.rindex(b")") + 2:].split()  # after the command name, which may hold spaces
        found[int(entry)] = (int(fields[1]), int(fields[21]) * PAGE_KIB)
    return found


def _tree(root: int) -> list[tuple[int, int]]:
    """(pid, resident KiB) of `root` and its descendants."""
    processes = _processes()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append((pid, processes.get(pid, (0, 0))[1]))
        pending.extend(children.get(pid, []))
    return found


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as rollup:
            for line in rollup:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except OSError:  # exited while we looked
        pass
    return 0


def _sample_tree(root: int, done: threading.Event, peak: list[int]) -> None:
    """peak[0]: the largest RSS sum seen, peak[1]: the largest PSS sum."""
    while not done.wait(SAMPLE_SECONDS):
        tree = _tree(root)
        peak[0] = max(peak[0], sum(rss for _, rss in tree))
        peak[1] = max(peak[1], sum(_pss_kib(pid) for pid, _ in tree))


def main() -> None:
    report_file, argv = sys.argv[1], sys.argv[2:]
    started = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, dict(os.environ))
    done, tree_peak = threading.Event(), [0, 0]
    sampler = threading.Thread(target=_sample_tree, args=(pid, done, tree_peak), daemon=True)
    sampler.start()
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    with open(report_file, "w") as report:
        json.dump({
            "wall_seconds": wall,
            "peak_rss_kib": usage.ru_maxrss,  # KiB on Linux; the largest process, descendants included
            "peak_tree_rss_kib": max(tree_peak[0], usage.ru_maxrss),  # a sample can miss a short peak
            "peak_tree_pss_kib": tree_peak[1],
            "cpu_seconds": usage.ru_utime + usage.ru_stime,  # user + system, descendants included
            "exit_status": os.waitstatus_to_exitcode(status),
        }, report)


if __name__ == "__main__":
    main()
