"""What a home says about a read before running it: the statement, and how many rows to expect.

Optional for homes: `ExplainsReads` is a Protocol of its own, so a home without statistics still
plans (its source is its read spec, its estimate "unknown") and no home needs a base class.
Nothing here reads data: statements are built, not run, and estimates come from statistics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from ingest_assets.homes.base import ReadRequest

SourceLanguage = Literal["sql", "files", "spec"]


@dataclass(frozen=True)
class SourceQuery:
    """The statement a read runs (SQL with its bound values apart), or the files it scans."""

    language: SourceLanguage
    text: str
    parameters: dict[str, object] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # how the read applies what the text does not show (a file scan's filter)


@dataclass(frozen=True)
class RowEstimate:
    """Rows a read is expected to return, and where the number comes from."""

    rows: int | None
    method: str  # e.g. "pg_class.reltuples", "parquet footers"; for unknown: why
    exact: bool = False
    upper_bound: bool = False  # the count before the read's filter (the read returns at most this)

    @classmethod
    def unknown(cls, reason: str) -> RowEstimate:
        return cls(None, reason)

    def describe(self) -> str:
        if self.rows is None:
            return f"unknown ({self.method})"
        if self.exact:
            return f"{self.rows:,} rows ({self.method}, exact)"
        if self.upper_bound:
            return f"at most {self.rows:,} rows ({self.method})"
        return f"about {self.rows:,} rows ({self.method})"

    def capped(self, limit: int | None) -> RowEstimate:
        """The estimate of a sampled read, which stops after `limit` rows."""
        if limit is None or self.rows is None or self.rows <= limit:
            return self
        return RowEstimate(limit, f"{self.method}: {self.rows:,}, sampled to {limit:,}", self.exact, self.upper_bound)


@runtime_checkable
class ExplainsReads(Protocol):
    def source_query(self, request: ReadRequest) -> SourceQuery:
        """The statement `read(request)` runs, built the same way; may connect to learn column types."""

    def estimate_rows(self, request: ReadRequest) -> RowEstimate:
        """Rows `read(request)` would return, from the source's statistics (never by reading the rows)."""


def source_query(home: object, request: ReadRequest) -> SourceQuery:
    if isinstance(home, ExplainsReads):
        return home.source_query(request)
    return SourceQuery("spec", request.spec.describe())


def estimate_rows(home: object, request: ReadRequest) -> RowEstimate:
    if isinstance(home, ExplainsReads):
        return home.estimate_rows(request).capped(request.limit)
    return RowEstimate.unknown(f"{type(home).__name__} keeps no statistics")
