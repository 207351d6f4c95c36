"""Connection limits as Dagster concurrency pools.

A connection's `pool_size` bounds how many entity steps read that database at once. Within one run
the executor enforces it through a tag limit, with no set-up. Across runs Dagster's pool limits live
in the instance, so `python -m ingest_assets.defs.pools` writes them there (as `dagster instance
concurrency set <pool> <limit>` would, one by one); `make demo` and `make ui` run it.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import dagster as dg

from ingest_assets.plan.load import load_plan
from ingest_assets.plan.project import ProjectPlan

POOL_TAG = "ingest/connection"


def pool_limits(project: ProjectPlan) -> dict[str, int]:
    """Pool name (the connection's name) -> its limit, for connections with a `pool_size`."""
    return {c.name: c.pool_size for c in project.connections if c.pool_size}


def apply_pool_limits(instance: dg.DagsterInstance, limits: dict[str, int]) -> None:
    for pool, limit in limits.items():
        # The same storage call the `dagster instance concurrency set` command makes.
        instance.event_log_storage.set_concurrency_slots(pool, limit)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write each connection's pool_size as a Dagster pool limit.")
    parser.add_argument("flows_dir", nargs="?", default=os.environ.get("INGEST_FLOWS_DIR", "flows"))
    arguments = parser.parse_args(argv)
    limits = pool_limits(load_plan(Path(arguments.flows_dir)))
    with dg.DagsterInstance.get() as instance:
        apply_pool_limits(instance, limits)
    for pool, limit in limits.items():
        print(f"pool {pool}: at most {limit} at once")
    if not limits:
        print("no connection sets pool_size: nothing to do")


if __name__ == "__main__":
    main()
