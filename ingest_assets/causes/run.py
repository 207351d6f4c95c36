"""Terminal causes in what a run is asked to do: run config that conflicts with itself or with the
entity, and a watermark or committed cursor that cannot be used. Nothing was read when they raise."""

from __future__ import annotations

from ingest_assets.causes.base import TerminalError

# ---- run config conflicts ------------------------------------------------------------------------


class RunConfigConflict(TerminalError):
    """The run config asks for what the entity, or the rest of the run config, rules out."""


class IncrementalNeedsEveryRow(RunConfigConflict):
    """`run_type: incremental` reads rows past the watermark, but the write (a replace, or
    delete_missing) needs every row of the source."""

    def __init__(self, *, write: str, delete_missing: bool) -> None:
        self.write, self.delete_missing = write, delete_missing
        super().__init__(
            f"this run reads only the rows past the watermark, but {write}"
            f"{' with delete_missing' if delete_missing else ''} needs every row -> run without "
            "run config {run_type: incremental}"
        )


class RebuildOfPartition(RunConfigConflict):
    """`rebuild` replaces the whole table, and the run loads one partition."""

    def __init__(self) -> None:
        super().__init__("rebuild replaces the whole table, and this run loads one partition -> rebuild "
                         "runs without a partition; run the entity's partitions afterwards")


class SampleOfMirroredTable(RunConfigConflict):
    """`sample_rows` on a store that publishes (open mirroring): Fabric would replicate the sample."""

    def __init__(self, *, rows: int, table: str) -> None:
        self.rows, self.table = rows, table
        super().__init__(
            f"sample_rows: {rows} would replace the mirrored table {table} with a sample, which Fabric "
            "replicates (dropping the table first) -> sample into a development store, or run with run "
            "config {sample_rows: 0}"
        )


class SampleWithRebuild(RunConfigConflict):
    """The run config sets both `rebuild` and `sample_rows`."""

    def __init__(self, *, rows: int) -> None:
        self.rows = rows
        super().__init__(f"run config sets both rebuild (load everything) and sample_rows: {rows} -> keep one")


class SampleWithIncremental(RunConfigConflict):
    """The run config sets both `run_type: incremental` and `sample_rows`."""

    def __init__(self, *, rows: int) -> None:
        self.rows = rows
        super().__init__(
            f"run config sets both run_type: incremental (rows past the watermark) and sample_rows: {rows} (a "
            "sample that replaces the destination and records no watermark) -> keep one"
        )


# ---- the watermark and its cursor ----------------------------------------------------------------


class WatermarkError(TerminalError):
    """The watermark, or the cursor committed for it, cannot be used as it is."""


class WatermarkSettingsChanged(WatermarkError):
    """The entity's watermark column differs from the one its last cursor was committed with."""

    def __init__(self, *, committed_column: str, cursor_value: object, column: str) -> None:
        self.committed_column, self.cursor_value, self.column = committed_column, cursor_value, column
        super().__init__(
            f"the watermark column changed from {committed_column!r} (cursor {cursor_value}) to "
            f"{column!r} -> nothing was read; to reset deliberately, run once with run config "
            "{reset_watermark: true} (a full reload that starts a new cursor)"
        )


class WatermarkTypeUnsupported(WatermarkError):
    """The watermark column's type has no order a cursor could follow (a struct, a list, a map)."""

    def __init__(self, *, column: str, column_type: str) -> None:
        self.column, self.column_type = column, column_type
        super().__init__(f"watermark column {column!r} is a {column_type}, which has no order -> use a timestamp, "
                         "date, integer or string column")


class WatermarkValueUnsupported(WatermarkError):
    """The watermark column holds values a cursor cannot record (a boolean, bytes, ...)."""

    def __init__(self, *, value: object) -> None:
        self.value = value
        kind = "a boolean" if isinstance(value, bool) else f"a {type(value).__name__}"
        super().__init__(
            f"{kind} ({value!r}) cannot be a watermark -> use a timestamp, date, integer or string column"
        )


class LookbackNotApplicable(WatermarkError):
    """The lookback's kind (a duration, a number) does not fit the type of the watermark's values."""

    def __init__(self, *, lookback: str | int, value: object) -> None:
        self.lookback, self.value = lookback, value
        super().__init__(
            f"lookback {lookback!r} does not apply to a watermark value of type {type(value).__name__} -> a "
            "duration ('2h') for time columns, a number for integer columns"
        )
