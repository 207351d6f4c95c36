"""The load a store committed last to a table, kept in the same commit as its rows.

Dagster records a load's cursor in the materialization, after the store has committed. A run that
dies between the two (a SIGKILL, a lost node) leaves rows in the destination that the cursor does
not know about, and the next run would read and append them again. So each store that can keeps a
`LoadRecord` with its rows, atomically (a row of `LOADS_TABLE` in the commit's transaction, a file in
the Parquet version the symlink swap publishes), and a run starts from the record's cursor when the
store holds a load that Dagster did not record (`runtime.reconcile`). The same idea as dlt's state
kept in the destination.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ingest_assets.plan.cursor import Cursor

LOADS_TABLE = "_ingest_loads"  # database stores: one row per table, beside the table (same schema)
RECORD_FILE = "_ingest_load.json"  # file stores: in the table's version (readers skip `_` names)


@dataclass(frozen=True)
class LoadRecord:
    """The run that committed a load, and the cursor its materialization records (None: none)."""

    run_id: str
    cursor: Cursor | None

    def to_json(self) -> str:
        data: dict[str, Any] = {"run_id": self.run_id, "cursor": self.cursor.to_metadata() if self.cursor else None}
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> LoadRecord:
        data = json.loads(text)
        cursor = data.get("cursor")
        return cls(run_id=data["run_id"], cursor=Cursor.from_metadata(cursor) if cursor is not None else None)
