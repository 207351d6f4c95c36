"""The SELECT a database home runs: source, columns and row conditions, with values kept out of the text.

Every path (SQLAlchemy with any dialect, ADBC for PostgreSQL) builds its statement here. Identifiers
are quoted by the caller's dialect; each value becomes a named slot that the caller renders as a bound
parameter of the right type (see `ValueRenderer`), never as a literal pasted into the SQL.

What is read:
- a table: `SELECT <columns> FROM <schema.table> WHERE <conditions>`;
- a query holding `{query_filter}`: the placeholder is replaced by the conditions (`1=1` when none),
  where the query's author put it, e.g. inside a CTE or before a GROUP BY;
- any other query: wrapped, `SELECT <columns> FROM (<query>) AS ingest_source WHERE <conditions>`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Union

from ingest_assets.errors import TerminalError
from ingest_assets.plan.window import KeyBucket, KeyIsNull, RowFilter
from ingest_assets.plan.model import ReadSpec

QUERY_FILTER = "{query_filter}"

# (value name, column it is compared with) -> the SQL that stands for the value.
ValueRenderer = Callable[[str, str], str]
Condition = Union[RowFilter, KeyBucket, KeyIsNull]


@dataclass
class ReadQuery:
    sql: str
    values: dict[str, object] = field(default_factory=dict)
    value_columns: dict[str, str] = field(default_factory=dict)  # value name -> its column


class BoundSlots:
    """The named bound values of one statement (shared by homes and SQL stores), rendered per dialect."""

    def __init__(self, render: ValueRenderer):
        self._render = render
        self.values: dict[str, object] = {}
        self.columns: dict[str, str] = {}

    def add(self, value: object, column: str) -> str:
        name = f"ingest_{len(self.values) + 1}"
        self.values[name] = value
        self.columns[name] = column
        return self._render(name, column)


def condition_sql(condition: Condition, quote: Callable[[str], str], slots: BoundSlots) -> str:
    column = quote(condition.column)
    if isinstance(condition, KeyIsNull):
        return f"{column} IS NULL"
    if isinstance(condition, KeyBucket):
        # Modulo shifted into 0..count-1, so negative keys land in a bucket too, in every engine.
        count = slots.add(condition.count, condition.column)
        return f"((({column} % {count}) + {count}) % {count}) = {slots.add(condition.number, condition.column)}"
    parts = []
    if condition.lower is not None:
        operator = ">=" if condition.lower_inclusive else ">"
        parts.append(f"{column} {operator} {slots.add(condition.lower, condition.column)}")
    if condition.upper is not None:
        operator = "<=" if condition.upper_inclusive else "<"
        parts.append(f"{column} {operator} {slots.add(condition.upper, condition.column)}")
    if not parts:
        return ""
    text = " AND ".join(parts)
    return f"(({text}) OR {column} IS NULL)" if condition.include_nulls else f"({text})"


def build_read_query(
    spec: ReadSpec,
    conditions: list[Condition],
    quote: Callable[[str], str],
    render_value: ValueRenderer,
    select: str | None = None,
) -> ReadQuery:
    """The statement for `spec` restricted by `conditions`; `select` replaces the column list (e.g. max())."""
    slots = BoundSlots(render_value)
    where = " AND ".join(text for text in (condition_sql(c, quote, slots) for c in conditions) if text)
    columns = select or (", ".join(quote(c) for c in spec.columns) if spec.columns else "*")
    if spec.query is not None and QUERY_FILTER in spec.query:
        inner = spec.query.replace(QUERY_FILTER, where or "1=1")
        sql = inner if columns == "*" else f"SELECT {columns} FROM ({inner}) AS ingest_source"
    else:
        source = quote_qualified(spec.table, quote) if spec.table else f"({spec.query}) AS ingest_source"
        sql = f"SELECT {columns} FROM {source}" + (f" WHERE {where}" if where else "")
    return ReadQuery(sql, slots.values, slots.columns)


def require_columns(spec: ReadSpec, available: Collection[str], wanted: Sequence[str]) -> None:
    """Fail, listing the columns that are there, when the source lacks a column the entity names."""
    missing = [c for c in wanted if c not in available]
    if missing:
        raise TerminalError(f"columns {missing} are not in {spec.describe()} -> columns there: {', '.join(available)}")


def require_column(spec: ReadSpec, available: Collection[str], column: str) -> None:
    if column not in available:
        raise TerminalError(f"column {column!r} is not in {spec.describe()} -> columns there: {', '.join(available)}")


def range_groups(ranges: Sequence[Condition], pool_size: int | None) -> list[list[Condition | None]]:
    """The ranges dealt over the connections that read them: one per range, at most `pool_size`.

    No ranges (not a parallel read, or an empty source) is one group that reads everything (None).
    """
    if not ranges:
        return [[None]]
    workers = min(len(ranges), pool_size or len(ranges))
    return [list(ranges[i::workers]) for i in range(workers)]


def quote_qualified(name: str | None, quote: Callable[[str], str]) -> str:
    assert name is not None
    return ".".join(quote(part) for part in name.split("."))


def split_range(low: object, high: object, count: int, column: str) -> list[RowFilter | KeyIsNull]:
    """`count` adjacent ranges covering [low, high] (equal widths of an integer, date or timestamp key),
    then the rows where the key is null. Nulls are a range of their own: `OR key IS NULL` on a range
    would keep PostgreSQL from using the key's index (measured: a full scan, 4x slower)."""
    if isinstance(low, bool) or not isinstance(low, (int, date, datetime)) or type(low) is not type(high):
        raise TerminalError(
            f"parallel.column {column!r} holds {type(low).__name__} values -> parallel reads split an integer, "
            "date or timestamp column into ranges; choose such a column (usually the primary key)"
        )
    span = high - low  # type: ignore[operator]
    if isinstance(low, int):
        edges = [low + span * i // count for i in range(count)] + [high]
    else:
        edges = [low + span * i / count for i in range(count)] + [high]  # type: ignore[operator]
    ranges: list[RowFilter | KeyIsNull] = []
    for i in range(count):
        lower, upper, last = edges[i], edges[i + 1], i == count - 1
        if lower == upper and not last:
            continue  # fewer distinct keys than ranges
        ranges.append(RowFilter(column, lower=lower, lower_inclusive=True, upper=upper, upper_inclusive=last))
    return ranges + [KeyIsNull(column)]
