"""The project a run was planned with, and the refusal of a step that resolved another one.

A run is planned by the process that launches it (the CLI, the webserver's code server, the daemon)
and its steps run in processes that load the code location again, possibly elsewhere (Celery workers,
containers) with other variables. If a step's process selects another environment (`INGEST_ENV`) or
reads other YAML, it would write with settings nobody launched. So every step carries the identity of
the project it was built from (op tags `ingest/env`, `ingest/flows_dir`, `ingest/project_fingerprint`),
and before it touches anything it compares its own with the run's:

- the run's tags, when the run was created with them (the project's jobs, their schedules and sensors);
- otherwise the tags of the same step in the run's execution plan, which the launching process
  stored when it created the run (a run of the implicit asset job: the CLI, the UI's Materialize);
  those become the run's tags then, so every run shows the project it was planned with.

Environment and fingerprint must agree; `ingest/flows_dir` (relative to the working directory, or
the folder's name) only says where the project was read, and differs harmlessly between machines.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from ingest_assets.errors import TerminalError
from ingest_assets.plan.project import ProjectPlan

ENV_TAG = "ingest/env"
FLOWS_DIR_TAG = "ingest/flows_dir"
FINGERPRINT_TAG = "ingest/project_fingerprint"
TAGS = (ENV_TAG, FLOWS_DIR_TAG, FINGERPRINT_TAG)


@dataclass(frozen=True)
class ProjectIdentity:
    environment: str  # "" when the project selects none
    flows_dir: str
    fingerprint: str

    def tags(self) -> dict[str, str]:
        return {ENV_TAG: self.environment, FLOWS_DIR_TAG: self.flows_dir, FINGERPRINT_TAG: self.fingerprint}

    @classmethod
    def from_tags(cls, tags: object) -> ProjectIdentity | None:
        if not isinstance(tags, Mapping) or FINGERPRINT_TAG not in tags:
            return None
        return cls(str(tags.get(ENV_TAG, "")), str(tags.get(FLOWS_DIR_TAG, "")), str(tags[FINGERPRINT_TAG]))

    def describe(self) -> str:
        return f"environment {self.environment or '(none)'}, {self.flows_dir}, fingerprint {self.fingerprint}"

    def same_project(self, other: ProjectIdentity) -> bool:
        return (self.environment, self.fingerprint) == (other.environment, other.fingerprint)


class ProjectMismatch(TerminalError):
    """The step's process resolved another project than the one the run was planned with."""

    def __init__(self, *, run: ProjectIdentity, step: ProjectIdentity, step_key: str) -> None:
        self.run, self.step, self.step_key = run, step, step_key
        super().__init__(
            f"step {step_key} resolved another project than its run: the run was planned with {run.describe()}, "
            f"this step's process resolved {step.describe()} -> start the workers with the launcher's "
            f"INGEST_ENV ({run.environment or 'unset'}) and the same flows/ files; nothing was read or written"
        )


def project_identity(project: ProjectPlan, flows_dir: Path) -> ProjectIdentity:
    """The project as resolved by this process: environment, where it was read, and a stable hash of it."""
    data = {
        "entities": sorted([entity.label, entity.code_version()] for entity in project.entities),
        "derived": sorted([derived.label, derived.code_version()] for derived in project.derived),
        "connections": sorted([connection.name, connection.type, connection.settings.model_dump(mode="json")]
                              for connection in project.connections),
    }
    fingerprint = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return ProjectIdentity(project.environment or "", _relative(flows_dir), fingerprint)


def _relative(flows_dir: Path) -> str:
    """The flows folder relative to the working directory, or its own name: never a machine path."""
    resolved = flows_dir.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix() or "."
    except ValueError:
        return resolved.name


def check_step_project(context: dg.AssetExecutionContext | dg.OpExecutionContext, step: ProjectIdentity) -> None:
    """Fail the step at once, before any read, if the run was planned with another project."""
    run = context.run
    planned = ProjectIdentity.from_tags(run.tags)
    if planned is None:
        # Created without the tags: the launcher's plan says, once; a step after the first reads the tags
        # the first recorded (the run this process loaded at its start may predate them).
        latest = context.instance.get_run_by_id(run.run_id)
        planned = ProjectIdentity.from_tags(latest.tags if latest else {})
    if planned is None:
        planned = _planned_step_identity(context) or step
        context.instance.add_run_tags(run.run_id, planned.tags())
    if not planned.same_project(step):
        error = ProjectMismatch(run=planned, step=step, step_key=_step_key(context))
        raise dg.Failure(description=str(error), allow_retries=False,
                         metadata={"run_project": planned.describe(), "step_project": step.describe()}) from error


def _step_key(context: dg.AssetExecutionContext | dg.OpExecutionContext) -> str:
    op_context = context.op_execution_context if isinstance(context, dg.AssetExecutionContext) else context
    return op_context.get_step_execution_context().step.key


def _planned_step_identity(context: dg.AssetExecutionContext | dg.OpExecutionContext) -> ProjectIdentity | None:
    """The identity the launching process gave this step, from the execution plan it stored with the run."""
    snapshot_id = context.run.execution_plan_snapshot_id
    if snapshot_id is None:
        return None
    snapshot = context.instance.get_execution_plan_snapshot(snapshot_id)
    key = _step_key(context)
    for step in snapshot.steps:
        if step.key == key:
            return ProjectIdentity.from_tags(step.tags or {})
    return None

