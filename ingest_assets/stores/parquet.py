"""Parquet dataset store: each table is a folder of Parquet files that changes atomically.

Layout below the connection's folder (`<target>` is the entity's store path, e.g. `shop/orders`):

    <target>                              a symlink to the current version: what readers open
    _ingest/versions/<target>/<version>/  immutable versions, part-<run token>-<seq>.parquet
    _ingest/staging/<target>/<token>/     a run's files while it extracts
    _ingest/locks/<target>.lock           held only for the short commit step

A commit builds the next version from hard links to the unchanged files of the current one plus the
staged files (rewriting only files that hold replaced rows), then swaps the symlink with one atomic
rename. Readers see the old version or the new one, never a mix; a failure before the swap leaves
the table exactly as it was. The previous version is kept for readers still reading it.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingest_assets.errors import TerminalError
from ingest_assets.plan.model import WriteSpec
from ingest_assets.resources import FolderResource
from ingest_assets.sql_text import parquet_files, quote_identifier, string_literal
from ingest_assets.stores.base import CommitResult, QualityRequest, WriteMode
from ingest_assets.stores.locking import file_lock
from ingest_assets.stores.measure import count_rows, measure_quality, window_sql
from ingest_assets.stores.staging import ParquetStage, StagedWriter, parquet_rows

INTERNAL = "_ingest"


class ParquetStore:
    def __init__(self, resource: FolderResource):
        self._resource = resource

    def describe(self, target: WriteSpec) -> str:
        return str(self._resource.folder() / (target.path or ""))

    def exists(self, target: WriteSpec) -> bool:
        return (self._resource.folder() / (target.path or "")).is_symlink()

    @contextmanager
    def writer(
        self, target: WriteSpec, mode: WriteMode, schema: pa.Schema, run_token: str, quality: QualityRequest
    ) -> Iterator["ParquetTableWriter"]:
        assert target.path is not None
        table = _TablePaths(self._resource.folder(), target.path)
        writer = ParquetTableWriter(table, mode, schema, run_token, quality)
        try:
            yield writer
        finally:
            writer.discard_staging()


class _TablePaths:
    def __init__(self, root: Path, relative: str):
        self.root = root
        self.relative = relative.strip("/")
        self.link = root / self.relative
        self.versions = root / INTERNAL / "versions" / self.relative
        self.staging = root / INTERNAL / "staging" / self.relative
        self.lock = root / INTERNAL / "locks" / (self.relative.replace("/", "__") + ".lock")

    def current_version(self) -> Path | None:
        if self.link.is_symlink():
            return self.link.resolve()
        if self.link.exists():
            raise TerminalError(
                f"{self.link} exists and is not a table written by ingest_assets -> move it away or choose "
                "another store path"
            )
        return None


class ParquetTableWriter(StagedWriter):
    def __init__(self, table: _TablePaths, mode: WriteMode, schema: pa.Schema, token: str, quality: QualityRequest):
        super().__init__(ParquetStage(table.staging / token, schema, token, f"parquet store {table.relative}"))
        self._table = table
        self._mode = mode
        self._token = token
        self._quality = quality

    def commit(self) -> CommitResult:
        import duckdb

        staged = self._stage.finish()
        with file_lock(self._table.lock), duckdb.connect() as connection:
            current = self._table.current_version()
            current_files = sorted(current.glob("*.parquet")) if current else []
            rows_before = parquet_rows(current_files)
            if self._mode.kind != "replace" and current_files:
                _require_same_schema(current_files[0], self._stage.schema, self._table.relative)

            building = self._table.versions / f".{self._token}.tmp"
            shutil.rmtree(building, ignore_errors=True)
            building.mkdir(parents=True)
            rows_removed = 0
            if self._mode.kind == "replace":
                rows_removed = rows_before
            else:
                for existing in current_files:
                    rows_removed += self._carry_over(connection, existing, building, staged)
            for path in staged:
                os.replace(path, building / path.name)

            relation = parquet_files(sorted(building.glob("*.parquet")))
            rows_after = count_rows(connection, relation)
            window_rows = count_rows(connection, relation, self._mode.window) if self._mode.window else None
            nulls, duplicates = measure_quality(connection, relation, self._quality)

            version = self._table.versions / f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S%f}-{self._token}"
            os.replace(building, version)
            self._publish(version)
            self._collect_old_versions(keep={version, current} if current else {version})

        return CommitResult(
            rows_written=parquet_rows([version / p.name for p in staged]),
            rows_removed=rows_removed,
            rows_before=rows_before,
            rows_after=rows_after,
            window_rows=window_rows,
            location=str(self._table.link),
            null_counts=nulls,
            duplicate_counts=duplicates,
        )

    def _carry_over(self, connection, existing: Path, building: Path, staged: list[Path]) -> int:
        """Keep an unchanged file by hard link, or rewrite it without the replaced rows."""
        condition, params = self._replaced_rows_condition(staged)
        if condition is None:
            os.link(existing, building / existing.name)
            return 0
        source = parquet_files([existing])
        replaced = connection.sql(f"SELECT count(*) FROM {source} WHERE {condition}", params=params).fetchall()[0][0]
        if replaced == 0:
            os.link(existing, building / existing.name)
            return 0
        rewritten = building / f"part-{self._token}-r{existing.stem.split('-')[-1]}-{existing.stat().st_ino}.parquet"
        connection.sql(
            f"COPY (SELECT * FROM {source} WHERE NOT ({condition})) TO {string_literal(rewritten)} "
            "(FORMAT parquet, COMPRESSION zstd)",
            params=params,
        )
        return replaced

    def _replaced_rows_condition(self, staged: list[Path]) -> tuple[str | None, dict[str, object]]:
        if self._mode.kind == "replace_window" and self._mode.window is not None:
            return window_sql(self._mode.window)
        if self._mode.replace_keys:
            keys = ", ".join(quote_identifier(k) for k in self._mode.replace_keys)
            return f"({keys}) IN (SELECT {keys} FROM {parquet_files(staged)})", {}
        return None, {}

    def _publish(self, version: Path) -> None:
        link = self._table.link
        link.parent.mkdir(parents=True, exist_ok=True)
        pending = link.with_name(f".{link.name}.{self._token}.link")
        pending.unlink(missing_ok=True)
        os.symlink(os.path.relpath(version, link.parent), pending)
        os.replace(pending, link)  # the atomic switch readers observe

    def _collect_old_versions(self, keep: set[Path]) -> None:
        # Under the lock no other commit is building, so any other folder (including a crashed
        # run's half-built `.tmp`) is garbage.
        for version in self._table.versions.iterdir():
            if version not in keep:
                shutil.rmtree(version, ignore_errors=True)
        _remove_stale_staging(self._table.staging)


STALE_STAGING_SECONDS = 24 * 3600


def _remove_stale_staging(staging: Path) -> None:
    """Staging folders of runs that crashed a day ago; a live run's folder is never that old."""
    if not staging.is_dir():
        return
    cutoff = time.time() - STALE_STAGING_SECONDS
    for folder in staging.iterdir():
        if folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)


def _require_same_schema(existing: Path, schema: pa.Schema, table: str) -> None:
    current = pq.read_schema(existing).remove_metadata()
    incoming = schema.remove_metadata()
    if current.equals(incoming):
        return
    before = {f.name: str(f.type) for f in current}
    after = {f.name: str(f.type) for f in incoming}
    changes = [f"+{n} {t}" for n, t in after.items() if n not in before]
    changes += [f"-{n} {t}" for n, t in before.items() if n not in after]
    changes += [f"{n} {before[n]} -> {after[n]}" for n in after if n in before and before[n] != after[n]]
    raise TerminalError(
        f"parquet store {table}: the source schema changed ({'; '.join(changes) or 'column order'}) -> "
        "nothing was written; reload the table once with run config {run_type: full_drop}"
    )

