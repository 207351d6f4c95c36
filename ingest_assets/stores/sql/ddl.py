"""Tables of a load: built from Arrow schemas with SQLAlchemy Core, created and evolved per dialect.

Names are quoted by the dialect's identifier preparer; DDL holds no values. SQLAlchemy Core has no
ALTER constructs, so those are composed from quoted names and types compiled by the dialect.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.schema import CreateIndex, CreateSchema, CreateTable, DropTable

from ingest_assets.sql.bound import literal
from ingest_assets.sql.text import dialect_quote
from ingest_assets.stores.sql.dialects import DialectTraits
from ingest_assets.stores.sql.names import TableName
from ingest_assets.stores.sql.types import sql_type


def table_object(name: TableName, schema: pa.Schema, dialect: sa.Dialect, traits: DialectTraits,
                 keys: tuple[str, ...] = (), primary_key: bool = False, unlogged: bool = False) -> sa.Table:
    """A table with `schema`'s columns; with `primary_key`, the key columns are its NOT NULL primary key
    (which ON CONFLICT and ON DUPLICATE KEY need). Key columns get indexable types either way, so a
    staging table's columns are exactly its target's."""
    columns = [
        sa.Column(field.name, sql_type(field, dialect.name, traits, is_key=field.name in keys),
                  primary_key=primary_key and field.name in keys, nullable=not (primary_key and field.name in keys),
                  autoincrement=False)  # else a single integer key becomes SERIAL / IDENTITY
        for field in schema
    ]
    prefixes = ["UNLOGGED"] if unlogged else []
    return sa.Table(name.name, sa.MetaData(), *columns, schema=name.schema, prefixes=prefixes)


def statement(sql: str) -> sa.TextClause:
    """Text made of quoted identifiers and keywords only; a colon inside a quoted name is not a bind."""
    return sa.text(literal(sql))


def quoted_table(dialect: sa.Dialect, table: sa.Table) -> str:
    quote = dialect_quote(dialect)
    return ".".join(quote(part) for part in (table.schema, table.name) if part is not None)


def ensure_schema(connection: sa.Connection, name: TableName, traits: DialectTraits) -> None:
    if name.schema is None:
        return
    if traits.create_schema_if_not_exists:
        connection.execute(CreateSchema(name.schema, if_not_exists=True))
    elif not sa.inspect(connection).has_schema(name.schema):
        connection.execute(CreateSchema(name.schema))


def create_table(connection: sa.Connection, table: sa.Table) -> None:
    connection.execute(CreateTable(table))


def drop_table(connection: sa.Connection, table: sa.Table) -> None:
    connection.execute(DropTable(table, if_exists=True))


def add_column_statements(dialect: sa.Dialect, table: sa.Table, names: tuple[str, ...],
                          traits: DialectTraits) -> list[sa.TextClause]:
    """New columns are nullable: the rows already there have no value for them."""
    return [
        statement(f"ALTER TABLE {quoted_table(dialect, table)} {traits.add_column_keyword} "
                  f"{dialect_quote(dialect)(name)} {table.c[name].type.compile(dialect=dialect)}")
        for name in names
    ]


def widen_statements(dialect: sa.Dialect, table: sa.Table, nullable: dict[str, bool],
                     traits: DialectTraits) -> list[sa.TextClause]:
    """Change the columns `nullable` names to `table`'s (wider) types. SQL Server's ALTER COLUMN and
    MySQL's MODIFY restate the whole column, so each keeps the NULL / NOT NULL it has now."""
    if traits.widen == "none":
        return []  # SQLite: any column holds any value (type affinity); a declared type is only a hint
    target = quoted_table(dialect, table)
    statements = []
    for name, is_nullable in nullable.items():
        column = dialect_quote(dialect)(name)
        new_type = table.c[name].type.compile(dialect=dialect)
        nullability = "NULL" if is_nullable else "NOT NULL"
        statements.append(statement({
            "alter_type": f"ALTER TABLE {target} ALTER COLUMN {column} TYPE {new_type}",
            "alter_column": f"ALTER TABLE {target} ALTER COLUMN {column} {new_type} {nullability}",
            "modify": f"ALTER TABLE {target} MODIFY {column} {new_type} {nullability}",
        }[traits.widen]))
    return statements


def evolve(connection: sa.Connection, table: sa.Table, added: tuple[str, ...], widened: tuple[str, ...],
           traits: DialectTraits) -> None:
    """Add `added` and widen `widened` on the existing table."""
    dialect = connection.dialect
    nullable: dict[str, bool] = {}
    if widened:
        existing = {c["name"]: c["nullable"] for c in sa.inspect(connection).get_columns(table.name, schema=table.schema)}
        nullable = {name: existing[name] for name in widened}
    for change in add_column_statements(dialect, table, added, traits) + widen_statements(dialect, table, nullable, traits):
        connection.execute(change)


def swap_in(connection: sa.Connection, new: sa.Table, target: sa.Table, retired: sa.Table, exists: bool,
            traits: DialectTraits) -> None:
    """Put `new` where `target` is. In one transaction where DDL is transactional (PostgreSQL, SQL
    Server, SQLite); MySQL's RENAME TABLE swaps both names in one atomic step instead."""
    dialect = connection.dialect
    if traits.swap == "rename_table":
        renames = [f"{quoted_table(dialect, new)} TO {quoted_table(dialect, target)}"]
        if exists:
            renames.insert(0, f"{quoted_table(dialect, target)} TO {quoted_table(dialect, retired)}")
        connection.execute(statement("RENAME TABLE " + ", ".join(renames)))
        drop_table(connection, retired)
        return
    if exists:
        drop_table(connection, target)
    if traits.swap == "sp_rename":
        # sp_rename takes the names as values: the current one qualified and quoted, the new one bare.
        connection.execute(sa.text("EXEC sp_rename :current, :new"),
                           {"current": quoted_table(dialect, new), "new": target.name})
    else:
        connection.execute(statement(
            f"ALTER TABLE {quoted_table(dialect, new)} RENAME TO {dialect_quote(dialect)(target.name)}"
        ))


def ensure_key_index(connection: sa.Connection, table: sa.Table, keys: tuple[str, ...]) -> None:
    """A unique index on the write key where the table has no primary key or unique index on exactly
    those columns (a table first written by append or replace): ON CONFLICT and ON DUPLICATE KEY
    need one, and every style needs an index to find a key's row without scanning the table."""
    inspector = sa.inspect(connection)
    wanted = set(keys)
    # An index's column_names hold None for an expression, which never matches a key.
    unique_sets: list[Sequence[str | None]] = [
        inspector.get_pk_constraint(table.name, schema=table.schema)["constrained_columns"]]
    unique_sets += [c["column_names"] for c in inspector.get_unique_constraints(table.name, schema=table.schema)]
    unique_sets += [i["column_names"] for i in inspector.get_indexes(table.name, schema=table.schema) if i["unique"]]
    if any(set(columns) == wanted for columns in unique_sets):
        return
    index = sa.Index(f"ux_{table.name}_write_key"[:60], *(table.c[key] for key in keys), unique=True)
    connection.execute(CreateIndex(index))
