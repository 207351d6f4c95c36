"""Causes in reading a source (a home, or a derived asset's inputs): it is missing, refuses the read,
is busy, or holds values that do not fit. Missing columns are `ColumnError`s (columns.py)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ingest_assets.causes.base import IngestError, TerminalError, TransientError

if TYPE_CHECKING:
    import pyarrow as pa


class SourceError(IngestError):
    """The source cannot be read as the entity asks.

    Never raised itself: each cause below is also a TerminalError or a TransientError.
    """


# ---- the home's database -------------------------------------------------------------------------


class HomeDatabaseUnavailable(SourceError, TransientError):
    """The home database cannot be reached, or the driver reports a transient condition (by class and
    SQLSTATE, where it gives one)."""

    def __init__(self, *, reason: str, sqlstate: str | None = None) -> None:
        self.reason, self.sqlstate = reason, sqlstate
        super().__init__(f"home database error: {reason}")


class HomeDatabaseRefused(SourceError, TerminalError):
    """The home database refuses the read (a bad query, missing privileges, a refused login)."""

    def __init__(self, *, reason: str, sqlstate: str | None = None, fix: str | None = None) -> None:
        self.reason, self.sqlstate, self.fix = reason, sqlstate, fix
        super().__init__(f"the home database refused the read: {reason}" + (f" -> {fix}" if fix else ""))


class SourceTableMissing(SourceError, TerminalError):
    """`home.table` does not exist in the home database (`tables`: the ones there)."""

    def __init__(self, *, table: str, tables: Sequence[str]) -> None:
        self.table, self.tables = table, tuple(tables)
        super().__init__(f"table {table!r} does not exist in the home database -> tables "
                         f"there: {', '.join(self.tables) or 'none'}")


class SourceDatabaseMissing(SourceError, TerminalError):
    """An embedded home database file (`engine`: e.g. DuckDB) does not exist."""

    def __init__(self, *, engine: str, database: Path | str) -> None:
        self.engine, self.database = engine, database
        super().__init__(f"{engine} home database {database} does not exist -> check the connection's path")


class SourceQueryInvalid(SourceError, TerminalError):
    """The home's engine cannot bind or parse the read of `source` (`home.table` / `home.query`)."""

    def __init__(self, *, engine: str, source: str, reason: str) -> None:
        self.engine, self.source, self.reason = engine, source, reason
        super().__init__(f"{engine} home cannot read {source}: {reason} -> check home.table or home.query")


class MaxValueUnreadable(SourceError, TerminalError):
    """The home's engine cannot compute the maximum of the watermark `column` of `source`."""

    def __init__(self, *, engine: str, column: str, source: str, reason: str) -> None:
        self.engine, self.column, self.source, self.reason = engine, column, source, reason
        super().__init__(f"{engine} home cannot read max({column}) of {source}: {reason}")


class UnexpectedSnapshot(SourceError, TerminalError):
    """The server returned a snapshot id that is not one (it is put into SQL, so it is checked)."""

    def __init__(self, *, snapshot: str) -> None:
        self.snapshot = snapshot
        super().__init__(f"unexpected snapshot id from the server: {snapshot!r}")


class ParallelColumnUnsplittable(SourceError, TerminalError):
    """`parallel.column` holds values that cannot be split into ranges (`value`: one of them)."""

    def __init__(self, *, column: str, value: object) -> None:
        self.column, self.value = column, value
        super().__init__(
            f"parallel.column {column!r} holds {type(value).__name__} values -> parallel reads split an integer, "
            "date or timestamp column into ranges; choose such a column (usually the primary key)"
        )


# ---- files ---------------------------------------------------------------------------------------


class NoFilesMatch(SourceError, TerminalError):
    """A glob `home.path` matches no file in the folder."""

    def __init__(self, *, file_format: str, pattern: str, folder: Path | str) -> None:
        self.file_format, self.pattern, self.folder = file_format, pattern, folder
        super().__init__(f"no {file_format} files match {pattern!r} in {folder} -> check the entity's home.path")


class SourcePathMissing(SourceError, TerminalError):
    """`home.path` (a file or a folder) does not exist in the folder."""

    def __init__(self, *, file_format: str, path: str, folder: Path | str) -> None:
        self.file_format, self.path, self.folder = file_format, path, folder
        super().__init__(f"{file_format} home path {path!r} does not exist in {folder} -> check the entity's "
                         "home.path (a file, a folder or a glob such as 'orders/*.parquet')")


class DeltaTableUnreadable(SourceError, TerminalError):
    """`home.path` is not a Delta table this home can read: missing, not a table, or of unsupported features."""

    def __init__(self, *, path: str, folder: Path | str, problem: str, fix: str) -> None:
        self.path, self.folder, self.problem, self.fix = path, folder, problem, fix
        super().__init__(f"delta home path {path!r} in {folder} {problem} -> {fix}")


