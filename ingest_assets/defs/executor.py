"""The project's executor, as `options.executor` in ingest.yml says (per environment like every option).

- `multiprocess` (the default): a process per step on this machine, at most `options.concurrency` at
  once, bounded by the connections' limits (a tag limit per connection within one run). Steps fork
  from a forkserver that has imported the code location and the project's homes and stores once; a
  run of one step runs it in its own process (see `multiprocess.py`).
- `in_process`: every step in the run's own process, one after another (`options.concurrency` still
  bounds the entities a shared step loads at once). For debugging, and for machines where forking
  a process per step costs more than it gives.
- `celery`: each step a Celery task, run by `dagster-celery worker` processes on any machine
  (`pip install 'ingest_assets[celery]'`). The executor takes no step limit of its own: how many
  steps run at once is the workers' (their `--concurrency`), and a connection's `pool_size` holds
  through Dagster's concurrency pools in the instance (`python -m ingest_assets.defs.pools`), which
  the Celery executor claims before it submits a step. Broker and backend are Dagster's run config
  (`execution: {config: {broker: ..., backend: ...}}`) or dagster-celery's defaults.

A user who builds their own Definitions replaces all of this with `build_definitions(executor=...)`.
"""

from __future__ import annotations

import dagster as dg

from ingest_assets.connectors import registry
from ingest_assets.defs.multiprocess import multiprocess_executor, runtime_modules
from ingest_assets.defs.pools import POOL_TAG, pool_limits
from ingest_assets.defs.publish_step import STEP_TAG
from ingest_assets.errors import IngestError
from ingest_assets.plan.project import ProjectPlan


class ExecutorUnavailable(IngestError):
    """`options.executor` names an executor whose package is not installed."""

    def __init__(self, *, executor: str, package: str, extra: str, environment: str | None) -> None:
        self.executor, self.package, self.extra, self.environment = executor, package, extra, environment
        where = f" (environment {environment})" if environment else ""
        super().__init__(
            f"ingest.yml: options.executor is {executor!r}{where}, which needs {package}, not installed "
            f"-> pip install 'ingest_assets[{extra}]', or set options.executor to multiprocess or in_process"
        )


def project_executor(project: ProjectPlan) -> dg.ExecutorDefinition:
    if project.executor == "in_process":
        return dg.in_process_executor
    if project.executor == "celery":
        return _celery_executor(project)
    return _multiprocess_executor(project)


def _multiprocess_executor(project: ProjectPlan) -> dg.ExecutorDefinition:
    limits = [{"key": POOL_TAG, "value": name, "limit": size} for name, size in pool_limits(project).items()]
    steps = project.concurrency
    if any(registry.connector(entity.store.type).publish_step for entity in project.entities):
        # `concurrency` bounds extraction; publish steps (which may wait minutes for Fabric) get as
        # many slots again, so waiting never stops other entities from extracting.
        limits += [{"key": STEP_TAG, "value": kind, "limit": project.concurrency} for kind in ("extract", "publish")]
        steps = 2 * project.concurrency
    return multiprocess_executor.configured({
        "max_concurrent": steps, "tag_concurrency_limits": limits,
        "start_method": {"forkserver": {"preload_modules": runtime_modules(project)}},
    })


def _celery_executor(project: ProjectPlan) -> dg.ExecutorDefinition:
    try:
        from dagster_celery import celery_executor
    except ImportError as error:
        raise ExecutorUnavailable(executor="celery", package="dagster-celery", extra="celery",
                                  environment=project.environment) from error
    return celery_executor
