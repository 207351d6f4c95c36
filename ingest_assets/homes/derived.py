"""The home of a derived asset: its SQL, run by DuckDB over its inputs where their stores keep them.

Each run opens a scratch DuckDB database in a temporary folder (DuckDB spills there too, within the
session's memory limit, so a query larger than memory still runs) with one schema per flow and one
view per input, named `flow.entity`:

- Parquet store: a view over the files of the table's current version (pinned when the run starts),
  each file read on its own, so the planner knows the table's true size;
- DuckDB store: the database file ATTACHed READ_ONLY, and a view over its table;
- SQL store: the table streamed in batches into a table of the scratch database (on disk), because a
  stream can be scanned only once and a query may read an input twice.

The result is streamed in batches to the writer. When the last batch has been read the scratch
database is closed, releasing attached files before the store commits (it may be the same file).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, cast

from ingest_assets.connectors import registry
from ingest_assets.connectors.connector_type import AnyResource
from ingest_assets.errors import DerivedQueryFailed, InputDatabaseBusy, InputNotMaterialized, first_line
from ingest_assets.homes.base import ReadRequest
from ingest_assets.plan.derived import DerivedPlan
from ingest_assets.plan.model import EntityPlan, ReadSpec
from ingest_assets.sql.duckdb_session import session_config
from ingest_assets.sql.text import parquet_files, quote_identifier, quote_qualified, string_literal
from ingest_assets.stores.read_back import (
    ArrowStream,
    DuckDBTable,
    ParquetFiles,
    ReadableStore,
    TableSource,
    VersionedStore,
)

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

SCRATCH_DATABASE = "_ingest_derived"  # the scratch file's catalog name; never a flow's schema name


class DerivedQueryHome:
    """A `Home` whose rows are the derived asset's query result; `stores` are the inputs' store resources."""

    def __init__(self, derived: DerivedPlan, stores: Callable[[str], AnyResource],
                 recorded: Callable[[EntityPlan], Mapping[str, object]] = lambda _asset: {}):
        self._derived = derived
        self._stores = stores
        self._recorded = recorded  # an input's latest materialization metadata (its version, where kept)

    @contextmanager
    def read(self, request: ReadRequest) -> Iterator[pa.RecordBatchReader]:
        import duckdb
        import pyarrow as pa

        folder = Path(tempfile.mkdtemp(prefix="ingest-derived-"))
        config = session_config(folder / "spill", self._derived.entity.query_memory_limit)
        connection = duckdb.connect(str(folder / f"{SCRATCH_DATABASE}.duckdb"), config=config)
        try:
            self._expose_inputs(connection)
            sql = f"SELECT * FROM ({self._derived.sql}) AS {quote_identifier('derived')}"
            try:
                relation = connection.sql(sql, params=dict(self._derived.params) or None)
                result = relation.to_arrow_reader(request.spec.batch_size)
            except duckdb.Error as error:
                raise self._query_failed(error) from error
            batches = self._batches(result, connection)
            yield pa.RecordBatchReader.from_batches(result.schema, batches)
        finally:
            connection.close()
            shutil.rmtree(folder, ignore_errors=True)

    def max_value(self, spec: ReadSpec, column: str) -> object | None:
        return None  # a derived asset has no watermark: it is recomputed in full

    def _batches(self, result: pa.RecordBatchReader, connection: duckdb.DuckDBPyConnection
                 ) -> Iterator[pa.RecordBatch]:
        import duckdb
        import pyarrow as pa

        try:
            while True:
                try:
                    batch = result.read_next_batch()
                except StopIteration:
                    break
                except (duckdb.Error, pa.ArrowException, OSError) as error:
                    # Errors found while the query runs (a failed cast, ...) come through the Arrow
                    # stream, which raises DuckDB's message as an OSError.
                    raise self._query_failed(error) from error
                yield batch
        finally:
            result.close()
            connection.close()  # releases the attached inputs before the store commits

    def _query_failed(self, error: Exception) -> DerivedQueryFailed:
        return DerivedQueryFailed(reason=first_line(error), inputs=[i.label for i in self._derived.inputs])

    # ---- inputs ----------------------------------------------------------------------------------

    def _expose_inputs(self, connection: duckdb.DuckDBPyConnection) -> None:
        attached: dict[str, str] = {}  # database file -> its alias: a file is attached once
        for asset in self._derived.inputs:
            source = self._source(asset)
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(asset.flow)}")
            view = quote_qualified(asset.label)
            if isinstance(source, ParquetFiles):
                connection.execute(f"CREATE VIEW {view} AS {_each_file(source.files)}")
            elif isinstance(source, DuckDBTable):
                alias = attached.get(source.database)
                if alias is None:
                    alias = attached[source.database] = f"_input_{len(attached)}"
                    _attach(connection, source.database, alias)
                connection.execute(f"CREATE VIEW {view} AS SELECT * FROM "
                                   f"{quote_identifier(alias)}.{quote_qualified(source.table)}")
            else:
                _copy_stream(connection, source, view)

    def _source(self, asset: EntityPlan) -> TableSource:
        # Only stores whose type `reads_back` are inputs (checked when the project loads).
        store = cast(ReadableStore, registry.open_store(asset.store.type, self._stores(asset.store.name)))
        source = (store.read_back_recorded(asset.write, self._recorded(asset)) if isinstance(store, VersionedStore)
                  else store.read_back(asset.write))
        if source is None:
            raise InputNotMaterialized(entity=asset.label, destination=store.describe(asset.write),
                                       derived_key="/".join(self._derived.entity.key_path))
        return source


def _each_file(files: Sequence[object]) -> str:
    """The files as one table whose size the planner knows: DuckDB estimates `read_parquet([...])` as the
    first file's rows times the number of files (after a merge the first is the small one, and a join
    planned for a small table took 17 GiB); a UNION ALL of the files is the sum of their exact counts."""
    if not files:
        return f"SELECT * FROM {parquet_files(files)}"
    return " UNION ALL ".join(f"SELECT * FROM {parquet_files([file])}" for file in files)


def _attach(connection: duckdb.DuckDBPyConnection, database: str, alias: str) -> None:
    import duckdb

    try:
        connection.execute(f"ATTACH {string_literal(database)} AS {quote_identifier(alias)} (READ_ONLY)")
    except duckdb.IOException as error:
        # Another process holds the file's write lock (a commit): a retry finds it free.
        raise InputDatabaseBusy(database=database, reason=first_line(error)) from error


def _copy_stream(connection: duckdb.DuckDBPyConnection, source: ArrowStream, view: str) -> None:
    """Stream the input into the scratch database (on disk), batch by batch."""
    stream = "_ingest_input_stream"
    with source.open() as reader:
        connection.register(stream, reader)
        try:
            connection.execute(f"CREATE TABLE {view} AS SELECT * FROM {stream}")
        finally:
            connection.unregister(stream)
