"""Dagster partitions of an entity: time windows (`partition:`) or key buckets (`parallel:`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from functools import cache

import dagster as dg

from ingest_assets.plan.model import EntityPlan, PartitionPlan

# Each granularity's class (their constructors differ in the rest of their parameters).
_DEFINITIONS: dict[str, Callable[..., dg.TimeWindowPartitionsDefinition]] = {
    "hourly": dg.HourlyPartitionsDefinition,
    "daily": dg.DailyPartitionsDefinition,
    "weekly": dg.WeeklyPartitionsDefinition,
    "monthly": dg.MonthlyPartitionsDefinition,
}


def _as_datetime(value: date | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.combine(value, time())


def backfill_policy(plan: EntityPlan) -> dg.BackfillPolicy | None:
    """A range of time partitions runs as one window in one run (`--partition-range` needs this);
    key buckets run one per run, so a backfill spreads them over the executor's workers. An
    unpartitioned asset runs once in any run; it declares single-run too, because the CLI refuses a
    `--partition-range` whose selection holds an asset without that policy, so a selection mixing
    partitioned and unpartitioned entities (`--select '*'`) could not take a range."""
    return None if plan.key_partitions is not None else dg.BackfillPolicy.single_run()


def partitions_definition(plan: EntityPlan) -> dg.PartitionsDefinition | None:
    if plan.key_partitions is not None:
        return key_partitions_definition(plan.key_partitions.partitions)
    return time_partitions_definition(plan.partition)


# Cached: entities with the same partitions share one definition (each is built once, not per entity).
@cache
def key_partitions_definition(buckets: int) -> dg.StaticPartitionsDefinition:
    # Bucket i holds the rows whose key modulo the count is i: unlike key ranges, the buckets stay
    # the same as the table grows, so a partition once loaded keeps meaning the same rows.
    return dg.StaticPartitionsDefinition([str(i) for i in range(buckets)])


@cache
def time_partitions_definition(partition: PartitionPlan | None) -> dg.TimeWindowPartitionsDefinition | None:
    if partition is None:
        return None
    return _DEFINITIONS[partition.granularity](
        start_date=_as_datetime(partition.start),
        end_date=_as_datetime(partition.end) if partition.end else None,
        timezone=partition.timezone,
        end_offset=partition.end_offset,
    )
