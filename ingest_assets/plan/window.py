"""The rows one load reads or replaces: a range of a column, a key bucket, or the rows whose key is null.

These are values, shared by both sides of the seam: the runtime decides them, homes read by them and
stores replace by them, and the one SQL renderer (`ingest_assets.sql`) turns them into conditions.
Bounds are named and keyword-only, so a reader never has to count positional booleans.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from datetime import datetime


@dataclass(frozen=True)
class RowFilter:
    """Rows whose `column` lies between two bounds; a bound of None is open.

    The defaults are the incremental window, `lower < column <= upper`: rows past a cursor up to the
    source's maximum seen when the run started.
    """

    column: str
    _: KW_ONLY
    lower: object | None = None
    lower_inclusive: bool = False
    upper: object | None = None
    upper_inclusive: bool = True
    # Full loads bound the watermark for the cursor they record, but must not drop rows whose
    # watermark is null: those rows are kept too.
    include_nulls: bool = False

    @classmethod
    def past(cls, column: str, lower: object, upper: object | None) -> RowFilter:
        """`lower < column <= upper`: the rows after a committed cursor, up to the source's maximum."""
        return cls(column, lower=lower, upper=upper)

    @classmethod
    def closed(cls, column: str, lower: object | None, upper: object | None, *, include_nulls: bool = False
               ) -> RowFilter:
        """`lower <= column <= upper` (either end open when None), with or without the null rows."""
        return cls(column, lower=lower, lower_inclusive=True, upper=upper, upper_inclusive=True,
                   include_nulls=include_nulls)

    @classmethod
    def half_open(cls, column: str, start: object, end: object) -> RowFilter:
        """`start <= column < end`: one time partition, so adjacent partitions never share a row."""
        return cls(column, lower=start, lower_inclusive=True, upper=end, upper_inclusive=False)

    def describe(self) -> str:
        parts = []
        if self.lower is not None:
            parts.append(f"{self.column} {'>=' if self.lower_inclusive else '>'} {self.lower}")
        if self.upper is not None:
            parts.append(f"{self.column} {'<=' if self.upper_inclusive else '<'} {self.upper}")
        text = " and ".join(parts) or "all rows"
        return f"({text}) or {self.column} is null" if self.include_nulls and parts else text


@dataclass(frozen=True)
class TimeWindow:
    """A time partition's bounds, naive wall-clock times in the partition's time zone: `[start, end)`."""

    start: datetime
    end: datetime

    def rows_of(self, column: str) -> RowFilter:
        return RowFilter.half_open(column, self.start, self.end)


@dataclass(frozen=True)
class KeyBucket:
    """Rows whose integer `column` modulo `count` is `number` (one Dagster key partition)."""

    column: str
    count: int
    number: int

    def describe(self) -> str:
        return f"{self.column} mod {self.count} = {self.number}"


@dataclass(frozen=True)
class KeyIsNull:
    """Rows whose `column` is null: the range that parallel reads add for them."""

    column: str

    def describe(self) -> str:
        return f"{self.column} is null"
