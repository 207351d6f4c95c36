"""Delta Lake home: `home.path` names a Delta table (the folder holding `_delta_log/`) below the folder.

The table's current version is read as the Parquet files it references, through the Parquet home's
scan (`FileDatasetHome`): one file and row group at a time, so memory stays flat whatever the table's
size, with the watermark or partition window pushed into the scan. delta-rs hands each file a
partition expression that also carries the file's statistics, so a window skips files outside it.

The watermark `_commit_version` reads the table's change data feed by version instead
(`delta_changes`): the window's versions, its maximum the table's version.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pa_fs

from ingest_assets.connectors.delta import DeltaResource
from ingest_assets.errors import DeltaTableUnreadable, first_line
from ingest_assets.homes import delta_changes
from ingest_assets.homes.base import ReadRequest
from ingest_assets.homes.delta_changes import Versions
from ingest_assets.homes.explain import RowEstimate, SourceQuery
from ingest_assets.homes.files import FileDatasetHome
from ingest_assets.plan.model import ReadSpec
from ingest_assets.stores.delta_location import DeltaTableLocation

if TYPE_CHECKING:
    from deltalake import DeltaTable

_PATH_FIX = "set the entity's home.path to the table's folder (the one holding _delta_log/) below the connection's path"


class DeltaHome(FileDatasetHome):
    """The Parquet home's reads, of the files of a Delta table's current version; or its change data
    feed, for the watermark `_commit_version` (`ReadSpec.change_feed`)."""

    def __init__(self, resource: DeltaResource):
        super().__init__(resource, ds.ParquetFileFormat(), "delta")

    _resource: DeltaResource

    def _dataset(self, spec: ReadSpec) -> ds.FileSystemDataset:
        assert spec.path is not None
        return self._dataset_of(self._table(spec.path), spec.path)

    def _dataset_of(self, table: DeltaTable, path: str) -> ds.FileSystemDataset:
        if not self._resource.is_local:  # delta-rs' object store reads the files
            return table_dataset(table, None, path, self._folder(path))
        return table_dataset(table, self._resource.folder() / path, path, self._folder(path))

    def _table(self, path: str) -> DeltaTable:
        if self._resource.is_local:
            return open_table(self._resource.folder(), path)
        return open_remote_table(DeltaTableLocation(self._resource, path), path)

    def _folder(self, path: str) -> Path | str:
        """Where errors say the table was looked for: the local folder, or the table's URI."""
        return self._resource.folder() if self._resource.is_local else DeltaTableLocation(self._resource, path).uri

    def _change_feed_table(self, path: str) -> DeltaTable:
        table = self._table(path)
        delta_changes.require_change_feed(table, path, self._folder(path))
        return table

    @contextmanager
    def read(self, request: ReadRequest) -> Iterator[pa.RecordBatchReader]:
        spec = request.spec
        if spec.change_feed is None:
            with super().read(request) as reader:
                yield reader
            return
        assert spec.path is not None
        versions = Versions.of(request.row_filter)
        table = self._change_feed_table(spec.path)
        version = table.version() if versions.last is None else versions.last
        committed_at = delta_changes.commit_time(table, version) if versions.first is None else None
        if version != table.version():  # the version the run's window ends at, not a later commit
            table.load_as_version(version)
        dataset = self._dataset_of(table, spec.path)
        if versions.first is not None:
            yield delta_changes.changes(table, versions, dataset.schema, spec.columns, spec.change_feed.keys,
                                        spec.path, self._folder(spec.path), spec.batch_size)
            return
        schema = delta_changes.output_schema(dataset.schema, spec.columns, spec.path)
        scan = ReadRequest(dataclasses.replace(spec, columns=delta_changes.table_columns(spec.columns)),
                           limit=request.limit)
        yield delta_changes.snapshot(self.scan(dataset, scan), schema, version, committed_at)

    def source_query(self, request: ReadRequest) -> SourceQuery:
        assert request.spec.path is not None
        feed = request.spec.change_feed
        if feed is not None:
            notes = [f"delta change data feed: {Versions.of(request.row_filter).describe()}",
                     "update_preimage rows dropped" + (f"; the last change of each {', '.join(feed.keys)} kept"
                                                       if feed.keys else "")]
            return SourceQuery("files", DeltaTableLocation(self._resource, request.spec.path).uri, notes=tuple(notes))
        if self._resource.is_local:
            return super().source_query(request)
        return SourceQuery("files", DeltaTableLocation(self._resource, request.spec.path).uri,
                           notes=("delta files, one file and row group at a time, through delta-rs' object store",))

    def estimate_rows(self, request: ReadRequest) -> RowEstimate:
        """From the log's per-file record counts (no footer is read); the footers when a file has none.
        Changes have no count: unknown, or none after the cursor."""
        assert request.spec.path is not None
        versions = Versions.of(request.row_filter) if request.spec.change_feed is not None else None
        if versions is not None and versions.empty:
            return RowEstimate(0, f"no version after {versions.last}", exact=True)
        if versions is not None and versions.first is not None:
            return RowEstimate.unknown("a change data feed keeps no row counts")
        table = self._table(request.spec.path)
        counts = pa.table(table.get_add_actions(flatten=True)).column("num_records")  # an arro3 table, via its C stream
        if counts.null_count:
            return super().estimate_rows(request)
        rows = pc.sum(counts).as_py() or 0
        if request.row_filter is not None and versions is None:
            return RowEstimate(rows, f"delta log of version {table.version()}, before the window", upper_bound=True)
        return RowEstimate(rows, f"delta log of version {table.version()}", exact=True)

    def max_value(self, spec: ReadSpec, column: str) -> object | None:
        """The table's version for the change feed's watermark; otherwise the Parquet home's maximum: the
        files' footers hold exact maxima, where the log's statistics are truncated (timestamps to
        milliseconds, strings to a prefix)."""
        if spec.change_feed is None:
            return super().max_value(spec, column)
        assert spec.path is not None
        return self._change_feed_table(spec.path).version()


