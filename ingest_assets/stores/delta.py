"""Delta Lake store: each table is a Delta table, written by delta-rs (`deltalake`), one commit per load.

Layout below the connection's folder (`<target>` is the entity's store path, e.g. `shop/orders`):

    <target>/                              the Delta table: Parquet files and `_delta_log/`
    _ingest/staging/<target>/<token>/      a run's staged files while it extracts
    _ingest/locks/<target>.lock            held only for the short commit step

In Azure storage the table is a URI below the connection's `base_path`, staged locally and never
locked (`delta_location`).

The load is staged as Parquet (the shared staging, in the table's whole schema), then streamed from
the staged files into one Delta commit:

    append                  write_deltalake(mode="append")
    replace, whole table    write_deltalake(mode="overwrite", schema_mode="overwrite")
    replace, a window       write_deltalake(mode="overwrite", predicate=<the window>): the window's rows
                            are removed and the staged ones added in the same commit
    upsert / merge          MERGE on the write key: matched rows updated, the others inserted; with
                            delete_missing also `when_not_matched_by_source_delete` (of the window)

Readers see the version before the load or the one after it, never a mix; a failure before the
commit leaves the table at its version. Added columns are merged into the table's schema by the same
commit; delta-rs cannot widen a column in place, so a load that widens one rewrites the table in the
wider types, still in one commit (`_rewrite`). Another writer that commits in between makes delta-rs
refuse the commit: `TableCommitConflict`, retried.

Optional housekeeping (`delta_housekeeping`: OPTIMIZE, VACUUM; the connection's settings, or the
entity's own over them) runs after the commit, under the same lock; its failure is reported, not a
failed load.

A load that only adds rows (append, a first load, a whole-table replace) commits the staged files as
they are when they hold Delta's types exactly (`delta_files`: moved in, no second encoding). The
load's record (`load_record.LoadRecord`) is the commit's own metadata in the Delta log (`delta_log`),
so it is committed exactly when the rows are.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import pyarrow as pa

from ingest_assets.connectors.delta import DeltaResource
from ingest_assets.errors import StagedRowsDoNotFit, TableCommitConflict, first_line
from ingest_assets.plan.model import WriteSpec
from ingest_assets.sql.statement import Sql, duckdb_text
from ingest_assets.sql.text import parquet_files
from ingest_assets.sql.window import condition
from ingest_assets.stores.abandoned import Abandoned, remove_abandoned_folders
from ingest_assets.stores.base import (
    CommitResult,
    FollowsSchemaChanges,
    QualityRequest,
    TableLayout,
    WriteMode,
)
from ingest_assets.stores.delta_files import commit_files, holds_exactly
from ingest_assets.stores.delta_housekeeping import NO_HOUSEKEEPING, Housekeeping, tidy
from ingest_assets.stores.delta_location import DeltaTableLocation
from ingest_assets.stores.delta_log import (
    VERSION_METADATA,
    Entry,
    commit_details,
    commit_properties,
    committed_version,
    latest_record,
)
from ingest_assets.stores.delta_options import TableHousekeeping
from ingest_assets.stores.delta_predicate import SOURCE, TARGET, keys_match, window_predicate
from ingest_assets.stores.delta_types import storage_schema, to_storage, type_names
from ingest_assets.stores.load_record import LoadRecord
from ingest_assets.stores.measure import (
    count_rows,
    measure_quality,
    removal,
    require_staged_layout,
    require_table_fits,
)
from ingest_assets.stores.read_back import ArrowStream
from ingest_assets.stores.schema_changes import conform
from ingest_assets.stores.staged_writer import TableSchemaWriter
from ingest_assets.stores.staging import COMPRESSION_LEVEL, ROW_GROUP_ROWS, ParquetStage, parquet_rows

if TYPE_CHECKING:
    import duckdb
    import pyarrow.dataset as ds
    from deltalake import DeltaTable

CURRENT = "delta_current"  # the table's version this load reads, in the commit's DuckDB
COMMITTED = "delta_committed"  # the version this load committed, measured for the checks
# The commit's DuckDB (counts, quality, a rewrite's anti-join) spills past this, as the Parquet store's.
COMMIT_MEMORY_LIMIT = "256MB"
class DeltaStore(FollowsSchemaChanges):
    def __init__(self, resource: DeltaResource):
        self._resource = resource

    def _table(self, target: WriteSpec) -> DeltaTableLocation:
        assert target.path is not None
        return DeltaTableLocation(self._resource, target.path)

    def describe(self, target: WriteSpec) -> str:
        return self._table(target).uri

    def remove_abandoned_staging(self, target: WriteSpec, abandoned: Abandoned) -> int:
        return remove_abandoned_folders(self._table(target).staging, abandoned)

    def exists(self, target: WriteSpec) -> bool:
        return self._table(target).exists()

    def current_schema(self, target: WriteSpec) -> pa.Schema | None:
        table = self._table(target).open()
        return _schema(table) if table is not None else None

    def last_load(self, target: WriteSpec) -> LoadRecord | None:
        """The record of the latest commit ingest_assets made to the table (see `load_record`)."""
        table = self._table(target).open()
        return latest_record(table) if table is not None else None

    def read_back(self, target: WriteSpec) -> ArrowStream | None:
        """The current version's rows, streamed; pinned to that version, so a commit during the read
        changes nothing read."""
        return self.read_back_recorded(target, {})

    def read_back_recorded(self, target: WriteSpec, recorded: Mapping[str, object]) -> ArrowStream | None:
        """The rows of the version a materialization recorded (`ingest/delta_version`): what Dagster
        says the asset holds, even after another writer's commit or a compaction; the latest version
        when none is recorded or its files were vacuumed."""
        location = self._table(target)
        table = location.open()
        if table is None:
            return None
        version = table.version()
        wanted = recorded.get(VERSION_METADATA)
        if isinstance(wanted, int) and wanted < version and _readable(location, wanted):
            version = wanted

        @contextmanager
        def stream() -> Iterator[pa.RecordBatchReader]:
            yield location.at(version).to_pyarrow_dataset().scanner(batch_size=ROW_GROUP_ROWS).to_reader()

        return ArrowStream(stream, f"delta table {location.uri} version {version}")

    @contextmanager
    def writer(
        self, target: WriteSpec, mode: WriteMode, layout: TableLayout, run_token: str, quality: QualityRequest,
        record: LoadRecord | None = None,
    ) -> Iterator[DeltaTableWriter]:
        table = target.store_options if isinstance(target.store_options, TableHousekeeping) else None
        writer = DeltaTableWriter(self._table(target), mode, layout, run_token, quality, record,
                                  self._resource.housekeeping(table))
        try:
            yield writer
        finally:
            writer.discard_staging()


class DeltaTableWriter(TableSchemaWriter):
    def __init__(self, table: DeltaTableLocation, mode: WriteMode, layout: TableLayout, token: str,
                 quality: QualityRequest, record: LoadRecord | None = None, housekeeping: Housekeeping = NO_HOUSEKEEPING):
        label = f"delta store {table.relative}"
        super().__init__(ParquetStage(table.staging / token, layout.table, token, label), mode, layout)
        self._table = table
        self._token = token
        self._quality = quality
        self._label = label
        self._record = record
        self._housekeeping = housekeeping
        self._storage = storage_schema(layout.table)  # refuses a type Delta cannot hold, before any work

    def commit(self) -> CommitResult:
        from deltalake.exceptions import CommitFailedError

        require_staged_layout(self.staged_files, self._layout.table, self._layout, self._label)
        with self._table.commit_lock(), self._duckdb() as duck:
            current = self._table.open()
            rows_before = _dataset(current).count_rows() if current is not None else 0
            try:
                replaced, deleted, written = self._apply(duck, current, rows_before)
            except CommitFailedError as error:
                raise TableCommitConflict(location=self._table.uri, reason=first_line(error)) from error
            committed, entry = committed_version(self._table.at(), self._token)
            result = self._measure(duck, committed, entry, rows_before, replaced, deleted, written)
            # After the load's commit and its measures: compaction commits a version of its own.
            result.details.update(tidy(self._table.at(), self._housekeeping))
            return result

    # ---- the one commit --------------------------------------------------------------------------

    def _apply(self, duck: duckdb.DuckDBPyConnection, current: DeltaTable | None, rows_before: int
               ) -> tuple[int, int, int]:
        """Commit the load in one version; rows replaced, deleted and written.

        `current` is the version this load reads; delta-rs commits against it (a conflicting commit
        of another writer since then fails this one)."""
        staged_rows = parquet_rows(self.staged_files)
        # Moving staged files in takes a local table; in Azure storage write_deltalake uploads them.
        local = self._table.local
        adoptable = local is not None and holds_exactly(self.staged_files, self._storage)
        if current is None or (self._mode.kind == "replace" and self._mode.window is None):
            if adoptable and local is not None:
                commit_files(current, local, self.staged_files, self._storage, True,
                             commit_properties(self._token, self._record))
            else:
                self._write(current if current is not None else self._table.uri, self._staged(), "overwrite",
                            schema_mode="overwrite" if current is not None else None)
            return rows_before, 0, staged_rows
        duck.register(CURRENT, _dataset(current))
        current_types = type_names(_schema(current))
        storage_types = type_names(self._storage)
        require_table_fits(current_types, storage_types, self._layout, self._label)
        if any(current_types[name] != storage_types[name] for name in self._layout.widened):
            replaced, deleted = self._rewrite(duck, current)
            return replaced, deleted, staged_rows
        schema_mode: Literal["merge"] | None = "merge" if self._layout.added else None
        if self._mode.kind == "append":
            if adoptable and local is not None and not self._layout.added:
                commit_files(current, local, self.staged_files, self._storage, False,
                             commit_properties(self._token, self._record))
            else:
                self._write(current, self._staged(), "append", schema_mode=schema_mode)
            return 0, 0, staged_rows
        if self._mode.kind == "replace":
            window = self._mode.window
            self._require_staged_in_window(duck)
            replaced = count_rows(duck, CURRENT, window)
            self._write(current, self._staged(), "overwrite", schema_mode=schema_mode,
                        predicate=window_predicate(window))
            return replaced, 0, staged_rows
        # delta-rs' own writer settings (snappy), not the staging's zstd: its MERGE writes zstd about
        # 1.3x slower (benchmarks/delta_write.py), and each file of a table may use its own codec.
        merger = current.merge(
            self._staged(), keys_match(self._mode.keys), source_alias=SOURCE, target_alias=TARGET,
            merge_schema=bool(self._layout.added),
            commit_properties=commit_properties(self._token, self._record),
        ).when_matched_update_all().when_not_matched_insert_all()
        if self._mode.delete_missing:
            merger = merger.when_not_matched_by_source_delete(window_predicate(self._mode.window, TARGET))
        metrics = merger.execute()
        updated, inserted = int(metrics["num_target_rows_updated"]), int(metrics["num_target_rows_inserted"])
        # Every target row a staged row matched is written over (more than one where earlier appends
        # left a key twice), so rows written are the rows updated plus those inserted.
        return updated, int(metrics["num_target_rows_deleted"]), updated + inserted

    def _rewrite(self, duck: duckdb.DuckDBPyConnection, current: DeltaTable) -> tuple[int, int]:
        """The table again in the layout's (wider) types: its rows this load keeps, then the staged
        ones, streamed into one overwrite commit. Rows replaced and deleted."""
        removed = removal(self._mode, parquet_files(self.staged_files))
        replaced = deleted = 0
        if not removed.removes_nothing:
            sql, params = duckdb_text(Sql.of("SELECT count_if(", removed.replaced, "), count_if(", removed.deleted,
                                             f") FROM {CURRENT} AS t"))
            replaced, deleted = duck.execute(sql, params or None).fetchall()[0]
        kept = Sql.of(f"SELECT * FROM {CURRENT} AS t",
                      *(() if removed.removes_nothing else (" WHERE NOT (", removed.either(), ")")))
        sql, params = duckdb_text(kept)
        kept_rows = duck.sql(sql, params=params or None).to_arrow_reader(ROW_GROUP_ROWS)

        def batches() -> Iterator[pa.RecordBatch]:
            for batch in kept_rows:
                yield to_storage(conform(batch, self._layout.table), self._storage, self._label)
            yield from self._staged()

        self._write(current, pa.RecordBatchReader.from_batches(self._storage, batches()), "overwrite",
                    schema_mode="overwrite")
        return int(replaced), int(deleted)

    def _require_staged_in_window(self, duck: duckdb.DuckDBPyConnection) -> None:
        """A window replace adds only rows of its window (delta-rs refuses the others): say so first."""
        assert self._mode.window is not None
        where = condition(self._mode.window)
        if not where:
            return
        sql, params = duckdb_text(Sql.of(f"SELECT count(*) FROM {parquet_files(self.staged_files)} WHERE NOT coalesce(",
                                         where, ", false)"))
        outside = duck.execute(sql, params or None).fetchall()[0][0]
        if outside:
            raise StagedRowsDoNotFit(label=self._label, reason=(
                f"{outside} staged rows lie outside the partition's window ({self._mode.window.describe()}), and a "
                "Delta replace of a window takes only rows inside it"))

    # ---- what goes into the commit ---------------------------------------------------------------

    def _write(self, table: DeltaTable | str, data: pa.RecordBatchReader, mode: Literal["append", "overwrite"],
               schema_mode: Literal["merge", "overwrite"] | None = None, predicate: str | None = None) -> None:
        """One `write_deltalake` commit, with the staged files' Parquet settings and this run's token."""
        from deltalake import write_deltalake

        options: dict[str, Any] = {"writer_properties": _writer_properties(),
                                   "commit_properties": commit_properties(self._token, self._record)}
        if isinstance(table, str) and self._table.options:  # a new table: the URI alone does not sign in
            options["storage_options"] = self._table.options
        if mode == "append":
            write_deltalake(table, data, mode="append", schema_mode=schema_mode, **options)
        else:
            write_deltalake(table, data, mode="overwrite", schema_mode=schema_mode, predicate=predicate, **options)

    def _staged(self) -> pa.RecordBatchReader:
        """The staged files as one stream of the table's storage types, a row group at a time."""
        import pyarrow.dataset as ds

        scanner = ds.dataset([str(path) for path in self.staged_files], format="parquet",
                             schema=self._layout.table).scanner(batch_size=ROW_GROUP_ROWS)
        return pa.RecordBatchReader.from_batches(
            self._storage, (to_storage(batch, self._storage, self._label) for batch in scanner.to_batches()))

    # ---- after the commit ------------------------------------------------------------------------

    def _measure(self, duck: duckdb.DuckDBPyConnection, committed: DeltaTable, entry: Entry | None,
                 rows_before: int, replaced: int, deleted: int, written: int) -> CommitResult:
        dataset = _dataset(committed)
        duck.register(COMMITTED, dataset)
        window = self._mode.window
        nulls, duplicates = measure_quality(duck, COMMITTED, self._quality)
        return CommitResult(
            rows_written=written,
            rows_replaced=replaced,
            rows_deleted=deleted,
            rows_before=rows_before,
            rows_after=dataset.count_rows(),
            window_rows=count_rows(duck, COMMITTED, window) if window else None,
            location=self._table.uri,
            null_counts=nulls,
            duplicate_counts=duplicates,
            details=commit_details(committed, entry),
        )

    @contextmanager
    def _duckdb(self) -> Iterator[duckdb.DuckDBPyConnection]:
        import duckdb

        connection = duckdb.connect(config={
            "temp_directory": str(self._stage.directory / "spill"), "memory_limit": COMMIT_MEMORY_LIMIT,
            "arrow_lossless_conversion": True,
        })
        try:
            yield connection
        finally:
            connection.close()


def _readable(location: DeltaTableLocation, version: int) -> bool:
    """Whether `version` can still be read: its log entry and every file it references are there."""
    from deltalake.exceptions import DeltaError

    try:
        files = location.at(version).file_uris()
    except (DeltaError, OSError):
        return False
    return location.local is None or all(Path(uri.removeprefix("file://")).exists() for uri in files)


def _schema(table: DeltaTable) -> pa.Schema:
    """The table's columns as pyarrow types (delta-rs hands an arro3 schema, read through the C interface)."""
    return pa.schema(cast(Any, table.schema().to_arrow()))


def _dataset(table: DeltaTable) -> ds.Dataset:
    return table.to_pyarrow_dataset()


def _writer_properties() -> Any:
    from deltalake import WriterProperties

    # The staged files' settings: zstd level 1, row groups of the staging's size.
    return WriterProperties(compression="ZSTD", compression_level=COMPRESSION_LEVEL, max_row_group_size=ROW_GROUP_ROWS)
