"""The DuckDB sessions that run users' SQL (derived assets, SQL transforms): bounded and able to spill.

DuckDB's own default limit is 80% of the machine's memory per session, and an in-memory session has
nowhere to spill: a query that misjudges its inputs (a join planned for a small table that is large)
takes the machine. Each session gets a quarter of it and a folder to spill to, so a query larger than
memory runs more slowly instead.
"""

from __future__ import annotations

import os
from pathlib import Path

MEMORY_FRACTION = 0.25  # of the machine's physical memory, per session


def session_config(spill: Path) -> dict[str, str | bool | int | float | list[str]]:
    """DuckDB config: the memory limit and `spill` as its temp directory."""
    return {"memory_limit": f"{int(_physical_mib() * MEMORY_FRACTION)}MiB", "temp_directory": str(spill)}


def _physical_mib() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
