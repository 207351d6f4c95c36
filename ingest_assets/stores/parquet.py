"""Parquet dataset store: each table is a folder of Parquet files that changes atomically.

Layout below the connection's folder (`<target>` is the entity's store path, e.g. `shop/orders`):

    <target>                              a symlink to the current version: what readers open
    _ingest/versions/<target>/<version>/  immutable versions, part-<run token>-<seq>.parquet
    _ingest/staging/<target>/<token>/     a run's files while it extracts
    _ingest/locks/<target>.lock           held only for the short commit step

A commit builds the next version from hard links to the files of the current one that the load
leaves alone, rewrites of the files that hold replaced or deleted rows (without those rows), and the
staged files; then it swaps the symlink with one atomic rename. Readers see the old version or the
new one, never a mix; a failure before the swap leaves the table exactly as it was. The previous
version is kept for readers still reading it.

Every file of a version has the table's schema. Staged files are written in it (columns this load
does not stage are NULL), and when a load adds or widens columns every carried-over file is
rewritten once in the new schema instead of being linked.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from ingest_assets.connectors.files import FolderResource
from ingest_assets.errors import DestinationOccupied, StagedFileCollision
from ingest_assets.plan.model import WriteSpec
from ingest_assets.sql.statement import Sql, duckdb_text
from ingest_assets.sql.text import parquet_files, quote_identifier, string_literal
from ingest_assets.stores.base import CommitResult, FollowsSchemaChanges, QualityRequest, TableLayout, WriteMode
from ingest_assets.stores.locking import file_lock
from ingest_assets.stores.measure import (
    Removal,
    count_rows,
    measure_quality,
    removal,
    require_staged_layout,
    require_table_fits,
    same_columns,
)
from ingest_assets.stores.read_back import ParquetFiles
from ingest_assets.stores.schema_changes import conform
from ingest_assets.stores.staged_writer import TableSchemaWriter
from ingest_assets.stores.staging import ROW_GROUP_ROWS, ParquetStage, parquet_rows

if TYPE_CHECKING:
    import duckdb

INTERNAL = "_ingest"
FILE_COLUMN = "__ingest_file"  # the file-name column of the scan that counts removed rows per file
LOAD_KEYS = "load_keys"  # the table of this load's write keys, in the commit's in-memory DuckDB
REWRITE_WORKERS = 4  # files rewritten at once, at most one per core


class ParquetStore(FollowsSchemaChanges):
    def __init__(self, resource: FolderResource):
        self._resource = resource

    def describe(self, target: WriteSpec) -> str:
        return str(self._resource.folder() / (target.path or ""))

    def exists(self, target: WriteSpec) -> bool:
        return (self._resource.folder() / (target.path or "")).is_symlink()

    def current_schema(self, target: WriteSpec) -> pa.Schema | None:
        assert target.path is not None
        version = _TablePaths(self._resource.folder(), target.path).current_version()
        files = _version_files(version) if version else []
        return pq.read_schema(files[0]).remove_metadata() if files else None

    def read_back(self, target: WriteSpec) -> ParquetFiles | None:
        """The current version's files: fixed, so a commit during the read changes nothing read."""
        assert target.path is not None
        version = _TablePaths(self._resource.folder(), target.path).current_version()
        return ParquetFiles(tuple(str(path) for path in _version_files(version))) if version else None

    @contextmanager
    def writer(
        self, target: WriteSpec, mode: WriteMode, layout: TableLayout, run_token: str, quality: QualityRequest
    ) -> Iterator[ParquetTableWriter]:
        assert target.path is not None
        table = _TablePaths(self._resource.folder(), target.path)
        writer = ParquetTableWriter(table, mode, layout, run_token, quality)
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
            raise DestinationOccupied(path=self.link)
        return None


def _version_files(version: Path) -> list[Path]:
    return sorted(version.glob("*.parquet"))


