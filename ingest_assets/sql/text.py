"""SQL text for DuckDB, which is reached without a SQLAlchemy dialect.

Values are never pasted into SQL: they travel as bound parameters. Only identifiers are quoted here.
"""

from __future__ import annotations

from ingest_assets.plan.window import KeyBucket, RowFilter


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_qualified(name: str) -> str:
    """`schema.table` -> `"schema"."table"` (each part quoted on its own)."""
    return ".".join(quote_identifier(part) for part in name.split("."))


def string_literal(text: object) -> str:
    """A SQL string literal, for values DuckDB cannot bind (file names inside table functions)."""
    return "'" + str(text).replace("'", "''") + "'"


def parquet_files(paths) -> str:
    """`read_parquet([...])` over the given files."""
    return "read_parquet([" + ", ".join(string_literal(p) for p in paths) + "])"


def window_sql(window: RowFilter | KeyBucket) -> tuple[str, dict[str, object]]:
    """The rows of a window (a home's row filter, or a store's partition); NULL (so: not in it) where
    its column is null, unless it keeps nulls. Parameters are named `window_*` and `bucket_*`."""
    column = quote_identifier(window.column)
    if isinstance(window, KeyBucket):
        # The same shifted modulo the homes read with (see homes/read_query.py).
        return f"((({column} % $bucket_count) + $bucket_count) % $bucket_count) = $bucket_number", {
            "bucket_count": window.count, "bucket_number": window.number,
        }
    bounds: list[str] = []
    params: dict[str, object] = {}
    if window.lower is not None:
        bounds.append(f"{column} {'>=' if window.lower_inclusive else '>'} $window_lower")
        params["window_lower"] = window.lower
    if window.upper is not None:
        bounds.append(f"{column} {'<=' if window.upper_inclusive else '<'} $window_upper")
        params["window_upper"] = window.upper
    condition = " AND ".join(bounds) or "true"
    if window.include_nulls:
        condition = f"({condition}) OR {column} IS NULL"
    return condition, params
