"""Identifiers and literals in SQL text: the one quoting helper.

Names are double-quoted as standard SQL has it (DuckDB, PostgreSQL); code that holds a SQLAlchemy
dialect passes the dialect's own `quote` instead (brackets on SQL Server, backticks on MySQL, and
only where a name needs them). Values are never pasted into SQL: they are bound (see `statement.py`);
the string literals here are for what DuckDB cannot bind (file names inside table functions). The one
driver that cannot bind at all, connectorx (MySQL's fast path), gets hex literals from homes/mysql.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlalchemy as sa

Quote = Callable[[str], str]


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def dialect_quote(dialect: sa.Dialect) -> Quote:
    """The dialect's quoting of a name in SQL text (`sa.text`). For drivers whose parameters are written
    `%s` (psycopg, PyMySQL) SQLAlchemy's preparer doubles a `%` in a name, for compiled statements;
    `sa.text` doubles every `%` of the text itself, so a name quoted for text keeps its `%` single
    (twice doubled, a column `%s` would be sent as `%%s`)."""
    preparer = dialect.identifier_preparer
    if dialect.paramstyle not in ("format", "pyformat"):
        return preparer.quote
    return lambda name: preparer.quote(name).replace("%%", "%")


def quote_qualified(name: str, quote: Quote = quote_identifier) -> str:
    """`schema.table` -> `"schema"."table"` (each part quoted on its own)."""
    return ".".join(quote(part) for part in name.split("."))


def string_literal(text: object) -> str:
    """A SQL string literal, for values DuckDB cannot bind (file names inside table functions)."""
    return "'" + str(text).replace("'", "''") + "'"


def parquet_files(paths: Iterable[object]) -> str:
    """`read_parquet([...])` over the given files."""
    return "read_parquet([" + ", ".join(string_literal(p) for p in paths) + "])"