def open_table(folder: Path, path: str) -> DeltaTable:
    """The table at its latest version, or an error naming the path and the fix."""
    from deltalake import DeltaTable
    from deltalake.exceptions import DeltaError

    target = folder / path
    if not target.is_dir():
        problem = "is a file, not a Delta table's folder" if target.exists() else "does not exist"
        raise DeltaTableUnreadable(path=path, folder=folder, problem=problem, fix=_PATH_FIX)
    if not (target / "_delta_log").is_dir():  # plain Parquet files, or a folder above or below the table
        raise DeltaTableUnreadable(path=path, folder=folder, problem="is not a Delta table (it has no _delta_log/)",
                                   fix=f"{_PATH_FIX}; plain Parquet files are read by a `parquet` connection")
    try:
        return DeltaTable(str(target))
    except DeltaError as error:  # a log without a commit yet, or one delta-rs cannot read
        raise DeltaTableUnreadable(path=path, folder=folder, problem=f"has a Delta log that cannot be read "
                                   f"({first_line(error)})", fix="repair the table or wait for its first commit, "
                                   "or point home.path at another table") from error


def open_remote_table(location: DeltaTableLocation, path: str) -> DeltaTable:
    """A table in Azure storage at its latest version, or an error naming where it was looked for."""
    from deltalake.exceptions import DeltaError

    try:
        if location.exists():
            return location.at()
    except DeltaError as error:
        raise DeltaTableUnreadable(path=path, folder=location.uri, problem=f"cannot be read ({first_line(error)})",
                                   fix="check the connection's account, filesystem and base_path") from error
    raise DeltaTableUnreadable(path=path, folder=location.uri, problem="is not a Delta table (no _delta_log/ there)",
                               fix=_PATH_FIX)


def table_dataset(table: DeltaTable, uri: Path | None, path: str, folder: Path | str) -> ds.FileSystemDataset:
    """The files of the table's version as an Arrow dataset; a local table's read from the disk directly
    (delta-rs' default file system calls back into Python for every read), a remote one's through it."""
    from deltalake.exceptions import DeltaProtocolError

    try:
        filesystem = pa_fs.SubTreeFileSystem(str(uri), pa_fs.LocalFileSystem()) if uri is not None else None
        dataset = table.to_pyarrow_dataset(filesystem=filesystem)
    except DeltaProtocolError as error:  # deletion vectors, column mapping: features an Arrow scan cannot honour
        raise DeltaTableUnreadable(path=path, folder=folder, problem=f"uses a feature this home cannot read "
                                   f"({first_line(error)})",
                                   fix="rewrite the table without deletion vectors and column mapping, or export "
                                       "it to Parquet and read that with a `parquet` connection") from error
    assert isinstance(dataset, ds.FileSystemDataset)  # what delta-rs builds
    return dataset


def delta_home(resource: DeltaResource) -> DeltaHome:
    return DeltaHome(resource)
