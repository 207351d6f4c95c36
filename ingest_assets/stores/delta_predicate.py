"""Conditions for delta-rs: a window's rows and a key match, as DataFusion SQL text.

delta-rs takes predicates (overwrite `predicate=`, MERGE conditions) as SQL text and binds no
parameters, so this is the one place where values are written into SQL: the window's condition is
still rendered by the one walk over its values (`sql.window.condition`), and each value is written
by `literal`, which knows only numbers, booleans, and text-like values as escaped string literals
that DataFusion coerces to the compared column's type (dates, timestamps, decimals, text). Any other
value is refused instead of being written.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from uuid import UUID

from ingest_assets.plan.window import KeyBucket, RowFilter
from ingest_assets.sql.text import quote_identifier, string_literal
from ingest_assets.sql.window import condition

TARGET = "t"  # the alias of the Delta table's rows in a MERGE
SOURCE = "s"  # the alias of this load's staged rows in a MERGE


class UnwritableLiteral(TypeError):
    """A window value of a type `literal` does not write (a bug: windows hold plain values)."""


def literal(value: object) -> str:
    """`value` as a DataFusion literal."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UnwritableLiteral(f"a window bound of {value!r} cannot be written as a Delta predicate")
        return repr(value)
    if isinstance(value, datetime):
        # ISO text, with its offset when it has one: DataFusion reads both as the column's timestamp.
        return string_literal(value.isoformat(sep=" "))
    if isinstance(value, date | time | Decimal | UUID | str):
        return string_literal(value.isoformat() if isinstance(value, date | time) else str(value))
    raise UnwritableLiteral(f"a window bound of type {type(value).__name__} cannot be written as a Delta predicate")


def window_predicate(window: RowFilter | KeyBucket | None, alias: str | None = None) -> str | None:
    """The rows of `window` (None: every row), the same rows `sql.window.condition` selects elsewhere.

    A row whose column is null is in no range (the condition is NULL, which deletes nothing), unless
    the range keeps nulls.
    """
    if window is None:
        return None
    quote = quote_identifier if alias is None else (lambda name: f"{alias}.{quote_identifier(name)}")
    sql = condition(window, quote)
    if not sql:
        return None
    return sql.render(lambda _name, value: literal(value.value)).text


def keys_match(keys: Sequence[str]) -> str:
    """A MERGE's condition: the target row's write key is the staged row's (keys are never null)."""
    return " AND ".join(f"{TARGET}.{quote_identifier(k)} = {SOURCE}.{quote_identifier(k)}" for k in keys)


