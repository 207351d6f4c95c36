"""Column types: Arrow to the SQL type a dialect stores it as, and a reflected SQL type back to Arrow.

Portable SQLAlchemy types where every dialect renders the right thing (integers, floats, DECIMAL,
BOOLEAN/BIT, DATE, UUID/UNIQUEIDENTIFIER); per-dialect choices where the portable type is wrong:
SQL Server's TEXT family is deprecated and `DateTime` is second-precision legacy `DATETIME`, MySQL's
TEXT and BLOB stop at 64 KB and its DATETIME drops fractions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import mssql, mysql

from ingest_assets.errors import ArrowTypeUnwritable, ColumnTypeUnreadable, DecimalTooWide
from ingest_assets.homes.sql_types import arrow_type
from ingest_assets.stores.sql.dialects import DialectTraits

_DATE = sa.Date()  # one instance, shared by every TypeChoices that keeps the default


@dataclass(frozen=True)
class TypeChoices:
    text: sa.types.TypeEngine[Any]
    key_text: sa.types.TypeEngine[Any]  # a key column is indexed (the primary key), so it needs a bounded length
    binary: sa.types.TypeEngine[Any]
    key_binary: sa.types.TypeEngine[Any]
    timestamp: sa.types.TypeEngine[Any]
    timestamp_tz: sa.types.TypeEngine[Any]
    time: sa.types.TypeEngine[Any]
    date: sa.types.TypeEngine[Any] = _DATE


_PORTABLE = TypeChoices(
    text=sa.UnicodeText(), key_text=sa.Unicode(255), binary=sa.LargeBinary(), key_binary=sa.VARBINARY(255),
    timestamp=sa.DateTime(), timestamp_tz=sa.DateTime(timezone=True), time=sa.Time(),
)
_TYPE_CHOICES: dict[str, TypeChoices] = {
    "postgresql": TypeChoices(
        text=sa.Text(), key_text=sa.Text(), binary=sa.LargeBinary(), key_binary=sa.LargeBinary(),
        timestamp=sa.DateTime(), timestamp_tz=sa.DateTime(timezone=True), time=sa.Time(),
    ),
    "mssql": TypeChoices(
        # SQL Server cannot index a max type, and an index key holds at most 900 bytes: 450 NVARCHAR
        # characters (2 bytes each).
        text=mssql.NVARCHAR(None), key_text=mssql.NVARCHAR(450),
        # SQLAlchemy's mssql types have untyped constructors.
        binary=mssql.VARBINARY("max"), key_binary=mssql.VARBINARY(900),  # type: ignore[no-untyped-call]
        timestamp=mssql.DATETIME2(6), timestamp_tz=mssql.DATETIMEOFFSET(6),  # type: ignore[no-untyped-call]
        time=mssql.TIME(6),  # type: ignore[no-untyped-call]
        # The dialect renders the portable Date as DATETIME until it has met a server of 2008 or later.
        date=mssql.DATE(),
    ),
    "sqlite": TypeChoices(
        text=sa.Text(), key_text=sa.Text(), binary=sa.LargeBinary(), key_binary=sa.LargeBinary(),
        # SQLite keeps timestamps as text without an offset: zoned ones are stored in UTC.
        timestamp=sa.DateTime(), timestamp_tz=sa.DateTime(), time=sa.Time(),
    ),
}
_MYSQL = TypeChoices(
    # InnoDB's index key limit (3072 bytes, 768 utf8mb4 characters) is shared by the key columns.
    text=mysql.LONGTEXT(), key_text=mysql.VARCHAR(255), binary=mysql.LONGBLOB(), key_binary=mysql.VARBINARY(255),
    # DATETIME has no offset: zoned timestamps are stored in UTC (TIMESTAMP would end in 2038).
    timestamp=mysql.DATETIME(fsp=6), timestamp_tz=mysql.DATETIME(fsp=6), time=mysql.TIME(fsp=6),
)
_TYPE_CHOICES |= {"mysql": _MYSQL, "mariadb": _MYSQL}


def sql_type(
    field: pa.Field[pa.DataType], dialect_name: str, traits: DialectTraits, is_key: bool
) -> sa.types.TypeEngine[Any]:
    """The column type `field` is stored as in a table of `dialect_name`."""
    choices = _TYPE_CHOICES.get(dialect_name, _PORTABLE)
    arrow = field.type
    if pa.types.is_boolean(arrow):
        return sa.Boolean()
    if arrow in (pa.int8(), pa.int16(), pa.uint8()):
        return sa.SmallInteger()
    if arrow in (pa.int32(), pa.uint16()):
        return sa.Integer()
    if arrow in (pa.int64(), pa.uint32()):
        return sa.BigInteger()
    if arrow == pa.float32():
        return sa.REAL()
    if arrow == pa.float64():
        return sa.Double()
    if pa.types.is_decimal(arrow):
        if arrow.precision > traits.max_decimal_precision:
            raise DecimalTooWide(column=field.name, arrow_type=arrow, dialect=dialect_name,
                                 max_precision=traits.max_decimal_precision)
        return sa.Numeric(arrow.precision, arrow.scale)
    if pa.types.is_string(arrow) or pa.types.is_large_string(arrow) or pa.types.is_string_view(arrow):
        return choices.key_text if is_key else choices.text
    if pa.types.is_binary(arrow) or pa.types.is_large_binary(arrow) or pa.types.is_fixed_size_binary(arrow):
        return choices.key_binary if is_key else choices.binary
    if isinstance(arrow, pa.UuidType):
        return sa.Uuid()
    if pa.types.is_date(arrow):
        return choices.date
    if pa.types.is_timestamp(arrow):
        return choices.timestamp_tz if arrow.tz else choices.timestamp
    if pa.types.is_time(arrow):
        return choices.time
    raise ArrowTypeUnwritable(column=field.name, arrow_type=arrow, dialect=dialect_name)


def reflected_arrow_type(column_type: sa.types.TypeEngine[Any], column: str, table: str) -> pa.DataType:
    """The Arrow type of a reflected column, exact to the width, so schema evolution can compare it
    with the staged type (the homes' `arrow_type` reads every integer as int64)."""
    if isinstance(column_type, mysql.TINYINT) and column_type.display_width == 1:
        return pa.bool_()  # MySQL's BOOL is TINYINT(1)
    if isinstance(column_type, (mysql.TINYINT, mssql.TINYINT)):
        return pa.int16()  # signed on MySQL, 0..255 on SQL Server: int16 holds both
    if isinstance(column_type, sa.Integer) and not isinstance(column_type, (sa.SmallInteger, sa.BigInteger)):
        return pa.int32()
    if isinstance(column_type, sa.REAL):
        return pa.float32()
    if (isinstance(column_type, sa.Numeric) and not isinstance(column_type, sa.Float)
            and column_type.precision is not None and column_type.precision > 38):
        return pa.decimal256(column_type.precision, column_type.scale or 0)
    if isinstance(column_type, mssql.DATETIMEOFFSET):
        return pa.timestamp("us", tz="UTC")
    if isinstance(column_type, (mysql.TINYBLOB, mysql.MEDIUMBLOB, mysql.LONGBLOB)):
        return pa.binary()
    found = arrow_type(column_type)
    if found is None:
        raise ColumnTypeUnreadable(column=column, table=table, column_type=column_type)
    return found
