"""The store seam: stage Arrow batches, then commit them in one atomic step.

A writer is a context manager: leaving it without `commit()` (an exception anywhere in the run)
discards everything staged, so the destination stays exactly as it was.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ingest_assets.homes.base import KeyBucket, RowFilter
from ingest_assets.plan.model import WriteKind, WriteSpec

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class WriteMode:
    kind: WriteKind
    # replace_window: the rows of this window (lower inclusive, upper exclusive) or key bucket are replaced.
    window: RowFilter | KeyBucket | None = None
    # append: existing rows whose keys appear in the new rows are replaced (a lookback re-read).
    replace_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class QualityRequest:
    """What the store measures on the committed table, for the asset checks."""

    not_null: tuple[str, ...] = ()
    unique_sets: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class CommitResult:
    rows_written: int
    rows_removed: int  # replaced by the load (whole table, window or keys)
    rows_before: int
    rows_after: int
    window_rows: int | None
    location: str
    null_counts: dict[str, int] = field(default_factory=dict)
    duplicate_counts: dict[tuple[str, ...], int] = field(default_factory=dict)


class StoreWriter(Protocol):
    def write(self, batch: "pa.RecordBatch") -> None: ...

    def finish_staging(self) -> int:
        """Close the staged data; its row count, read back from what was written (file footers)."""

    def commit(self) -> CommitResult: ...


class Store(Protocol):
    def writer(
        self, target: WriteSpec, mode: WriteMode, schema: "pa.Schema", run_token: str, quality: QualityRequest
    ) -> AbstractContextManager[StoreWriter]: ...

    def describe(self, target: WriteSpec) -> str:
        """Where the data lands, for metadata and messages (no secrets)."""

    def exists(self, target: WriteSpec) -> bool:
        """Whether the target table has been written (and not removed since)."""
