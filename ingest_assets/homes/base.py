"""The home seam: a small Protocol with Arrow record batch streams as its only currency."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ingest_assets.plan.model import ReadSpec
from ingest_assets.plan.window import KeyBucket, RowFilter

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class ReadRequest:
    spec: ReadSpec
    row_filter: RowFilter | None = None
    bucket: KeyBucket | None = None
    # Sample mode: the source returns at most this many rows (LIMIT/TOP, or a scan that stops).
    limit: int | None = None

    @property
    def conditions(self) -> list[RowFilter | KeyBucket]:
        return [c for c in (self.row_filter, self.bucket) if c is not None]


class Home(Protocol):
    """Where an entity's rows come from (built in, or a plugin's: see `ingest_assets.plugins`).

    Created per run by the factory its `ConnectorType.home` names, with the connection's resource.
    Rows travel only as Arrow record batches, streamed: never the whole table in memory.
    - `read` honours `request.spec` (one of path / table / query, as the type's `read_kinds` allow,
      and `columns`, all when empty) and `request.conditions` (the incremental window, a key bucket);
      errors are `TransientError` (a retry may pass) or `TerminalError`.
    - `max_value` is called by the new-data sensor, so it must be cheap.
    """

    def read(self, request: ReadRequest) -> AbstractContextManager[pa.RecordBatchReader]:
        """A stream of the requested rows and columns; the reader is valid inside the context."""

    def max_value(self, spec: ReadSpec, column: str) -> object | None:
        """The largest value of `column` (None for an empty source); cheap enough for a sensor."""

    # Optional (see `homes.explain.ExplainsReads`): `source_query(request)` and `estimate_rows(request)`
    # state the statement a read runs and its expected rows; homes without them plan as "unknown".
