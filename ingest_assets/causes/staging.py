"""Terminal causes found between staging and commit: the staged rows are not the rows read, or the
rows of an upsert/merge do not identify one row per write key. Nothing was committed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from ingest_assets.causes.base import TerminalError

# ---- staging and count mismatches ----------------------------------------------------------------


class StagingError(TerminalError):
    """What was staged does not match what was read, or does not fit the table; `label` names the load."""


class StagedCountMismatch(StagingError):
    """The rows counted back from the staged files differ from the rows read (or transformed)."""

    def __init__(self, *, rows_out: int, rows_staged: int, transformed: bool) -> None:
        self.rows_out, self.rows_staged, self.transformed = rows_out, rows_staged, transformed
        super().__init__(
            f"{rows_out} rows were {'transformed' if transformed else 'read'} but {rows_staged} were "
            "staged -> nothing was committed; run again, and report this if it repeats"
        )


class BatchColumnsChanged(StagingError):
    """A batch's columns differ from the first batch's (`expected_by="first_batch"`) or from the
    layout planned for the load (`expected_by="layout"`): the source changed during the read."""

    def __init__(self, *, label: str, columns: Sequence[str], expected: Sequence[str],
                 expected_by: Literal["first_batch", "layout"]) -> None:
        self.label, self.columns, self.expected, self.expected_by = label, tuple(columns), tuple(expected), expected_by
        compared = "the first had" if expected_by == "first_batch" else "the layout stages"
        super().__init__(f"{label}: a batch has columns {list(self.columns)}, {compared} {list(self.expected)} "
                         "-> the source's columns changed during the read; run again")


class BatchDoesNotFit(StagingError):
    """A batch's values cannot be cast to the schema of the first batch."""

    def __init__(self, *, label: str, reason: str) -> None:
        self.label, self.reason = label, reason
        super().__init__(f"{label}: a batch does not fit the schema of the first batch: {reason}")


class StagedRowsDoNotFit(StagingError):
    """The database refuses to convert the staged rows to the table's column types."""

    def __init__(self, *, label: str, reason: str) -> None:
        self.label, self.reason = label, reason
        super().__init__(f"{label}: the staged rows do not fit the table ({reason}) -> nothing was written")


class StagedLayoutMismatch(StagingError):
    """The staged files do not hold the columns the schema layout planned (a bug)."""

    def __init__(self, *, label: str, problems: Sequence[str]) -> None:
        self.label, self.problems = label, tuple(problems)
        super().__init__(f"{label}: {'; '.join(self.problems)} -> nothing was written; the schema layout "
                         "does not fit the staged data (a bug: please report it)")


class CommitBeforeStaging(StagingError):
    """A store's commit was called before its staging finished (a bug)."""

    def __init__(self, *, label: str) -> None:
        self.label = label
        super().__init__(f"{label}: commit() before finish_staging() -> nothing was written (a bug: please report it)")


class StagedFileCollision(StagingError):
    """A staged file's name, which carries the run token, is taken already (a bug)."""

    def __init__(self, *, path: Path | str) -> None:
        self.path = path
        super().__init__(f"{path} already exists -> nothing was written (a bug: please report it)")


# ---- write keys ----------------------------------------------------------------------------------


class WriteKeyError(TerminalError):
    """The staged rows of an upsert/merge do not identify one row per write key (`keys`)."""

    label: str
    keys: tuple[str, ...]


class NullWriteKey(WriteKeyError):
    """Rows have a null in a write key column, so they identify no row to update."""

    def __init__(self, *, label: str, keys: Sequence[str], rows: int) -> None:
        self.label, self.keys, self.rows = label, tuple(keys), rows
        super().__init__(
            f"{label}: {rows} rows have a null write key ({', '.join(self.keys)}) -> nothing was written; "
            "a key identifies the row to update, so filter those rows out in the query or choose another write_key"
        )


class WriteKeyNotUnique(WriteKeyError):
    """A write key repeats in the load and no watermark says which row is the latest."""

    def __init__(self, *, label: str, keys: Sequence[str], example: str, count: int) -> None:
        self.label, self.keys, self.example, self.count = label, tuple(keys), example, count
        super().__init__(
            f"{label}: the write key ({', '.join(self.keys)}) is not unique in this load ({example} appears "
            f"{count} times) -> nothing was written; declare a watermark so the latest row of a key wins, or "
            "choose a write_key that is unique in the source"
        )


class LatestRowTied(WriteKeyError):
    """Rows of one write key share the latest `latest_by` value, so none of them is the latest."""

    def __init__(self, *, label: str, keys: Sequence[str], example: str, latest_by: str) -> None:
        self.label, self.keys, self.example, self.latest_by = label, tuple(keys), example, latest_by
        super().__init__(
            f"{label}: rows with the same write key ({example}) also have the same {latest_by}, so neither is "
            "the latest -> nothing was written; make the key unique in the source, or choose a write_key that is"
        )
