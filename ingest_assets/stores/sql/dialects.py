"""What each database can do, as data: the apply code reads these traits, it never tests a dialect name.

Looked up by SQLAlchemy's dialect name; a dialect not listed gets the portable defaults, which need
nothing beyond standard SQL (UPDATE then INSERT, DELETE, CREATE TABLE).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# How staged rows with a key replace the existing ones:
# - on_conflict: INSERT .. SELECT .. ON CONFLICT (keys) DO UPDATE (PostgreSQL, SQLite; needs the primary key);
# - merge: standard MERGE (SQL Server; PostgreSQL 15+ runs it too);
# - on_duplicate_key: INSERT .. SELECT .. ON DUPLICATE KEY UPDATE (MySQL, MariaDB);
# - update_then_insert: UPDATE the matching rows, then INSERT the others (any SQL database).
UpsertStyle = Literal["on_conflict", "merge", "on_duplicate_key", "update_then_insert"]
# How a column's type is widened: ALTER COLUMN .. TYPE (PostgreSQL), ALTER COLUMN (SQL Server),
# MODIFY (MySQL); SQLite stores any value in any column (type affinity), so there is nothing to change.
WidenStyle = Literal["alter_type", "alter_column", "modify", "none"]
# Whole-table replace: drop the old table and rename the new one inside the transaction (ALTER TABLE ..
# RENAME TO, or SQL Server's sp_rename), or MySQL's atomic `RENAME TABLE a TO b, c TO a` (its DDL
# commits implicitly, so it cannot be in a transaction).
SwapStyle = Literal["alter_rename", "sp_rename", "rename_table"]


@dataclass(frozen=True)
class DialectTraits:
    upsert: UpsertStyle = "update_then_insert"
    widen: WidenStyle = "alter_type"
    swap: SwapStyle = "alter_rename"
    schemas: bool = True  # False: `schema.table` becomes one name (see `names`)
    create_schema_if_not_exists: bool = True
    add_column_keyword: str = "ADD COLUMN"
    # Taken first in the apply transaction, so concurrent commits to one table (partitions of a
    # backfill) run one after the other and each measures only its own change; readers go on.
    lock_table: str | None = None  # a statement with `{table}`, the quoted table name
    begin: str | None = None  # a statement opening the transaction instead of the driver's BEGIN
    merge_target_hint: str = ""  # after the MERGE target
    unlogged_stage: bool = False  # CREATE UNLOGGED TABLE for the staging table
    max_decimal_precision: int = 38


_MYSQL = DialectTraits(
    upsert="on_duplicate_key", widen="modify", swap="rename_table", max_decimal_precision=65,
    lock_table="SELECT count(*) FROM {table} FOR UPDATE",
)
DIALECTS: dict[str, DialectTraits] = {
    "postgresql": DialectTraits(
        upsert="on_conflict", lock_table="LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE",
        unlogged_stage=True, max_decimal_precision=1000,
    ),
    "mssql": DialectTraits(
        upsert="merge", widen="alter_column", swap="sp_rename", create_schema_if_not_exists=False,
        add_column_keyword="ADD",
        # An update lock on the whole table: other writers wait, readers (shared locks) do not.
        lock_table="SELECT count(*) FROM {table} WITH (TABLOCK, UPDLOCK, HOLDLOCK)",
        # Without HOLDLOCK, MERGE checks for a match and inserts under separate locks, so two
        # concurrent MERGEs can both insert one key.
        merge_target_hint="WITH (HOLDLOCK)",
    ),
    "mysql": _MYSQL,
    "mariadb": _MYSQL,
    "sqlite": DialectTraits(
        upsert="on_conflict", widen="none", schemas=False,
        # pysqlite opens a transaction only before DML, so DDL would commit on its own; BEGIN
        # IMMEDIATE also takes the write lock up front, serializing concurrent commits.
        begin="BEGIN IMMEDIATE",
        # SQLite keeps NUMERIC values as 8-byte floats, exact to 15 significant digits.
        max_decimal_precision=15,
    ),
}


def traits_of(dialect_name: str) -> DialectTraits:
    return DIALECTS.get(dialect_name, DialectTraits())
