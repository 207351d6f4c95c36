"""The storage seam: the few file operations the ADLS and Open Mirroring stores need.

Paths are `/`-separated and relative to the root of the file system (container); folders are
implicit in Blob storage and real in DFS and on local disk, so callers never depend on either.

What every backend guarantees, and the stores rely on:
- `upload` and `write_bytes` make a file visible at its name only when it is complete (the stores
  still upload under `_`-prefixed names, which readers and Fabric ignore, and publish by rename);
- `rename` never overwrites: an existing target raises `FileExistsError`, a missing source
  `FileNotFoundError`, so a retried rename can tell "already done" from "lost";
- deletes of missing files or folders succeed, so every step can be repeated after a crash.
Errors: `FileNotFoundError`, `FileExistsError`, or `ingest_assets.errors` types (`TransientError` for
what a retry may cure, `TerminalError` with the fix for the rest: credentials, permissions, names).
A backend that can lock a path also implements `locks.Lockable` (local and Blob, not DFS).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Entry:
    """A direct child of a folder."""

    name: str  # the last path segment
    is_folder: bool
    size: int = 0  # bytes, for files


class Storage(Protocol):
    def describe(self, path: str = "") -> str:
        """A URL or local path for messages and metadata (never a secret)."""

    def list(self, folder: str) -> list[Entry]:
        """Direct children of `folder`, sorted by name; a missing folder has none."""

    def exists(self, path: str) -> bool:
        """Whether a file exists at `path`."""

    def read_bytes(self, path: str) -> bytes: ...

    def write_bytes(self, path: str, data: bytes) -> None:
        """Create or replace a small file."""

    def upload(self, path: str, source: Path) -> None:
        """Create or replace `path` with a local file's content, streamed."""

    def download(self, path: str, target: Path) -> None:
        """Copy `path` to a local file, streamed."""

    def rename(self, source: str, target: str) -> None:
        """Move a file within the file system; never overwrites (see the module notes)."""

    def delete(self, path: str) -> None:
        """Delete a file (missing is fine)."""

    def delete_folder(self, folder: str) -> None:
        """Delete a folder and everything below it (missing is fine)."""

    def make_folder(self, folder: str) -> None:
        """Create a folder and its parents (a no-op where folders are implicit)."""


def join(*parts: str) -> str:
    """Join path segments with `/`, skipping empty ones."""
    return "/".join(part.strip("/") for part in parts if part and part.strip("/"))