# ---- values that do not fit ----------------------------------------------------------------------


class SourceValueDoesNotFit(SourceError, TerminalError):
    """A value read from the source does not fit its column's type, or the meaning its column has."""


class BatchValueDoesNotFit(SourceValueDoesNotFit):
    """A fetched row's value cannot become an Arrow value of the column types `schema`."""

    def __init__(self, *, schema: pa.Schema, reason: str) -> None:
        self.schema, self.reason = schema, reason
        super().__init__(f"a source value does not fit the column types {schema}: {reason}")


class FetchedValueDoesNotFit(SourceValueDoesNotFit):
    """The driver cannot convert a stored value to its column's type (e.g. text in NUMERIC)."""

    def __init__(self, *, source: str, rows_before: int, reason: str) -> None:
        self.source, self.rows_before, self.reason = source, rows_before, reason
        super().__init__(
            f"a source value does not fit the column types of {source} (in the rows after "
            f"row {rows_before:,}): {reason} -> fix the value at the source, or read it with a query that casts it"
        )


class SourceTextNotUtf8(SourceValueDoesNotFit):
    """A text column holds bytes that are not UTF-8 (SQLite stores whatever it is given as TEXT)."""

    def __init__(self, *, column: str, where: str) -> None:
        self.column, self.where = column, where
        super().__init__(
            f"column {column!r} holds text that is not valid UTF-8 ({where}) -> fix the value at the source, "
            f"or read the column as bytes with a query: SELECT ..., CAST({column} AS BLOB) AS {column}"
        )


class SourceFileUnreadable(SourceError, TerminalError):
    """A file of a file home (`path`: its home.path) cannot be read in its format (not a Parquet file, one cut
    off or empty). `file` is the file when the read knows which (a dataset's discovery does not); the message
    names it once: Arrow's `reason` usually does already ("Could not open Parquet input source '...'")."""

    def __init__(self, *, file_format: str, path: str, reason: str, file: str | None = None) -> None:
        self.file_format, self.path, self.reason, self.file = file_format, path, reason, file
        which = "a file" if file is None or file in reason else f"file {file}"
        super().__init__(f"{file_format} home {path!r}: {which} cannot be read as {file_format}: {reason} -> fix or "
                         f"remove that file, or narrow 'path:' to the good ones (a glob such as '*.{file_format}')")


class FileValueDoesNotFit(SourceValueDoesNotFit):
    """A file holds a value that does not fit its own column."""

    def __init__(self, *, source: str, reason: str) -> None:
        self.source, self.reason = source, reason
        super().__init__(f"{source} holds a value that does not fit its column: {reason} -> fix the file")


class BatchTypesChanged(SourceValueDoesNotFit):
    """A batch's types (`found`) cannot be cast to the first batch's (`expected`)."""

    def __init__(self, *, found: pa.Schema, expected: pa.Schema, reason: str) -> None:
        self.found, self.expected, self.reason = found, expected, reason
        super().__init__(f"the source's values changed type between batches ({found} vs "
                         f"{expected}): {reason} -> cast the column in a query")


class RowMarkerInvalid(SourceValueDoesNotFit):
    """`row_marker_column` holds values that are no row operation (`values`: up to five of them)."""

    def __init__(self, *, column: str, values: Sequence[str]) -> None:
        self.column, self.values = column, tuple(values)
        super().__init__(f"row_marker_column {column!r} holds {', '.join(self.values)}, which is not a row operation "
                         "-> use insert/update/delete/upsert (or I/U/D, or 0/1/2/4)")


# ---- a derived asset's inputs --------------------------------------------------------------------


class InputNotMaterialized(SourceError, TerminalError):
    """An input of a derived asset (`entity`) has no table in its store yet."""

    def __init__(self, *, entity: str, destination: str, derived_key: str) -> None:
        self.entity, self.destination, self.derived_key = entity, destination, derived_key
        super().__init__(f"input {entity} has not been written yet ({destination}) -> materialize it first "
                         f"(select the derived asset with its inputs: +{derived_key})")


class DerivedQueryFailed(SourceError, TerminalError):
    """DuckDB refused or failed a derived asset's query over its `inputs` (the views it may name)."""

    def __init__(self, *, reason: str, inputs: Sequence[str]) -> None:
        self.reason, self.inputs = reason, tuple(inputs)
        super().__init__(f"the query failed in DuckDB: {reason} -> nothing was written; fix 'sql' "
                         f"(the inputs are the views {', '.join(self.inputs)}; parameters are written $name)")


class InputDatabaseBusy(SourceError, TransientError):
    """An input's database file cannot be opened: another process holds its write lock (a commit)."""

    def __init__(self, *, database: str, reason: str) -> None:
        self.database, self.reason = database, reason
        super().__init__(f"cannot open the input database {database}: {reason}")
