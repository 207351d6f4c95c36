"""Every error the package raises derives from `IngestError`.

Configuration errors carry a list of located problems; run-time errors say whether a retry can help
(`TransientError`, retried by the asset's RetryPolicy) or not (`TerminalError`). Errors are classified
by where they are raised, never by parsing message text.
"""

from __future__ import annotations

from dataclasses import dataclass


class IngestError(Exception):
    """Root of every error raised by ingest_assets."""


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in the YAML project, with where it is and how to fix it."""

    file: str
    line: int
    entity: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.entity}: {self.message}"


class ConfigError(IngestError):
    """The project is invalid; every problem found is listed, sorted by file and line."""

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.entity, p.message))
        count = len(self.problems)
        header = f"the ingest project has {count} problem{'s' if count != 1 else ''}:"
        super().__init__("\n".join([header, *(f"  {p}" for p in self.problems)]))


class MissingEnvironmentVariable(IngestError):
    """A `${VAR}` reference names a variable that is not set and has no default."""


class TerminalError(IngestError):
    """A run-time failure that a retry cannot fix (bad data, changed settings, a missing table)."""


class TransientError(IngestError):
    """A run-time failure that may pass on retry (a locked file, a dropped connection)."""


class WatermarkSettingsChanged(TerminalError):
    """The entity's watermark settings differ from the ones its last cursor was committed with."""


def first_line(error: object) -> str:
    """The first line of a driver's error (they often append a multi-line context), or its type."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
