"""Column types for SQLAlchemy homes: the Arrow type of a column, and the types SQL Server describes
for a query (how a value is bound for a column's type is `ingest_assets.sql.bound`).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import mssql


def arrow_type(column_type: sa.types.TypeEngine[Any]) -> pa.DataType | None:
    """The exact Arrow type of a SQL column type; None when only the data can tell."""
    if isinstance(column_type, sa.Boolean):
        return pa.bool_()
    if isinstance(column_type, sa.SmallInteger):
        return pa.int16()
    if isinstance(column_type, (sa.BigInteger, sa.Integer)):
        return pa.int64()
    if isinstance(column_type, sa.Float):
        return pa.float64()
    if isinstance(column_type, sa.Numeric):
        if column_type.precision is not None:
            return pa.decimal128(column_type.precision, column_type.scale or 0)
        return None
    if isinstance(column_type, sa.DateTime):
        return pa.timestamp("us", tz="UTC" if column_type.timezone else None)
    if isinstance(column_type, sa.Date):
        return pa.date32()
    if isinstance(column_type, sa.Time):
        return pa.time64("us")
    if isinstance(column_type, sa.Uuid):
        return pa.uuid() if column_type.as_uuid else pa.string()
    if isinstance(column_type, (sa.String, sa.Enum)):
        return pa.string()
    # BINARY and VARBINARY are not LargeBinary in SQLAlchemy (MySQL's, and SQL Server's BINARY).
    if isinstance(column_type, (sa.LargeBinary, sa.BINARY, sa.VARBINARY)):
        return pa.binary()
    return None


def describe_query_types(connection: sa.Connection, query: str) -> dict[str, sa.types.TypeEngine[Any]]:
    """Column types of a query's result where the dialect can describe them without running it.

    Only SQL Server needs them (for the legacy `datetime` casts, see `sql.bound`); its catalog function
    describes the first result set of any statement.
    """
    if connection.dialect.name != "mssql":
        return {}
    rows = connection.execute(
        sa.text("SELECT name, system_type_name FROM sys.dm_exec_describe_first_result_set(:tsql, NULL, 0)"),
        {"tsql": query},
    )
    legacy = {"datetime": sa.DATETIME(), "smalldatetime": mssql.SMALLDATETIME()}
    return {name: legacy[type_name] for name, type_name in rows if type_name in legacy}
