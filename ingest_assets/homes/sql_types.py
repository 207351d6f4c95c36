"""Column types for SQLAlchemy homes: the Arrow type of a column, and how to bind a value for it.

The SQL Server case is why binding is typed: pyodbc sends a Python datetime as `datetime2(7)`, and
SQL Server then compares a legacy `datetime` column (1/300 s ticks: .003, .007) after widening it to
`datetime2`, so `col > @cursor` stays true for the row the cursor came from and an incremental load
re-reads it for ever. Casting the parameter to the column's own type makes the comparison exact.
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import mssql


def arrow_type(column_type: sa.types.TypeEngine) -> pa.DataType | None:
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


def _is_legacy_datetime(column_type: sa.types.TypeEngine | None) -> bool:
    return isinstance(column_type, (sa.DATETIME, mssql.SMALLDATETIME)) and not isinstance(
        column_type, (mssql.DATETIME2, mssql.DATETIMEOFFSET)
    )


def value_sql(dialect: sa.Dialect, column_type: sa.types.TypeEngine | None, placeholder: str) -> str:
    """The SQL for a bound value compared with a column of `column_type`."""
    if dialect.name == "mssql" and _is_legacy_datetime(column_type):
        assert column_type is not None
        return f"CAST({placeholder} AS {dialect.type_compiler_instance.process(column_type)})"
    return placeholder


def bind_type(column_type: sa.types.TypeEngine | None, value: object) -> sa.types.TypeEngine | None:
    """The type a value is bound with: the column's, unless the value is of another kind (e.g. an int
    compared with a text column), where the driver's own conversion is the honest one."""
    if column_type is None:
        return None
    try:
        python_type = column_type.python_type
    except NotImplementedError:
        return None
    if isinstance(value, python_type) or (python_type is datetime and isinstance(value, datetime)):
        return column_type
    return None


def describe_query_types(connection: sa.Connection, query: str) -> dict[str, sa.types.TypeEngine]:
    """Column types of a query's result where the dialect can describe them without running it.

    Only SQL Server needs them (for the legacy `datetime` casts above); its catalog function
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
