"""Run a command and write its wall time, peak RSS and exit status as JSON to a file.

    python -S _measure.py REPORT_FILE PROGRAM [ARGS...]

Why a wrapper: Linux carries a process's peak RSS across fork and exec, so a child spawned directly
by the benchmark would report at least the benchmark's own footprint (which holds pyarrow and the
generated data). Spawned from this small, stdlib-only interpreter instead, the figure is the
command's own. Wall time is measured here, around the command alone.

Two memory figures: `peak_rss_kib` is the largest single process of the command's tree (the
kernel's rusage, exact), `peak_tree_rss_kib` the largest sum over the whole tree at one moment,
sampled from /proc every 50 ms (a CLI that runs its work in child processes, like
`dagster asset materialize`, holds both at once).
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


def _tree_rss_kib(root: int) -> int:
    processes = _processes()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        total += processes.get(pid, (0, 0))[1]
        pending.extend(children.get(pid, []))
    return total


def _sample_tree(root: int, done: threading.Event, peak: list[int]) -> None:
    while not done.wait(SAMPLE_SECONDS):
        peak[0] = max(peak[0], _tree_rss_kib(root))


def main() -> None:
    report_file, argv = sys.argv[1], sys.argv[2:]
    started = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, dict(os.environ))
    done, tree_peak = threading.Event(), [0]
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
            "cpu_seconds": usage.ru_utime + usage.ru_stime,  # user + system, descendants included
            "exit_status": os.waitstatus_to_exitcode(status),
        }, report)


if __name__ == "__main__":
    main()
