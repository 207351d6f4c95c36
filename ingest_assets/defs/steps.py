"""Which entities share a step.

A step costs a process, a code-location load and its own events: paid once per table, that is most
of the time of a small table. So the entities of one flow that read one connection and write one
share a step, up to `options.entities_per_step` of them (in the order they are declared), and load
on threads inside it (`runtime/batch.py`). An entity keeps a step of its own when Dagster needs one:
a partitioned entity (its runs are per partition), a store that publishes in a second step, or an
entity alone in its group (its step keeps the entity's name, `<flow>__<entity>`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ingest_assets.connectors import registry
from ingest_assets.plan.model import EntityPlan
from ingest_assets.plan.project import ProjectPlan


@dataclass(frozen=True)
class SharedStep:
    """Entities that load in one step, and how many of them load at once."""

    name: str
    entities: tuple[EntityPlan, ...]
    threads: int


def _shares_steps(entity: EntityPlan) -> bool:
    return not entity.partitioned and not registry.connector(entity.store.type).publish_step


def _threads(project: ProjectPlan, entities: Sequence[EntityPlan]) -> int:
    """Entities of the step at once: the project's concurrency, within the home's pool and what the store allows."""
    first = entities[0]
    if not registry.connector(first.store.type).threaded_writes:
        return 1
    pool_size = first.home.pool_size or project.concurrency
    return max(1, min(project.concurrency, pool_size, len(entities)))


def plan_steps(project: ProjectPlan) -> tuple[list[EntityPlan], list[SharedStep]]:
    """The entities with a step of their own, and the shared steps of the others."""
    groups: dict[tuple[str, str, str], list[EntityPlan]] = {}
    alone: list[EntityPlan] = []
    for entity in project.entities:
        if _shares_steps(entity) and project.entities_per_step > 1:
            groups.setdefault((entity.flow, entity.home.name, entity.store.name), []).append(entity)
        else:
            alone.append(entity)
    shared = []
    for (flow, home, store), members in groups.items():
        if len(members) == 1:
            alone.extend(members)
            continue
        size = project.entities_per_step
        chunks = [members[start:start + size] for start in range(0, len(members), size)]
        for number, chunk in enumerate(chunks, start=1):
            name = f"{flow}__{home}_to_{store}" + (f"_{number}" if len(chunks) > 1 else "")
            shared.append(SharedStep(name, tuple(chunk), _threads(project, chunk)))
    return alone, shared
