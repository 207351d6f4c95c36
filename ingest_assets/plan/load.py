"""`load_plan`: from YAML files to a validated, frozen `ProjectPlan` (or one `ConfigError` listing every problem)."""

from __future__ import annotations

from pathlib import Path

from ingest_assets.config.loader import load_project
from ingest_assets.errors import ConfigError
from ingest_assets.plan.build import build_project_plan
from ingest_assets.plan.build_derived import plan_derived
from ingest_assets.plan.project import ProjectPlan


def load_plan(flows_dir: Path | str, environment: str | None = None) -> ProjectPlan:
    """Load, validate and plan a project; nothing runs on an invalid project."""
    project, problems = load_project(Path(flows_dir), environment)
    if project is None:
        raise ConfigError(problems)
    plan, plan_problems = build_project_plan(project)
    problems.extend(plan_problems)
    plan, derived_problems = plan_derived(project, plan)
    problems.extend(derived_problems)
    if problems:
        raise ConfigError(problems)
    return plan
