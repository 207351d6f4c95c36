"""Where a folder store (`parquet`, `delta`) keeps what is not a table: `<folder>/_ingest/...`.

    <target>                      the table (its symlink, or its Delta folder)
    _ingest/staging/<target>/     runs' staged files while they extract
    _ingest/locks/<target>.lock   held only for the short commit step
"""

from __future__ import annotations

from pathlib import Path

INTERNAL = "_ingest"


class FolderTablePaths:
    def __init__(self, root: Path, relative: str):
        self.root = root
        self.relative = relative.strip("/")
        self.table = root / self.relative
        self.staging = root / INTERNAL / "staging" / self.relative
        self.lock = root / INTERNAL / "locks" / (self.relative.replace("/", "__") + ".lock")
