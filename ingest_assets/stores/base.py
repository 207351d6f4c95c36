"""The store seam: stage Arrow batches, then commit them in one atomic step.

A writer is a context manager: leaving it without `commit()` (an exception anywhere in the run)
discards everything staged, so the destination stays exactly as it was. A store whose type has
`ConnectorType.publish_step` is also a `PublishingStore`: its writer can `prepare()` instead, and
the store `complete()`s that prepared load in a later step.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

from ingest_assets.plan.model import WriteKind, WriteSpec
from ingest_assets.plan.window import KeyBucket, RowFilter
from ingest_assets.stores.abandoned import Abandoned
from ingest_assets.stores.load_record import LoadRecord
from ingest_assets.stores.schema_decision import SchemaDecision, TableLayout

if TYPE_CHECKING:
    import pyarrow as pa

# The seam, with the layout a store writes (decided by the schema policy, see `schema_decision`).
__all__ = [
    "CommitResult", "FilesPublished", "FollowsSchemaChanges", "KeepsNoLoadRecord", "LoadRecord", "PublishingStore",
    "PublishingWriter", "QualityRequest", "SchemaDecision", "Store", "StoreDetail", "StoreWriter", "TableLayout", "WriteMode",
]

@dataclass(frozen=True)
class WriteMode:
    """How one load changes the destination table.

    - append: insert the staged rows.
    - replace: the staged rows replace the whole table, or only the rows of `window` (a partition).
    - upsert: staged rows whose `keys` exist replace those rows; the others are inserted.
    - merge: upsert, and with `delete_missing` also delete the rows (of `window`, or of the whole
      table) whose keys are not in this load, which must then be a complete snapshot of them.
    """

    kind: WriteKind
    window: RowFilter | KeyBucket | None = None  # lower inclusive, upper exclusive, or a key bucket
    # The write key of an upsert/merge entity, also on its replacing first load (a SQL store makes it
    # the primary key); with keys, staged keys are non-null and unique before the commit.
    keys: tuple[str, ...] = ()
    delete_missing: bool = False
    # Several staged rows with one key: the one with the highest value of this column wins; without
    # it (or on a tie) the load fails before anything is written.
    latest_by: str | None = None

    @property
    def by_key(self) -> bool:
        return self.kind in ("upsert", "merge")


@dataclass(frozen=True)
class QualityRequest:
    """What the store measures on the committed table, for the asset checks."""

    not_null: tuple[str, ...] = ()
    unique_sets: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class FilesPublished:
    """What a store that publishes files (Open Mirroring) found after publishing them."""

    names: tuple[str, ...]  # the files of this load, in order
    rows_expected: int  # rows in them as staged (written, less unchanged ones, and deleted)
    rows_found: int  # rows of the files found under their names with their staged sizes
    missing: tuple[str, ...]  # files not found, or found with another size
    sequence_gaps: tuple[int, ...]  # numbers missing from the table's sequence
    last_number: int
    rows_unchanged: int = 0  # rows written but not published again: equal to the last snapshot's


# A value of `CommitResult.details`: a number, text, or a flat mapping (recorded as JSON).
StoreDetail = int | float | str | dict[str, int | float | str]


@dataclass(frozen=True)
class CommitResult:
    rows_written: int  # staged rows inserted or written over existing ones
    rows_replaced: int  # existing rows replaced: the table or window, or the rows whose keys matched
    rows_before: int | None  # None: the store cannot count its table (a landing zone)
    rows_after: int | None
    window_rows: int | None
    location: str
    rows_deleted: int = 0  # merge with delete_missing: rows whose keys were not in this load
    null_counts: dict[str, int] = field(default_factory=dict)
    duplicate_counts: dict[tuple[str, ...], int] = field(default_factory=dict)
    files: FilesPublished | None = None
    # What the store reports about its commit beyond the counts, recorded as they are in the
    # materialization's metadata under these `ingest/...` keys (a Delta table's version and operation).
    details: dict[str, StoreDetail] = field(default_factory=dict)

    @property
    def expected_rows_after(self) -> int | None:
        if self.rows_before is None:
            return None
        return self.rows_before - self.rows_replaced - self.rows_deleted + self.rows_written


class StoreWriter(Protocol):
    def write(self, batch: pa.RecordBatch) -> None: ...

    def finish_staging(self) -> int:
        """Close the staged data; its row count, read back from what was written (file footers)."""

    def resolve_duplicate_keys(self) -> int:
        """With `mode.keys`: fail on null keys, keep the latest row per key; the rows dropped."""

    def commit(self) -> CommitResult: ...


class Store(Protocol):
    """Where an entity's rows go (built in, or a plugin's: see `ingest_assets.plugins`).

    Created per run by the factory its `ConnectorType.store` names, with the connection's resource.
    `writer()` stages the batches of one load under `run_token`; `commit()` makes them visible in one
    step and returns what changed. Leaving the writer without commit (any exception) must discard
    what was staged, so the destination stays exactly as it was. A store that cannot upsert, replace
    a partition or count its table says so in its `ConnectorType` capabilities, and the project refuses
    entities that need them when it loads.
    """

    def writer(
        self, target: WriteSpec, mode: WriteMode, layout: TableLayout, run_token: str, quality: QualityRequest,
        record: LoadRecord | None = None,
    ) -> AbstractContextManager[StoreWriter]:
        """`record` is committed with the rows (see `load_record`), where the store keeps one."""

    def last_load(self, target: WriteSpec) -> LoadRecord | None:
        """The record the latest commit to the table kept (None: none yet, or the store keeps none)."""

    def describe(self, target: WriteSpec) -> str:
        """Where the data lands, for metadata and messages (no secrets)."""

    def exists(self, target: WriteSpec) -> bool:
        """Whether the target table has been written (and not removed since)."""

    def current_schema(self, target: WriteSpec) -> pa.Schema | None:
        """The target table's columns as Arrow types (None when it does not exist yet)."""

    def unsupported_changes(self, target: WriteSpec, mode: WriteMode, decision: SchemaDecision) -> list[str]:
        """Changes of this load the destination cannot follow without a rebuild (most stores: none)."""


