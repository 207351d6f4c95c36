"""Row counts and key quality of a committed table, measured with DuckDB SQL for every store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest_assets.homes.base import KeyBucket, RowFilter
from ingest_assets.sql_text import quote_identifier
from ingest_assets.stores.base import QualityRequest

if TYPE_CHECKING:
    import duckdb


def window_sql(window: RowFilter | KeyBucket) -> tuple[str, dict[str, object]]:
    column = quote_identifier(window.column)
    if isinstance(window, KeyBucket):
        # The same shifted modulo the homes read with (see homes/read_query.py).
        return f"((({column} % $count) + $count) % $count) = $number", {
            "count": window.count, "number": window.number,
        }
    return f"{column} >= $window_lower AND {column} < $window_upper", {
        "window_lower": window.lower,
        "window_upper": window.upper,
    }


def count_rows(
    connection: "duckdb.DuckDBPyConnection", relation: str, window: RowFilter | KeyBucket | None = None
) -> int:
    if window is None:
        return connection.sql(f"SELECT count(*) FROM {relation}").fetchall()[0][0]
    condition, params = window_sql(window)
    return connection.sql(f"SELECT count(*) FROM {relation} WHERE {condition}", params=params).fetchall()[0][0]


def measure_quality(
    connection: "duckdb.DuckDBPyConnection", relation: str, quality: QualityRequest
) -> tuple[dict[str, int], dict[tuple[str, ...], int]]:
    """Nulls per checked column, and extra rows per unique column set (0 when every key is unique)."""
    nulls: dict[str, int] = {}
    if quality.not_null:
        expressions = ", ".join(f"count(*) - count({quote_identifier(c)})" for c in quality.not_null)
        values = connection.sql(f"SELECT {expressions} FROM {relation}").fetchall()[0]
        nulls = dict(zip(quality.not_null, values))
    duplicates: dict[tuple[str, ...], int] = {}
    for columns in quality.unique_sets:
        group = ", ".join(quote_identifier(c) for c in columns)
        sql = (f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {relation} "
               f"GROUP BY {group} HAVING count(*) > 1)")
        duplicates[columns] = int(connection.sql(sql).fetchall()[0][0])
    return nulls, duplicates
