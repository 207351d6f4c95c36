"""Terminal causes in the shape of the data: columns the entity names that are missing or taken,
schema changes the entity or its destination refuses, and column types a store cannot hold."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ingest_assets.causes.base import TerminalError

if TYPE_CHECKING:
    import pyarrow as pa
    import sqlalchemy as sa


def _names(columns: Iterable[str]) -> str:
    return ", ".join(columns)


# ---- missing or unexpected columns ---------------------------------------------------------------


class ColumnError(TerminalError):
    """A column the entity names is missing (`columns`), or one it adds is taken.

    Messages show `columns` as a Python list (`['a', 'b']`) and `available` comma-separated.
    """

    columns: tuple[str, ...]


class RowSelectionColumnsMissing(ColumnError):
    """Columns that select the rows to read (watermark, partition, key partitions) are not in the
    source (checked before a transform, which reads the source)."""

    def __init__(self, *, columns: Sequence[str], available: Sequence[str]) -> None:
        self.columns, self.available = tuple(columns), tuple(available)
        super().__init__(f"columns {list(self.columns)} select the rows to read but are not in the source -> "
                         f"source columns: {_names(self.available)}")


class EntityColumnsMissing(ColumnError):
    """Columns the entity's settings name (keys, write key, checks, row selection) are not in the source."""

    def __init__(self, *, columns: Sequence[str], available: Sequence[str]) -> None:
        self.columns, self.available = tuple(columns), tuple(available)
        super().__init__(f"columns {list(self.columns)} named in the entity's settings are not in the source -> "
                         f"source columns: {_names(self.available)}")


class TransformOutputColumnsMissing(ColumnError):
    """Columns the entity's settings name are not in its transform's output."""

    def __init__(self, *, columns: Sequence[str], available: Sequence[str]) -> None:
        self.columns, self.available = tuple(columns), tuple(available)
        super().__init__(f"columns {list(self.columns)} named in the entity's settings are not in the transform's "
                         f"output -> keep or compute them in the transform (its columns: {_names(self.available)})")


class RowHashColumnsMissing(ColumnError):
    """`audit.row_hash.columns` names columns the source does not have."""

    def __init__(self, *, columns: Sequence[str], available: Sequence[str]) -> None:
        self.columns, self.available = tuple(columns), tuple(available)
        super().__init__(f"audit.row_hash.columns names {list(self.columns)} which the source does not have -> "
                         f"source columns: {_names(self.available)}")


class AuditColumnClash(ColumnError):
    """An audit column has the name of a source column."""

    def __init__(self, *, column: str) -> None:
        self.column, self.columns = column, (column,)
        super().__init__(f"audit column {column!r} is also a source column -> name the audit column differently "
                         "(audit: {...: <name>})")


class SourceColumnsMissing(ColumnError):
    """A home is asked for columns (`home.columns`, a row filter) that `source` does not have."""

    def __init__(self, *, columns: Sequence[str], source: str, available: Iterable[str]) -> None:
        self.columns, self.source, self.available = tuple(columns), source, tuple(available)
        super().__init__(f"columns {list(self.columns)} are not in {source} -> columns there: {_names(self.available)}")


class SourceColumnMissing(ColumnError):
    """A home is asked for one column (a watermark's maximum, a filter) that `source` does not have."""

    def __init__(self, *, column: str, source: str, available: Iterable[str]) -> None:
        self.column, self.columns, self.source, self.available = column, (column,), source, tuple(available)
        super().__init__(f"column {column!r} is not in {source} -> columns there: {_names(self.available)}")


# ---- schema changes refused ----------------------------------------------------------------------


class SchemaError(TerminalError):
    """The source's columns changed in a way the entity or its destination cannot follow, or a column's
    type cannot be stored; nothing was written."""


class SchemaChangesRefused(SchemaError):
    """The entity's `schema_changes` policy refuses the changes found (`changes`: their descriptions)."""

    def __init__(self, *, policy: str, changes: Sequence[str]) -> None:
        self.policy, self.changes = policy, tuple(changes)
        super().__init__(f"the source's columns changed in a way schema_changes: {policy} does not allow -> "
                         "nothing was written; " + "; ".join(self.changes))


class TableMustBeRebuilt(SchemaError):
    """The policy allows the changes, but the destination cannot apply them to its table (`reasons`)."""

    def __init__(self, *, destination: str, reasons: Sequence[str]) -> None:
        self.destination, self.reasons = destination, tuple(reasons)
        super().__init__(
            f"{destination} cannot follow this load: {'; '.join(self.reasons)}. The table must be rebuilt -> "
            "nothing was written; run once with run config {rebuild: true} to drop it and load everything again"
        )


class ColumnTypeUnsupported(SchemaError):
    """A column's type has no counterpart on the other side (Arrow <-> the store's SQL dialect)."""

    column: str


class DecimalTooWide(ColumnTypeUnsupported):
    """A decimal column has more digits than the store's dialect holds."""

    def __init__(self, *, column: str, arrow_type: pa.DataType, dialect: str, max_precision: int) -> None:
        self.column, self.arrow_type, self.dialect, self.max_precision = column, arrow_type, dialect, max_precision
        super().__init__(
            f"column {column!r} is {arrow_type}, but {dialect} holds at most {max_precision} decimal digits -> "
            f"nothing was written; cast it in the entity's query to a decimal of at most {max_precision} digits "
            "(or to text)"
        )


class ArrowTypeUnwritable(ColumnTypeUnsupported):
    """A column's Arrow type has no SQL type in the store's dialect."""

    def __init__(self, *, column: str, arrow_type: pa.DataType, dialect: str) -> None:
        self.column, self.arrow_type, self.dialect = column, arrow_type, dialect
        super().__init__(
            f"column {column!r} has the Arrow type {arrow_type}, which the {dialect} store cannot write -> "
            "nothing was written; cast it in the entity's query to a number, text, binary, date or timestamp"
        )


class ColumnTypeUnreadable(ColumnTypeUnsupported):
    """A column of an existing destination table has a SQL type with no Arrow type (shown by repr)."""

    def __init__(self, *, column: str, table: str, column_type: sa.types.TypeEngine[Any]) -> None:
        self.column, self.table, self.column_type = column, table, column_type
        super().__init__(
            f"column {column!r} of {table} has the type {column_type!r}, which has no Arrow type here -> "
            "nothing was written; change the column to a number, text, binary, date or timestamp type, "
            "or write to another table"
        )