@runtime_checkable
class RemovesAbandonedStaging(Protocol):
    """A store that can find what runs staged for a table (folders, helper tables) by their run token."""

    def remove_abandoned_staging(self, target: WriteSpec, abandoned: Abandoned) -> int:
        """Remove what `target`'s loads staged whose run token is `abandoned`; how many things it removed."""


class FollowsSchemaChanges:
    """A store that applies every change the schema policy allows (only Open Mirroring cannot)."""

    def unsupported_changes(self, target: WriteSpec, mode: WriteMode, decision: SchemaDecision) -> list[str]:
        return []


class KeepsNoLoadRecord:
    """A store that cannot commit a `LoadRecord` with its rows: a run that dies between the commit and
    Dagster's record of it is read again by the next run (the README lists these stores)."""

    def last_load(self, target: WriteSpec) -> LoadRecord | None:
        return None


# What a publishing store's prepare() hands to its complete(): picklable, since the publish step
# may run in another process.
Prepared = TypeVar("Prepared")
Prepared_co = TypeVar("Prepared_co", covariant=True)


class PublishingWriter(StoreWriter, Protocol[Prepared_co]):
    def prepare(self) -> Prepared_co:
        """Pass the commit point without publishing: what `PublishingStore.complete` publishes (staged
        files uploaded, the publish journal written). `commit()` is both steps at once."""


class PublishingStore(Store, Protocol[Prepared]):
    """A store that publishes in a step of its own after extraction (`ConnectorType.publish_step`)."""

    def writer(
        self, target: WriteSpec, mode: WriteMode, layout: TableLayout, run_token: str, quality: QualityRequest,
        record: LoadRecord | None = None,
    ) -> AbstractContextManager[PublishingWriter[Prepared]]: ...

    def complete(self, prepared: Prepared) -> CommitResult:
        """Publish a prepared load (or accept that a recovery already did), then verify it."""
