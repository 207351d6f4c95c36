"""Which cursor a run starts from: Dagster's record of the last load, or the store's own.

Both name the run that made them. They differ only when a run committed to the store and died
before Dagster recorded its materialization; then the store's record is the truth about what the
destination holds, and the run goes on from its cursor instead of loading those rows again.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest_assets.plan.cursor import Cursor
from ingest_assets.plan.model import EntityPlan
from ingest_assets.runtime.state import PreviousLoad
from ingest_assets.stores.load_record import LoadRecord


@dataclass(frozen=True)
class StartingCursor:
    cursor: Cursor | None
    recovered_from: LoadRecord | None = None  # the store's record, when it overrode Dagster's

    def note(self, dagster_cursor: Cursor | None) -> str | None:
        """What the run log says when the store's record decided (None: Dagster's did)."""
        if self.recovered_from is None:
            return None
        recovered = self.recovered_from.cursor
        return (f"the destination holds a load of run {self.recovered_from.run_id} that Dagster did not record "
                f"(the run died after its commit): going on from its watermark "
                f"{recovered.value if recovered else '(none: the next load is a full one)'} instead of "
                f"{dagster_cursor.value if dagster_cursor else 'none'}, so those rows are not loaded again")


def starting_cursor(plan: EntityPlan, previous: PreviousLoad, record: LoadRecord | None) -> StartingCursor:
    """The cursor of an unpartitioned incremental entity's next load.

    A store without a record, or an entity never materialized (its next load replaces the table
    anyway), goes by Dagster's; so does a record of the run Dagster recorded last.
    """
    if plan.watermark is None:
        return StartingCursor(None)
    if record is None or previous.run_id is None or record.run_id == previous.run_id \
            or record.cursor == previous.cursor:
        return StartingCursor(previous.cursor)
    return StartingCursor(record.cursor, recovered_from=record)
