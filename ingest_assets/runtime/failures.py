"""How a failed load ends its step: a transient error retries it, any other names the entity and stops."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeAlias

import dagster as dg

from ingest_assets.errors import IngestError, TransientError
from ingest_assets.plan.model import EntityPlan

RETRY_WAIT_SECONDS = 10

# The step that loads an entity: an asset's (one step), or the extract or publish op of a two-step asset.
StepContext: TypeAlias = dg.AssetExecutionContext | dg.OpExecutionContext


@contextmanager
def ingest_errors(context: StepContext, plan: EntityPlan, retries: int) -> Iterator[None]:
    """Transient errors retry the step (Dagster's RetryRequested); the others fail it with the entity named."""
    try:
        yield
    except TransientError as error:
        context.log.warning(f"{plan.label}: {error}")
        raise dg.RetryRequested(max_retries=retries, seconds_to_wait=RETRY_WAIT_SECONDS) from error
    except IngestError as error:
        raise dg.Failure(description=describe_failure(plan, error), metadata=failure_metadata(plan),
                         allow_retries=False) from error


def describe_failure(plan: EntityPlan, error: Exception) -> str:
    """What failed, where it is declared, and the error's own message (which says what to do)."""
    return f"{plan.label} (declared at {plan.declared_at}): {error}"


def failure_metadata(plan: EntityPlan) -> dict[str, str]:
    return {"entity": plan.label, "declared_at": str(plan.declared_at)}
