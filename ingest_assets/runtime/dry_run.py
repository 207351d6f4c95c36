"""The dry run of one entity: its access plan from the committed cursor and the source's statistics.

Reads only: the latest materialization in the Dagster instance, the source's maximum watermark and
statistics. Nothing is staged or committed, and nothing is recorded in the instance.
"""

from __future__ import annotations

import dagster as dg

from ingest_assets.connectors import registry
from ingest_assets.connectors.connector_type import AnyResource
from ingest_assets.errors import IngestError
from ingest_assets.homes.base import Home, ReadRequest
from ingest_assets.homes.explain import RowEstimate, SourceQuery, estimate_rows, source_query
from ingest_assets.plan.model import EntityPlan
from ingest_assets.plan.window import KeyBucket
from ingest_assets.runtime.access_plan import AccessPlan, build_access_plan
from ingest_assets.runtime.decide import decide_load, sample_rows
from ingest_assets.runtime.overrides import RunOverrides
from ingest_assets.runtime.state import committed_cursor


def plan_entity(
    plan: EntityPlan,
    asset_key: dg.AssetKey,
    home_resource: AnyResource,
    store_resource: AnyResource,
    instance: dg.DagsterInstance | None,
    offline: bool,
    overrides: RunOverrides | None = None,
) -> AccessPlan:
    """The access plan of the entity's next run (with `overrides` as its run config).

    Raises `IngestError` when the source or the store cannot be reached (not when offline).
    """
    overrides = overrides or RunOverrides()
    committed = None
    if instance is not None and plan.watermark is not None:
        committed = committed_cursor(instance, asset_key)
    sampled = sample_rows(plan, overrides) is not None
    home: Home | None = None if offline else registry.open_home(plan.home.type, home_resource)
    source_max = None
    if home is not None and plan.watermark is not None and not sampled and not plan.partitioned:
        source_max = home.max_value(plan.read, plan.watermark.column)

    destination = (plan.write.describe() if offline
                   else registry.open_store(plan.store.type, store_resource).describe(plan.write))
    window, refused, decision = None, None, None
    if plan.partitioned:
        window = _partition_window(plan)
    else:
        try:
            decision = decide_load(plan, overrides, committed, source_max, None)
        except IngestError as error:  # what the run would refuse (e.g. a changed watermark column)
            refused, window = str(error), "nothing: the run would refuse this load"

    if decision is not None:
        request = ReadRequest(plan.read, decision.row_filter, decision.bucket, decision.sample_rows)
    else:
        request = ReadRequest(plan.read, limit=sample_rows(plan, overrides))
    if home is None:
        source = SourceQuery("spec", plan.read.describe(), notes=("offline: the source was not contacted",))
        estimate = RowEstimate.unknown("offline")
    else:
        source, estimate = source_query(home, request), estimate_rows(home, request)
    return build_access_plan(plan, asset_key.to_user_string(), decision, source, estimate, destination, committed, source_max,
                             window=window, run_type=overrides.run_type_name, refused=refused)


def _partition_window(plan: EntityPlan) -> str:
    """A partitioned entity reads one partition per run: the plan states the shape of its window."""
    if plan.key_partitions is not None:
        bucket = KeyBucket(plan.key_partitions.column, plan.key_partitions.partitions, 0)
        return (f"one key partition per run: {bucket.describe().replace('= 0', '= <partition>')} "
                "(the source query and estimate cover every partition)")
    assert plan.partition is not None
    partition = plan.partition
    return (f"one {partition.granularity} partition per run: {partition.column} >= <partition start> and "
            f"< <partition end>, from {partition.start} ({partition.timezone}) (the source query and estimate "
            "cover every partition)")

