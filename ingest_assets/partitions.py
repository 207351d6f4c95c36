"""Time-window partitions definitions from an entity's `partition:` settings."""

from __future__ import annotations

from datetime import date, datetime, time

import dagster as dg

from ingest_assets.plan.model import PartitionPlan

_DEFINITIONS = {
    "hourly": dg.HourlyPartitionsDefinition,
    "daily": dg.DailyPartitionsDefinition,
    "weekly": dg.WeeklyPartitionsDefinition,
    "monthly": dg.MonthlyPartitionsDefinition,
}


def _as_datetime(value: date | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.combine(value, time())


def partitions_definition(partition: PartitionPlan | None) -> dg.TimeWindowPartitionsDefinition | None:
    if partition is None:
        return None
    return _DEFINITIONS[partition.granularity](
        start_date=_as_datetime(partition.start),
        end_date=_as_datetime(partition.end) if partition.end else None,
        timezone=partition.timezone,
        end_offset=partition.end_offset,
    )
