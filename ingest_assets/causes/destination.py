"""Causes at the destination: a table that is missing or not ours, a write the store cannot do, a
load held up by another, a failed commit, a landing zone that breaks Fabric's contract."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ingest_assets.causes.base import IngestError, TerminalError, TransientError


class DestinationError(IngestError):
    """The destination cannot take this load as it is.

    Never raised itself: each cause below is also a TerminalError or a TransientError.
    """


class DestinationMissing(DestinationError, TerminalError):
    """The destination table is gone, but the committed cursor says rows up to `cursor_value` were
    loaded: writing only the rows past it would silently lose the rest."""

    def __init__(self, *, destination: str, cursor_value: object) -> None:
        self.destination, self.cursor_value = destination, cursor_value
        super().__init__(
            f"the destination {destination} does not exist, but the committed watermark says rows up to "
            f"{cursor_value} were loaded -> run once with run config {{reset_watermark: true}} to reload everything"
        )


class DestinationOccupied(DestinationError, TerminalError):
    """The store's path holds something that is not a table written by ingest_assets."""

    def __init__(self, *, path: Path | str) -> None:
        self.path = path
        super().__init__(f"{path} exists and is not a table written by ingest_assets -> move it away or choose "
                         "another store path")


class WriteModeUnsupported(DestinationError, TerminalError):
    """The store was handed a write it cannot do (validated when the project loads: a bug)."""

    store: str


class FolderWriteModeUnsupported(WriteModeUnsupported):
    """A folder store (adls) was asked for a write other than append or replace of the whole folder."""

    def __init__(self, *, store: str, kind: str) -> None:
        self.store, self.kind = store, kind
        super().__init__(f"the {store} store appends or replaces a whole folder, not {kind} "
                         "(validated when the project loads)")


class PartitionReplaceUnsupported(WriteModeUnsupported):
    """A store that cannot replace a partition window was asked to."""

    def __init__(self, *, store: str) -> None:
        self.store = store
        super().__init__(f"{store} cannot replace a partition window (validated when the project loads)")


class KeySnapshotMissing(DestinationError, TerminalError):
    """`delete_missing` on a mirrored table that has no key set of a complete snapshot to compare with."""

    def __init__(self, *, table: str) -> None:
        self.table = table
        super().__init__(
            f"{table}: delete_missing needs the key set of the mirrored table's last complete snapshot, and "
            "there is none (the table was loaded before, or by upserts since) -> run once with run config "
            "{rebuild: true} to drop the mirrored table and load it again"
        )


# ---- held up by another load ---------------------------------------------------------------------


class LockHeld(DestinationError, TransientError):
    """Another run held the destination's lock file for longer than this run waits."""

    def __init__(self, *, path: Path | str, timeout_seconds: float) -> None:
        self.path, self.timeout_seconds = path, timeout_seconds
        super().__init__(f"another run held {path} for {timeout_seconds:.0f}s; retrying later")


class PublishInProgress(DestinationError, TransientError):
    """Another load of the same table holds the publish journal."""

    def __init__(self, *, journal: str) -> None:
        self.journal = journal
        super().__init__(f"another load of this table is being published ({journal}) "
                         "-> it finishes on its own, or the next run finishes it; run again then")


class TableLoadInProgress(DestinationError, TransientError):
    """Another load of the same table held the table's lock (it is preparing or publishing) for
    longer than this load waits; `holder` is what the lock file says about it."""

    def __init__(self, *, table: str, holder: str, lock: str, timeout_seconds: float) -> None:
        self.table, self.holder, self.lock, self.timeout_seconds = table, holder, lock, timeout_seconds
        super().__init__(f"{table}: another load of this table ({holder}) held its lock {lock} for "
                         f"{timeout_seconds:.0f}s -> one load of a table runs at a time; retrying later")


class TableChangedDuringLoad(DestinationError, TransientError):
    """Another run changed the table's columns after this one planned its layout; a retry plans again."""

    def __init__(self, *, label: str, problems: Sequence[str]) -> None:
        self.label, self.problems = label, tuple(problems)
        super().__init__(f"{label}: the table's columns changed since this run planned its layout "
                         f"({'; '.join(self.problems)}) -> nothing was written; run again")


class TableCommitConflict(DestinationError, TransientError):
    """Another writer committed to the table between this load's read of it and its own commit (a
    Delta Lake commit conflict): the commit was refused whole, so a retry reads the new version."""

    def __init__(self, *, location: str, reason: str) -> None:
        self.location, self.reason = location, reason
        super().__init__(f"{location}: another writer committed to the table during this load's commit ({reason}) "
                         "-> nothing was written; the run is retried")


class StagedFileLost(DestinationError, TerminalError):
    """A journal's rename finds its staged file gone and its target never published."""

    def __init__(self, *, staged: str, target: str) -> None:
        self.staged, self.target = staged, target
        super().__init__(f"the staged file {staged} is gone and {target} was never published -> something else "
                         "removed staged files; run with run config {rebuild: true}")


class PublishTargetTaken(DestinationError, TerminalError):
    """A journal's rename target exists with other content: another writer used the name."""

    def __init__(self, *, staged: str, target: str) -> None:
        self.staged, self.target = staged, target
        super().__init__(f"{target} already exists, so {staged} cannot be published under that name -> another "
                         "writer used it; run with run config {rebuild: true}")


# ---- the store's database ------------------------------------------------------------------------


class StoreDatabaseUnavailable(DestinationError, TransientError):
    """A database error during `what` that a retry can cure (a lost connection, a deadlock, a lock
    timeout), by the driver's class and code (`sqlstate` where it reports one)."""

    def __init__(self, *, what: str, reason: str, sqlstate: str | None = None) -> None:
        self.what, self.reason, self.sqlstate = what, reason, sqlstate
        super().__init__(f"{what}: {reason} -> nothing was written; the run is retried")


class StoreDatabaseRefused(DestinationError, TerminalError):
    """A database error during `what` that a retry cannot cure; `fix` says what to change."""

    def __init__(self, *, what: str, reason: str, fix: str, sqlstate: str | None = None) -> None:
        self.what, self.reason, self.fix, self.sqlstate = what, reason, fix, sqlstate
        super().__init__(f"{what}: {reason} -> nothing was written; {fix}")


# ---- the open mirroring landing zone -------------------------------------------------------------


class LandingZoneError(DestinationError, TerminalError):
    """The landing zone at `where` breaks Fabric's Open Mirroring contract (or cannot be replayed);
    `file` is the data file concerned, where there is one."""

    def __init__(self, *, where: str, problem: str, file: str | None = None) -> None:
        self.where, self.problem, self.file = where, problem, file
        super().__init__(f"{where}: {file}: {problem}" if file is not None else f"{where}: {problem}")
