"""The project's executor: the multiprocess executor, bounded by `options.concurrency` and the
connections' limits (a tag limit per connection within one run).

Steps start from a forkserver that has imported the code location's module once (Dagster preloads
the job's module), so a step forks ready instead of spawning an interpreter that imports Dagster and
loads the definitions again.
"""

from __future__ import annotations

import dagster as dg

from ingest_assets.connectors import registry
from ingest_assets.defs.pools import POOL_TAG, pool_limits
from ingest_assets.defs.publish_step import STEP_TAG
from ingest_assets.plan.project import ProjectPlan


def project_executor(project: ProjectPlan) -> dg.ExecutorDefinition:
    limits = [{"key": POOL_TAG, "value": name, "limit": size} for name, size in pool_limits(project).items()]
    steps = project.concurrency
    if any(registry.connector(entity.store.type).publish_step for entity in project.entities):
        # `concurrency` bounds extraction; publish steps (which may wait minutes for Fabric) get as
        # many slots again, so waiting never stops other entities from extracting.
        limits += [{"key": STEP_TAG, "value": kind, "limit": project.concurrency} for kind in ("extract", "publish")]
        steps = 2 * project.concurrency
    return dg.multiprocess_executor.configured({"max_concurrent": steps, "tag_concurrency_limits": limits,
                                                "start_method": {"forkserver": {}}})
