"""The rows of a window (`plan/window.py`) as a SQL condition: the one walk over its values.

Homes read by this condition (as their `WHERE`, or inside a user's query at `{query_filter}`) and
stores replace and count by it, so every engine selects exactly the same rows. Columns are written
by the caller's quoting, and values are bound (`statement.py`), never pasted.
"""

from __future__ import annotations

from collections.abc import Iterable

from ingest_assets.plan.window import KeyBucket, KeyIsNull, RowFilter
from ingest_assets.sql.statement import Sql, Value
from ingest_assets.sql.text import Quote, quote_identifier

Condition = RowFilter | KeyBucket | KeyIsNull


def condition(window: Condition, quote: Quote = quote_identifier) -> Sql:
    """The window's rows; empty when it holds every row (a range without bounds). A row whose column
    is null is in no range (the condition is NULL), unless the range keeps nulls."""
    column = quote(window.column)
    if isinstance(window, KeyIsNull):
        return Sql.of(f"{column} IS NULL")
    if isinstance(window, KeyBucket):
        # Modulo shifted into 0..count-1, so negative keys land in a bucket too, in every engine.
        count = Value(window.count, window.column)
        return Sql.of(f"((({column} % ", count, ") + ", count, ") % ", count, ") = ",
                      Value(window.number, window.column))
    bounds = []
    if window.lower is not None:
        lower = ">=" if window.lower_inclusive else ">"
        bounds.append(Sql.of(f"{column} {lower} ", Value(window.lower, window.column)))
    if window.upper is not None:
        upper = "<=" if window.upper_inclusive else "<"
        bounds.append(Sql.of(f"{column} {upper} ", Value(window.upper, window.column)))
    if not bounds:
        return Sql()
    both = Sql.of(" AND ").join(bounds)
    return Sql.of("((", both, f") OR {column} IS NULL)") if window.include_nulls else Sql.of("(", both, ")")


def all_of(windows: Iterable[Condition], quote: Quote = quote_identifier) -> Sql:
    """The rows in every window (empty: every row)."""
    return Sql.of(" AND ").join(sql for sql in (condition(window, quote) for window in windows) if sql)
