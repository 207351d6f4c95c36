"""The `load_record.LOADS_TABLE` of a database store: one row per table, in the table's schema.

It is created before the commit's transaction (MySQL commits DDL implicitly) and its row is
replaced inside it, so the record commits or rolls back with the rows it describes.
"""

from __future__ import annotations

import sqlalchemy as sa

from ingest_assets.stores.load_record import LOADS_TABLE, LoadRecord
from ingest_assets.stores.sql.names import TableName

TARGET_LENGTH = 255  # a qualified table name; within every dialect's limit for a primary key


def records_table(target: TableName) -> sa.Table:
    return sa.Table(
        LOADS_TABLE, sa.MetaData(),
        sa.Column("target", sa.String(TARGET_LENGTH), primary_key=True),
        sa.Column("record", sa.Text(), nullable=False),
        schema=target.schema,
    )


def ensure(connection: sa.Connection, target: TableName) -> None:
    records_table(target).create(connection, checkfirst=True)


def keep(connection: sa.Connection, target: TableName, record: LoadRecord) -> None:
    """Replace the table's record (a delete and an insert: the same on every dialect)."""
    table = records_table(target)
    connection.execute(sa.delete(table).where(table.c.target == str(target)))
    connection.execute(sa.insert(table).values(target=str(target), record=record.to_json()))


def read(connection: sa.Connection, target: TableName) -> LoadRecord | None:
    table = records_table(target)
    if not sa.inspect(connection).has_table(LOADS_TABLE, schema=target.schema):
        return None
    text = connection.execute(sa.select(table.c.record).where(table.c.target == str(target))).scalar_one_or_none()
    return LoadRecord.from_json(text) if text is not None else None