class ParquetTableWriter(TableSchemaWriter):
    def __init__(self, table: _TablePaths, mode: WriteMode, layout: TableLayout, token: str, quality: QualityRequest):
        label = f"parquet store {table.relative}"
        # Staged in the table's schema, so the staged files join a version as they are.
        super().__init__(ParquetStage(table.staging / token, layout.table, token, label), mode, layout)
        self._table = table
        self._token = token
        self._quality = quality
        self._label = label

    def commit(self) -> CommitResult:
        import duckdb

        require_staged_layout(self.staged_files, self._layout.table, self._layout, self._label)
        spill = self._stage.directory / "spill"  # DuckDB's temporary files, removed with the stage
        with file_lock(self._table.lock), duckdb.connect(config={"temp_directory": str(spill)}) as connection:
            current = self._table.current_version()
            building = self._table.versions / f".{self._token}.tmp"
            shutil.rmtree(building, ignore_errors=True)
            building.mkdir(parents=True)
            try:
                result = self._build(connection, _version_files(current) if current else [], building)
                version = self._table.versions / f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{self._token}"
                os.replace(building, version)
                self._publish(version)
            finally:
                shutil.rmtree(building, ignore_errors=True)
            self._collect_old_versions(keep={version, current} if current else {version})
        return result

    def _build(
        self, connection: duckdb.DuckDBPyConnection, current_files: list[Path], building: Path
    ) -> CommitResult:
        """Fill `building` with the next version's files; what the commit changes, measured on them."""
        rows_before = parquet_rows(current_files)
        rows_written = parquet_rows(self.staged_files)
        if current_files and not self._replaces_whole_table():
            self._require_current_fits(current_files[0])
            replaced, deleted = self._carry_over(connection, current_files, building)
        else:
            replaced, deleted = rows_before, 0
        for path in self.staged_files:
            _move_new(path, building / path.name)

        relation = parquet_files(_version_files(building))
        nulls, duplicates = measure_quality(connection, relation, self._quality)
        return CommitResult(
            rows_written=rows_written,
            rows_replaced=replaced,
            rows_deleted=deleted,
            rows_before=rows_before,
            rows_after=count_rows(connection, relation),
            window_rows=count_rows(connection, relation, self._mode.window) if self._mode.window else None,
            location=str(self._table.link),
            null_counts=nulls,
            duplicate_counts=duplicates,
        )

    def _replaces_whole_table(self) -> bool:
        return self._mode.kind == "replace" and self._mode.window is None

    def _require_current_fits(self, current_file: Path) -> None:
        current = pq.read_schema(current_file)
        require_table_fits(_type_names(current), _type_names(self._layout.table), self._layout, self._label)

    def _carry_over(
        self, connection: duckdb.DuckDBPyConnection, files: list[Path], building: Path
    ) -> tuple[int, int]:
        """Link the current files this load leaves alone into `building`; rewrite the others without
        the rows it removes (and in the table's schema when that changed). Rows replaced, deleted."""
        removed_rows = self._removal(connection)
        new_schema = not same_columns(pq.read_schema(files[0]), self._layout.table)
        removed = {} if removed_rows.removes_nothing else _removed_per_file(connection, files, removed_rows)
        replaced = deleted = 0
        rewrites: list[tuple[Path, ParquetStage]] = []
        for index, path in enumerate(files):
            file_replaced, file_deleted = removed.get(str(path), (0, 0))
            replaced, deleted = replaced + file_replaced, deleted + file_deleted
            if file_replaced + file_deleted == 0 and not new_schema:
                os.link(path, building / path.name)
            elif file_replaced + file_deleted < parquet_rows([path]):
                rewrites.append((path, ParquetStage(building, self._layout.table, f"{self._token}-r{index:05d}",
                                                    self._label)))
        self._rewrite_all(connection, rewrites, removed_rows)
        return replaced, deleted

    def _rewrite_all(self, connection: duckdb.DuckDBPyConnection, rewrites: list[tuple[Path, ParquetStage]],
                     removed_rows: Removal) -> None:
        """Rewrite files side by side: encoding a Parquet file with pyarrow uses one core, and each
        worker's DuckDB cursor and writer release the GIL, so the cores share the files."""
        from concurrent.futures import ThreadPoolExecutor

        def rewrite(job: tuple[Path, ParquetStage]) -> None:
            with connection.cursor() as cursor:
                self._rewrite(cursor, job[0], removed_rows, job[1])

        with ThreadPoolExecutor(max_workers=max(1, min(len(rewrites), os.cpu_count() or 1, REWRITE_WORKERS))) as pool:
            for _ in pool.map(rewrite, rewrites):
                pass  # re-raises the first failure

    def _removal(self, connection: duckdb.DuckDBPyConnection) -> Removal:
        if self._mode.by_key:
            # Read once from the staged files (unique and non-null by now), then joined per file.
            keys = ", ".join(quote_identifier(k) for k in self._mode.keys)
            staged = parquet_files(self.staged_files)
            # A table of the in-memory database (not TEMP), so the rewriting workers' cursors see it.
            connection.execute(f"CREATE TABLE {LOAD_KEYS} AS SELECT {keys} FROM {staged}")
        return removal(self._mode, LOAD_KEYS)

    def _rewrite(
        self, connection: duckdb.DuckDBPyConnection, path: Path, removed_rows: Removal, stage: ParquetStage
    ) -> None:
        """The rows of `path` this load keeps, streamed a row group at a time into `stage`'s files.

        Through Arrow rather than DuckDB's COPY, so the rewritten file has the table's Arrow types
        exactly and the version's files share one schema.
        """
        sql, params = duckdb_text(Sql.of(f"SELECT t.* FROM {parquet_files([path])} AS t WHERE NOT (",
                                         removed_rows.either(), ")"))
        kept = connection.sql(sql, params=params or None)
        for batch in kept.to_arrow_reader(ROW_GROUP_ROWS):
            stage.write(conform(batch, self._layout.table))
        stage.finish()

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


def _removed_per_file(
    connection: duckdb.DuckDBPyConnection, files: list[Path], removed_rows: Removal
) -> dict[str, tuple[int, int]]:
    """Rows replaced and deleted per file (by path), in one scan of the columns the conditions read."""
    scan = ("read_parquet([" + ", ".join(string_literal(p) for p in files) + "], "
            f"filename = {string_literal(FILE_COLUMN)}, union_by_name = true)")
    file_column = quote_identifier(FILE_COLUMN)
    sql, params = duckdb_text(Sql.of(
        f"SELECT {file_column}, count_if(replaced), count_if(deleted) FROM (SELECT {file_column}, ",
        removed_rows.replaced, " AS replaced, ", removed_rows.deleted, f" AS deleted FROM {scan} AS t) GROUP BY ALL",
    ))
    rows = connection.sql(sql, params=params or None).fetchall()
    return {file: (replaced, deleted) for file, replaced, deleted in rows}


def _type_names(schema: pa.Schema) -> dict[str, str]:
    return {field.name: str(field.type) for field in schema}


def _move_new(source: Path, destination: Path) -> None:
    """Move a staged file into the version; its name carries the run token, so never replaces one."""
    if destination.exists():
        raise StagedFileCollision(path=destination)
    os.replace(source, destination)


STALE_STAGING_SECONDS = 24 * 3600


def _remove_stale_staging(staging: Path) -> None:
    """Staging folders of runs that crashed a day ago; a live run's folder is never that old."""
    if not staging.is_dir():
        return
    cutoff = time.time() - STALE_STAGING_SECONDS
    for folder in staging.iterdir():
        if folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
