"""The DuckDB sessions that run users' SQL (derived assets, SQL transforms): bounded and able to spill.

DuckDB's own default limit is 80% of the machine's memory per session, and an in-memory session has
nowhere to spill: a query that misjudges its inputs (a join planned for a small table that is large)
takes the machine. Each session gets `options.query_memory_limit` (default a quarter of the machine)
and a folder to spill to, so a query larger than memory runs more slowly instead.
"""

from __future__ import annotations

import os
from pathlib import Path


def session_config(spill: Path, memory_limit: str) -> dict[str, str | bool | int | float | list[str]]:
    """DuckDB config: `memory_limit` (a size DuckDB reads, or a share of the machine: "25%") and `spill`
    as its temp directory."""
    if memory_limit.endswith("%"):
        memory_limit = f"{int(_physical_mib() * float(memory_limit[:-1]) / 100)}MiB"
    return {"memory_limit": memory_limit, "temp_directory": str(spill)}


def _physical_mib() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
