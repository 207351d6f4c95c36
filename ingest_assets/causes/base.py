"""The roots: `IngestError`, and the two run-time branches that decide whether a run is retried."""

from __future__ import annotations

from typing import Any


class IngestError(Exception):
    """Root of every error raised by ingest_assets.

    Its subclasses take their causes' attributes as keyword arguments and build the message from them,
    so a caller reads `error.column`, never the text.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle would call `cls(message)`, which keyword-only constructors refuse: rebuild from the
        # message and restore the attributes instead.
        return _restore, (type(self), self.args), self.__dict__


def _restore(cls: type[IngestError], args: tuple[Any, ...]) -> IngestError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    return error


class TerminalError(IngestError):
    """A run-time failure that a retry cannot fix (bad data, changed settings, a missing table)."""


class TransientError(IngestError):
    """A run-time failure that may pass on retry (a locked file, a dropped connection); the asset's
    RetryPolicy retries it (`runtime/failures.py`)."""


def first_line(error: object) -> str:
    """The first line of a driver's error (they often append a multi-line context), or its type."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
