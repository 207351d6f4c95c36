"""The `multiprocess` executor of a project: Dagster's, without the step processes a run does not need.

A step process costs, before any row moves, a forkserver's start, the import of the code location
(which builds the definitions again) and of the modules a load needs (pyarrow, SQLAlchemy, the
drivers): about 1.5 s on 2 cores, as much as a shared step's work for 15 small tables. So:

- A run whose steps can only run one after another (one step: a flow's entities in one shared step,
  one entity, one partition; or a chain: a mirrored entity's extract step and its publish step) runs
  them in the run's own process, on Dagster's in-process executor: there is nothing for a second
  process to run beside them. Pools, retries and the run's events are the in-process executor's own.
- A run of several steps forks each from a forkserver that has imported the code location's module
  and the project's home and store modules once, so a step starts with the definitions built.
  Dagster preloads only its executor's module when the config names no modules (its docs promise
  the job's module; its config parsing turns "none named" into an empty list).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import dagster as dg
from dagster._core.execution.context.system import PlanOrchestrationContext
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._core.execution.retries import RetryMode
from dagster._core.execution.step_dependency_config import StepDependencyConfig
from dagster._core.executor.in_process import InProcessExecutor

from ingest_assets.connectors import registry
from ingest_assets.plan.project import ProjectPlan
from ingest_assets.runtime.dead_runs import record_run_worker

# Imported by every load, whatever its home and store (staging, the batch runner, the report).
RUNTIME_MODULES = ("ingest_assets.runtime.batch", "ingest_assets.stores.staging")


def runtime_modules(project: ProjectPlan) -> list[str]:
    """The modules a step of `project` imports before it moves a row: the runtime's, then its homes' and stores'."""
    types = [registry.connector(connection.type) for connection in project.connections]
    factories = [factory for kind in types for factory in (kind.home, kind.store) if factory is not None]
    return list(dict.fromkeys([*RUNTIME_MODULES, *(factory.partition(":")[0] for factory in factories)]))


class OneStepInProcess(dg.Executor):
    """Dagster's multiprocess executor for runs of steps that can run side by side, its in-process
    executor for one step or a chain."""

    def __init__(self, multiprocess: dg.Executor) -> None:
        self._multiprocess = multiprocess
        self._in_process = InProcessExecutor(retries=multiprocess.retries,
                                             step_dependency_config=multiprocess.step_dependency_config)

    @property
    def retries(self) -> RetryMode:
        return self._multiprocess.retries

    @property
    def step_dependency_config(self) -> StepDependencyConfig:
        return self._multiprocess.step_dependency_config

    def execute(self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan
                ) -> Iterator[dg.DagsterEvent]:
        # This is the run's worker process: recorded, so that the next run can tell if it died.
        record_run_worker(plan_context.instance, plan_context.dagster_run)
        # Each level of the plan holds the steps whose inputs the levels before produce: one step
        # per level is a chain, in which no two steps can ever run at once.
        sequential = all(len(level) == 1 for level in execution_plan.get_steps_to_execute_by_level())
        return (self._in_process if sequential else self._multiprocess).execute(plan_context, execution_plan)


def forkserver_modules(code_location: str | None, configured: Sequence[str]) -> list[str]:
    """The modules the forkserver imports: the code location's module (when the job was loaded from one) first."""
    return list(dict.fromkeys([*([code_location] if code_location else []), *configured]))


@dg.executor(
    name="multiprocess",
    config_schema=dg.multiprocess_executor.config_schema.as_field(),
    requirements=dg.multiple_process_executor_requirements(),
)
def multiprocess_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    """Dagster's multiprocess executor (same config), one-step runs in process, a preloaded forkserver."""
    config = dict(init_context.executor_config)
    start_method = config.get("start_method")
    if isinstance(start_method, dict) and "forkserver" in start_method:
        # A reconstructable job knows the module it was loaded from; an in-memory one does not.
        get_module: Callable[[], str | None] | None = getattr(init_context.job, "get_module", None)
        configured = start_method["forkserver"].get("preload_modules") or []
        preload = forkserver_modules(get_module() if get_module is not None else None, configured)
        config["start_method"] = {"forkserver": {"preload_modules": preload}}
    create = dg.multiprocess_executor.executor_creation_fn
    assert create is not None, "Dagster's multiprocess executor is built from its config"
    multiprocess = create(dg.InitExecutorContext(
        job=init_context.job, executor_def=dg.multiprocess_executor, executor_config=config,
        instance=init_context.instance,
    ))
    return OneStepInProcess(multiprocess)
