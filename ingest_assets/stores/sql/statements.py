"""The statements that apply a staging table to its target, per write mode and upsert style.

Built with SQLAlchemy Core (values bound, names quoted by the dialect), except MERGE, which Core does
not have: that one is composed from names quoted by the dialect's identifier preparer. Rows match on
the write key, which is unique and never null in the staging table (`resolve_duplicate_keys`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeAlias

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite

from ingest_assets.plan.window import KeyBucket, RowFilter
from ingest_assets.sql.bound import text_clause
from ingest_assets.sql.text import dialect_quote
from ingest_assets.sql.window import condition
from ingest_assets.stores.sql.ddl import quoted_table, statement
from ingest_assets.stores.sql.dialects import UpsertStyle

_ON_CONFLICT_INSERTS: dict[str, Callable[[sa.Table], postgresql.Insert | sqlite.Insert]] = {
    "postgresql": postgresql.insert, "sqlite": sqlite.insert,
}

# The rows of a partition window: SQL text with bound values, or TRUE for a range with no bounds.
WindowCondition: TypeAlias = sa.ColumnElement[bool] | sa.TextClause


def window_condition(window: RowFilter | KeyBucket, dialect: sa.Dialect, table: sa.Table) -> WindowCondition:
    """The rows of a partition window: the condition homes read by (`sql.window`), so a key bucket's
    shifted modulo and a range's bounds select here exactly the rows a partition read."""
    sql = condition(window, dialect_quote(dialect))
    if not sql:
        return sa.true()  # a range with no bounds
    return text_clause(sql, dialect, lambda column: table.c[column].type)


def count_rows(table: sa.Table, where: WindowCondition | None = None) -> sa.Select[int]:
    query = sa.select(sa.func.count()).select_from(table)
    return query if where is None else query.where(where)


def _keys_match(target: sa.Table, staging: sa.Table, keys: Sequence[str]) -> sa.ColumnElement[bool]:
    return sa.and_(*(target.c[key] == staging.c[key] for key in keys))


def insert_staged(target: sa.Table, staging: sa.Table, columns: Sequence[str]) -> sa.Insert:
    return sa.insert(target).from_select(list(columns), sa.select(*(staging.c[c] for c in columns)))


def delete_window(target: sa.Table, window: WindowCondition) -> sa.Delete:
    return sa.delete(target).where(window)


def count_existing_keys(target: sa.Table, staging: sa.Table, keys: Sequence[str]) -> sa.Select[int]:
    """Staged keys already in the target: the rows an upsert writes over."""
    return count_rows(staging, sa.exists().where(_keys_match(target, staging, keys)))


def delete_missing(target: sa.Table, staging: sa.Table, keys: Sequence[str],
                   window: WindowCondition | None) -> sa.Delete:
    """The target's rows (of the window) whose key is not in this load, a complete snapshot of them."""
    missing = ~sa.exists().where(_keys_match(target, staging, keys))
    return sa.delete(target).where(missing if window is None else sa.and_(window, missing))


def upsert(style: UpsertStyle, dialect: sa.Dialect, target: sa.Table, staging: sa.Table, columns: Sequence[str],
           keys: Sequence[str], merge_target_hint: str = "") -> list[sa.Executable]:
    """Statements that write the staged rows over the rows with their keys and insert the others.

    A row written over takes the staged values; target columns this load does not stage become NULL
    in it, as in an inserted row (the staged row replaces the old one).
    """
    updates = [c.name for c in target.columns if c.name not in keys]
    if style == "on_conflict":
        insert = _ON_CONFLICT_INSERTS[dialect.name](target).from_select(
            list(columns),
            # SQLite needs a WHERE to tell `SELECT .. ON CONFLICT` from a join's ON.
            sa.select(*(staging.c[c] for c in columns)).where(sa.true()),
        )
        if not updates:
            return [insert.on_conflict_do_nothing(index_elements=list(keys))]
        excluded = {name: (insert.excluded[name] if name in columns else sa.null()) for name in updates}
        return [insert.on_conflict_do_update(index_elements=list(keys), set_=excluded)]
    if style == "on_duplicate_key":
        mysql_insert = mysql.insert(target).from_select(list(columns), sa.select(*(staging.c[c] for c in columns)))
        # Every key column "updated" to itself when there is nothing else: a no-op that keeps the row.
        values = {name: (mysql_insert.inserted[name] if name in columns else sa.null()) for name in updates}
        return [mysql_insert.on_duplicate_key_update(values or {key: mysql_insert.inserted[key] for key in keys})]
    if style == "merge":
        return [merge(dialect, target, staging, columns, keys, updates, merge_target_hint)]
    match = _keys_match(target, staging, keys)
    statements: list[sa.Executable] = []
    if updates:
        assignments = {name: (sa.select(staging.c[name]).where(match).scalar_subquery() if name in columns
                              else sa.null()) for name in updates}
        statements.append(sa.update(target).where(sa.exists().where(match)).values(assignments))
    new_rows = sa.select(*(staging.c[c] for c in columns)).where(~sa.exists().where(match))
    statements.append(sa.insert(target).from_select(list(columns), new_rows))
    return statements


def merge(dialect: sa.Dialect, target: sa.Table, staging: sa.Table, columns: Sequence[str], keys: Sequence[str],
          updated: Sequence[str], target_hint: str = "") -> sa.TextClause:
    """Standard MERGE: SQL Server's upsert, which PostgreSQL 15+ runs too."""
    quote = dialect_quote(dialect)
    target_alias, staged_alias = "ingest_target", "ingest_staged"

    def staged(name: str) -> str:
        return f"{staged_alias}.{quote(name)}"

    matched = " AND ".join(f"{target_alias}.{quote(k)} = {staged(k)}" for k in keys)
    sets = ", ".join(f"{quote(name)} = {staged(name) if name in columns else 'NULL'}" for name in updated)
    hint = f" {target_hint}" if target_hint else ""
    sql = (
        f"MERGE INTO {quoted_table(dialect, target)}{hint} AS {target_alias} "
        f"USING {quoted_table(dialect, staging)} AS {staged_alias} ON {matched}"
        + (f" WHEN MATCHED THEN UPDATE SET {sets}" if sets else "")
        + f" WHEN NOT MATCHED THEN INSERT ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join(staged(c) for c in columns)});"
    )
    return statement(sql)
