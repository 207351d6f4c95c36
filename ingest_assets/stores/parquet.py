"""Parquet dataset store: each table is a folder of Parquet files that changes atomically.

Layout below the connection's folder (`<target>` is the entity's store path, e.g. `shop/orders`):

    <target>                              a symlink to the current version: what readers open
    _ingest/versions/<target>/<version>/  immutable versions, part-<run token>-<seq>.parquet, and the
                                          load's record (`load_record.RECORD_FILE`)
    _ingest/staging/<target>/<token>/     a run's files while it extracts
    _ingest/locks/<target>.lock           held only for the short commit step

A commit builds the next version from hard links to the files of the current one that the load
leaves alone, rewrites of the files that hold replaced or deleted rows (without those rows), and the
staged files; then it swaps the symlink with one atomic rename. Readers see the old version or the
new one, never a mix, once they have resolved the symlink (see `ParquetStore.read_back`); a failure
before the swap leaves the table exactly as it was. A version stays for `VERSION_RETENTION` after a
newer one replaced it, for readers still reading it.

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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from ingest_assets.connectors.files import FolderResource
from ingest_assets.errors import DestinationOccupied, StagedFileCollision
from ingest_assets.plan.model import WriteSpec
from ingest_assets.sql.statement import Sql, duckdb_text
from ingest_assets.sql.text import parquet_files, quote_identifier, string_literal
from ingest_assets.stores.abandoned import Abandoned, remove_abandoned_folders
from ingest_assets.stores.base import CommitResult, FollowsSchemaChanges, QualityRequest, TableLayout, WriteMode
from ingest_assets.stores.folder_layout import INTERNAL, FolderTablePaths
from ingest_assets.stores.load_record import RECORD_FILE, LoadRecord
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
from ingest_assets.stores.staging import (
    ROW_GROUP_ROWS,
    ParquetStage,
    duckdb_copy_options,
    parquet_rows,
    staged_file_name,
)

if TYPE_CHECKING:
    import duckdb

FILE_COLUMN = "__ingest_file"  # the file-name column of the scan that counts removed rows per file
LOAD_KEYS = "load_keys"  # the table of this load's write keys, in the commit's in-memory DuckDB
REWRITE_WORKERS = 4  # files rewritten at once, at most one per core
# The commit's DuckDB (key joins, scans of the files to rewrite) spills to the stage's folder past
# this, instead of taking up to 80% of the machine's memory (its default) for a large table.
COMMIT_MEMORY_LIMIT = "256MB"
# How long a replaced version stays for readers that resolved the symlink before the swap; the cost is
# only the files the newer versions rewrote or dropped (the others are hard links).
VERSION_RETENTION = timedelta(hours=1)
VERSION_TIME_FORMAT = "%Y%m%dT%H%M%S%f"  # UTC, the start of a version's folder name: when it was built


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

    def last_load(self, target: WriteSpec) -> LoadRecord | None:
        assert target.path is not None
        version = _TablePaths(self._resource.folder(), target.path).current_version()
        record = version / RECORD_FILE if version else None
        return LoadRecord.from_json(record.read_text(encoding="utf-8")) if record and record.exists() else None

    def remove_abandoned_staging(self, target: WriteSpec, abandoned: Abandoned) -> int:
        assert target.path is not None
        return remove_abandoned_folders(_TablePaths(self._resource.folder(), target.path).staging, abandoned)

    @contextmanager
    def writer(
        self, target: WriteSpec, mode: WriteMode, layout: TableLayout, run_token: str, quality: QualityRequest,
        record: LoadRecord | None = None,
    ) -> Iterator[ParquetTableWriter]:
        assert target.path is not None
        table = _TablePaths(self._resource.folder(), target.path)
        writer = ParquetTableWriter(table, mode, layout, run_token, quality, record)
        try:
            yield writer
        finally:
            writer.discard_staging()


class _TablePaths(FolderTablePaths):
    def __init__(self, root: Path, relative: str):
        super().__init__(root, relative)
        self.link = self.table
        self.versions = root / INTERNAL / "versions" / self.relative

    def current_version(self) -> Path | None:
        if self.link.is_symlink():
            return self.link.resolve()
        if self.link.exists():
            raise DestinationOccupied(path=self.link)
        return None


def _version_files(version: Path) -> list[Path]:
    return sorted(version.glob("*.parquet"))


class ParquetTableWriter(TableSchemaWriter):
    def __init__(self, table: _TablePaths, mode: WriteMode, layout: TableLayout, token: str, quality: QualityRequest,
                 record: LoadRecord | None):
        label = f"parquet store {table.relative}"
        # Staged in the table's schema, so the staged files join a version as they are.
        super().__init__(ParquetStage(table.staging / token, layout.table, token, label), mode, layout)
        self._table = table
        self._token = token
        self._quality = quality
        self._label = label
        self._record = record

    def commit(self) -> CommitResult:
        require_staged_layout(self.staged_files, self._layout.table, self._layout, self._label)
        with file_lock(self._table.lock), _LazyDuckDB(self._stage.directory / "spill") as duck:
            current = self._table.current_version()
            building = self._table.versions / f".{self._token}.tmp"
            shutil.rmtree(building, ignore_errors=True)
            building.mkdir(parents=True)
            try:
                result = self._build(duck, _version_files(current) if current else [], building)
                if self._record is not None:  # published by the same swap as the rows
                    (building / RECORD_FILE).write_text(self._record.to_json(), encoding="utf-8")
                version = self._table.versions / f"{datetime.now(UTC):{VERSION_TIME_FORMAT}}-{self._token}"
                os.replace(building, version)
                self._publish(version)
            finally:
                shutil.rmtree(building, ignore_errors=True)
            self._collect_old_versions(version)
        return result

    def _build(self, duck: _LazyDuckDB, current_files: list[Path], building: Path) -> CommitResult:
        """Fill `building` with the next version's files; what the commit changes, measured on them.

        DuckDB runs only for what needs a query (rows a load removes, a window's rows, quality): a
        whole-table load without checks is counted from the files' footers, without starting it.
        """
        rows_before = parquet_rows(current_files)
        rows_written = parquet_rows(self.staged_files)
        if current_files and not self._replaces_whole_table():
            self._require_current_fits(current_files[0])
            replaced, deleted = self._carry_over(duck.connection(), current_files, building)
        else:
            replaced, deleted = rows_before, 0
        for path in self.staged_files:
            # A load of no rows stages one empty file for the schema: kept only when the version has
            # no other file to carry it, so runs with nothing new do not pile up empty files.
            if parquet_rows([path]) or not _version_files(building):
                _move_new(path, building / path.name)

        files = _version_files(building)
        relation = parquet_files(files)
        nulls, duplicates = measure_quality(duck, relation, self._quality)
        return CommitResult(
            rows_written=rows_written,
            rows_replaced=replaced,
            rows_deleted=deleted,
            rows_before=rows_before,
            rows_after=parquet_rows(files),
            window_rows=count_rows(duck, relation, self._mode.window) if self._mode.window else None,
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
        rewrites: list[tuple[Path, str]] = []  # a file, and the token its rewrite is named by
        for index, path in enumerate(files):
            file_replaced, file_deleted = removed.get(str(path), (0, 0))
            replaced, deleted = replaced + file_replaced, deleted + file_deleted
            if file_replaced + file_deleted == 0 and not new_schema:
                os.link(path, building / path.name)
            elif file_replaced + file_deleted < parquet_rows([path]):
                rewrites.append((path, f"{self._token}-r{index:05d}"))
        if rewrites:
            self._rewrite_all(connection, rewrites, removed_rows, building, files[0] if not new_schema else None)
        return replaced, deleted

    def _rewrite_all(self, connection: duckdb.DuckDBPyConnection, rewrites: list[tuple[Path, str]],
                     removed_rows: Removal, building: Path, sample: Path | None) -> None:
        """Rewrite the files without the removed rows.

        By DuckDB's COPY, which reads, filters and encodes on every core, when a file it writes from
        `sample` (a current file already in the table's schema) has the table's schema exactly; each
        written file is checked again. Otherwise through Arrow, files side by side (each worker's DuckDB
        cursor and Parquet encoder release the GIL): a changed schema, or types DuckDB writes otherwise
        (e.g. `large_string` as `string`).
        """
        if sample is not None and self._duckdb_writes_exactly(connection, sample):
            for path, token in rewrites:  # one at a time: each COPY already uses every core
                target = building / staged_file_name(token, 0)
                self._copy_kept(connection, path, removed_rows, target)
                if not _has_schema(target, self._layout.table):
                    target.unlink()
                    self._rewrite(connection, path, removed_rows,
                                  ParquetStage(building, self._layout.table, token, self._label))
            return
        from concurrent.futures import ThreadPoolExecutor

        def rewrite(job: tuple[Path, str]) -> None:
            with connection.cursor() as cursor:
                self._rewrite(cursor, job[0], removed_rows, ParquetStage(building, self._layout.table, job[1],
                                                                         self._label))

        with ThreadPoolExecutor(max_workers=max(1, min(len(rewrites), os.cpu_count() or 1, REWRITE_WORKERS))) as pool:
            for _ in pool.map(rewrite, rewrites):
                pass  # re-raises the first failure

    def _duckdb_writes_exactly(self, connection: duckdb.DuckDBPyConnection, sample: Path) -> bool:
        """Whether DuckDB writes the table's Arrow schema, probed with an empty file from `sample`."""
        probe = self._stage.directory / "schema-probe.parquet"
        connection.execute(f"COPY (SELECT * FROM {parquet_files([sample])} LIMIT 0) "
                           f"TO {string_literal(str(probe))} {duckdb_copy_options()}")
        return _has_schema(probe, self._layout.table)

    def _kept_rows(self, path: Path, removed_rows: Removal) -> Sql:
        return Sql.of(f"SELECT t.* FROM {parquet_files([path])} AS t WHERE NOT (", removed_rows.either(), ")")

    def _copy_kept(self, connection: duckdb.DuckDBPyConnection, path: Path, removed_rows: Removal,
                   target: Path) -> None:
        """The rows of `path` this load keeps, written to `target` by DuckDB with the staged files' settings."""
        if target.exists():
            raise StagedFileCollision(path=target)
        sql, params = duckdb_text(Sql.of("COPY (", self._kept_rows(path, removed_rows),
                                         f") TO {string_literal(str(target))} {duckdb_copy_options()}"))
        connection.execute(sql, params or None)

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
        """The rows of `path` this load keeps, streamed a row group at a time into `stage`'s files."""
        sql, params = duckdb_text(self._kept_rows(path, removed_rows))
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

    def _collect_old_versions(self, current: Path) -> None:
        # Under the lock no other commit is building, so any other folder (including a crashed
        # run's half-built `.tmp`) is garbage once the version that replaced it is old enough.
        for version in _retired_versions(self._table.versions, current, datetime.now(UTC) - VERSION_RETENTION):
            shutil.rmtree(version, ignore_errors=True)
        _remove_stale_staging(self._table.staging)


def _retired_versions(versions: Path, current: Path, replaced_before: datetime) -> list[Path]:
    """The folders of `versions` to remove: not `current`, and replaced by a newer version built
    before `replaced_before` (or not a version at all)."""
    built = sorted((time, folder) for folder in versions.iterdir() if (time := _built_at(folder)) is not None)
    replaced_at = {folder: built[index + 1][0] for index, (_, folder) in enumerate(built[:-1])}
    return [folder for folder in versions.iterdir() if folder != current
            and (folder not in replaced_at or replaced_at[folder] < replaced_before)]


def _built_at(version: Path) -> datetime | None:
    try:
        return datetime.strptime(version.name.partition("-")[0], VERSION_TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None  # a half-built `.tmp` folder


class _LazyDuckDB:
    """The commit's in-memory DuckDB, started by the first query that needs it (spilling to `spill`)."""

    def __init__(self, spill: Path):
        self._spill = spill
        self._connection: duckdb.DuckDBPyConnection | None = None

    def connection(self) -> duckdb.DuckDBPyConnection:
        if self._connection is None:
            import duckdb

            self._connection = duckdb.connect(config={
                "temp_directory": str(self._spill), "memory_limit": COMMIT_MEMORY_LIMIT,
                # Rows read back keep their Arrow types (UUIDs as arrow.uuid, not text).
                "arrow_lossless_conversion": True,
                # Else a COPY writes a column that the files' statistics show without nulls as NOT NULL,
                # unlike the version's other files.
                "disabled_optimizers": "statistics_propagation",
            })
        return self._connection

    def sql(self, query: str, *, params: object = None) -> duckdb.DuckDBPyRelation:
        return self.connection().sql(query, params=params)

    def __enter__(self) -> _LazyDuckDB:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


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


def _has_schema(path: Path, schema: pa.Schema) -> bool:
    """The file's Arrow schema is `schema`: names, types and nullability (metadata aside)."""
    return pq.read_schema(path).remove_metadata().equals(schema.remove_metadata())


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
