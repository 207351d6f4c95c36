"""What the Delta store writes into, and reads from, a table's log besides the rows.

Every commit of the store carries custom metadata (in its `commitInfo`, written atomically with the
rows): the run token that made it, and the load's `LoadRecord` (run and cursor, see `load_record`).
From the log the store finds the version a load committed, the record of its latest load, and what
delta-rs reports about the operation (materialization metadata).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ingest_assets.stores.base import StoreDetail
from ingest_assets.stores.load_record import LoadRecord

if TYPE_CHECKING:
    from deltalake import CommitProperties, DeltaTable

VERSION_METADATA = "ingest/delta_version"  # the table's version after the load, in the materialization
TOKEN_METADATA = "ingest_run_token"  # which run made the commit
RECORD_METADATA = "ingest_load_record"  # the load's LoadRecord as JSON
# How many commits are looked back for one of ingest_assets (others: OPTIMIZE, VACUUM, other
# writers); a table with more foreign commits since reads as holding no record.
LOOKBACK_COMMITS = 100
Entry = dict[str, Any]  # one commit of `DeltaTable.history()`


def commit_properties(token: str, record: LoadRecord | None) -> CommitProperties:
    from deltalake import CommitProperties

    metadata = {TOKEN_METADATA: token}
    if record is not None:
        metadata[RECORD_METADATA] = record.to_json()
    return CommitProperties(custom_metadata=metadata)


def latest_record(table: DeltaTable) -> LoadRecord | None:
    """The record of the latest commit ingest_assets made to the table (None: none, or one without)."""
    for entry in table.history(LOOKBACK_COMMITS):  # the newest first
        if TOKEN_METADATA in entry:
            record = entry.get(RECORD_METADATA)
            return LoadRecord.from_json(record) if isinstance(record, str) else None
    return None


def committed_version(table: DeltaTable, token: str) -> tuple[DeltaTable, Entry | None]:
    """`table` (just opened at its latest version) at the version the run `token` committed, and that
    commit's entry (None: it committed nothing, e.g. a MERGE that changed no row; then the latest)."""
    for entry in table.history(LOOKBACK_COMMITS):
        if entry.get(TOKEN_METADATA) == token:
            if entry["version"] != table.version():  # another writer committed after it
                table.load_as_version(entry["version"])
            return table, entry
    return table, None


def commit_details(table: DeltaTable, entry: Entry | None) -> dict[str, StoreDetail]:
    """The table's version after the load, and delta-rs' record of the load's commit."""
    details: dict[str, StoreDetail] = {VERSION_METADATA: table.version()}
    if entry is not None:
        details["ingest/delta_operation"] = str(entry.get("operation", ""))
        metrics = entry.get("operationMetrics") or {}
        details["ingest/delta_operation_metrics"] = {
            str(k): v for k, v in metrics.items() if isinstance(v, int | float | str) and not isinstance(v, bool)}
    return details
