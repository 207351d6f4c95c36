"""Statements for SQLAlchemy dialects: text whose only binds are its values, each typed for its column.

The text (quoted names, the user's query) is escaped, so a colon in it is never taken for a bind.
The SQL Server case is why binding is typed: pyodbc sends a Python datetime as `datetime2(7)`, and
SQL Server then compares a legacy `datetime` column (1/300 s ticks: .003, .007) after widening it to
`datetime2`, so `col > @cursor` stays true for the row the cursor came from and an incremental load
re-reads it for ever. Casting the parameter to the column's own type makes the comparison exact.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mssql

from ingest_assets.sql.statement import Sql

# A column's declared type (None: unknown, e.g. a column of a user's query).
ColumnType = Callable[[str], sa.types.TypeEngine[Any] | None]


def _is_legacy_datetime(column_type: sa.types.TypeEngine[Any] | None) -> bool:
    return isinstance(column_type, (sa.DATETIME, mssql.SMALLDATETIME)) and not isinstance(
        column_type, (mssql.DATETIME2, mssql.DATETIMEOFFSET)
    )


def value_sql(dialect: sa.Dialect, column_type: sa.types.TypeEngine[Any] | None, placeholder: str) -> str:
    """The SQL for a bound value compared with a column of `column_type`."""
    if dialect.name == "mssql" and _is_legacy_datetime(column_type):
        assert column_type is not None
        return f"CAST({placeholder} AS {dialect.type_compiler_instance.process(column_type)})"
    return placeholder


def bind_type(column_type: sa.types.TypeEngine[Any] | None, value: object) -> sa.types.TypeEngine[Any] | None:
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


def literal(text: str) -> str:
    """Text as `sa.text` keeps it: a colon escaped, so it is no bind."""
    return text.replace(":", r"\:")


def text_clause(sql: Sql, dialect: sa.Dialect, column_type: ColumnType) -> sa.TextClause:
    """`sql` for the dialect: each value a `:name` bind typed for its column (and cast where SQL Server
    needs it), every other character kept as written."""
    def typed(value_column: str | None) -> sa.types.TypeEngine[Any] | None:
        return column_type(value_column) if value_column is not None else None

    rendered = sql.render(lambda name, value: value_sql(dialect, typed(value.column), f":{name}"), literal)
    return sa.text(rendered.text).bindparams(*(
        sa.bindparam(name, value.value, type_=bind_type(typed(value.column), value.value))
        for name, value in rendered.values.items()
    ))
