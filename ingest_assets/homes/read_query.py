"""The SELECT a database home runs: source, columns and row conditions, with values kept out of the text.

Every path (SQLAlchemy with any dialect, ADBC for PostgreSQL) builds its statement here, as a `Sql`
that the path renders: identifiers quoted by the caller's dialect, each value bound the way the path
binds it (see `ingest_assets.sql`), never a literal pasted into the SQL.

What is read:
- a table: `SELECT <columns> FROM <schema.table> WHERE <conditions>`;
- a query holding `{query_filter}`: the conditions (`1=1` when none) stand where the query's author
  put the placeholder, e.g. inside a CTE or before a GROUP BY; the query is split there, not rewritten;
- any other query: wrapped, `SELECT <columns> FROM (<query>) AS ingest_source WHERE <conditions>`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime

from ingest_assets.errors import ParallelColumnUnsplittable, SourceColumnMissing, SourceColumnsMissing
from ingest_assets.plan.model import ReadSpec
from ingest_assets.plan.window import KeyIsNull, RowFilter
from ingest_assets.sql.statement import Sql
from ingest_assets.sql.text import Quote, quote_qualified
from ingest_assets.sql.window import Condition, all_of

QUERY_FILTER = "{query_filter}"


def with_query_filter(query: str, where: Sql) -> Sql:
    """A `{query_filter}` query with the conditions in the placeholder's place (`1=1` when none)."""
    return (where or Sql.of("1=1")).join(Sql.of(part) for part in query.split(QUERY_FILTER))


def build_read_query(spec: ReadSpec, conditions: Sequence[Condition], quote: Quote, select: str | None = None,
                     compared: Quote | None = None) -> Sql:
    """The statement for `spec` restricted by `conditions`; `select` replaces the column list (e.g. max());
    `compared` writes a column where the conditions compare it (default: `quote`)."""
    where = all_of(conditions, compared or quote)
    columns = select or (", ".join(quote(c) for c in spec.columns) if spec.columns else "*")
    if spec.query is not None and QUERY_FILTER in spec.query:
        inner = with_query_filter(spec.query, where)
        return inner if columns == "*" else Sql.of(f"SELECT {columns} FROM (", inner, ") AS ingest_source")
    if spec.table is not None:
        source = Sql.of(quote_qualified(spec.table, quote))
    else:
        assert spec.query is not None
        source = Sql.of("(", spec.query, ") AS ingest_source")
    return Sql.of(f"SELECT {columns} FROM ", source, *((" WHERE ", where) if where else ()))


def require_columns(spec: ReadSpec, available: Collection[str], wanted: Sequence[str]) -> None:
    """Fail, listing the columns that are there, when the source lacks a column the entity names."""
    missing = [c for c in wanted if c not in available]
    if missing:
        raise SourceColumnsMissing(columns=missing, source=spec.describe(), available=available)


def require_column(spec: ReadSpec, available: Collection[str], column: str) -> None:
    if column not in available:
        raise SourceColumnMissing(column=column, source=spec.describe(), available=available)


def range_groups(ranges: Sequence[Condition], pool_size: int | None) -> list[list[Condition | None]]:
    """The ranges dealt over the connections that read them: one per range, at most `pool_size`.

    No ranges (not a parallel read, or an empty source) is one group that reads everything (None).
    """
    if not ranges:
        return [[None]]
    workers = min(len(ranges), pool_size or len(ranges))
    return [list(ranges[i::workers]) for i in range(workers)]


def split_range(low: object, high: object, count: int, column: str) -> list[RowFilter | KeyIsNull]:
    """`count` adjacent ranges covering [low, high] (equal widths of an integer, date or timestamp key),
    then the rows where the key is null. Nulls are a range of their own: `OR key IS NULL` on a range
    would keep PostgreSQL from using the key's index (measured: a full scan, 4x slower)."""
    if isinstance(low, bool) or not isinstance(low, (int, date, datetime)) or type(low) is not type(high):
        raise ParallelColumnUnsplittable(column=column, value=low)
    span = high - low  # type: ignore[operator]
    if isinstance(low, int):
        edges = [low + span * i // count for i in range(count)] + [high]  # type: ignore[operator]
    else:
        edges = [low + span * i / count for i in range(count)] + [high]  # type: ignore[operator]
    ranges: list[RowFilter | KeyIsNull] = []
    for i in range(count):
        lower, upper, last = edges[i], edges[i + 1], i == count - 1
        if lower == upper and not last:
            continue  # fewer distinct keys than ranges
        ranges.append(RowFilter(column, lower=lower, lower_inclusive=True, upper=upper, upper_inclusive=last))
    return [*ranges, KeyIsNull(column)]
