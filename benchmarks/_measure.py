"""Run a command and write its wall time, peak RSS and exit status as JSON to a file.

    python -S _measure.py REPORT_FILE PROGRAM [ARGS...]

Why a wrapper: Linux carries a process's peak RSS across fork and exec, so a child spawned directly
by the benchmark would report at least the benchmark's own footprint (which holds pyarrow and the
generated data). Spawned from this small, stdlib-only interpreter instead, the figure is the
command's own. Wall time is measured here, around the command alone.
"""

import json
import os
import sys
import time


def main() -> None:
    report_file, argv = sys.argv[1], sys.argv[2:]
    started = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, dict(os.environ))
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    with open(report_file, "w") as report:
        json.dump({
            "wall_seconds": wall,
            "peak_rss_kib": usage.ru_maxrss,  # KiB on Linux
            "exit_status": os.waitstatus_to_exitcode(status),
        }, report)


if __name__ == "__main__":
    main()
