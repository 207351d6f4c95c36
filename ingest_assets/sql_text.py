"""Identifier quoting for engines reached without a SQLAlchemy dialect (DuckDB).

Values are never pasted into SQL: they travel as bound parameters. Only identifiers are quoted here.
"""

from __future__ import annotations


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
