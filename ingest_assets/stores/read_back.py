"""Reading a store's committed table back: where its rows are, for a query engine to scan.

A store that can be read back (`ConnectorType.reads_back` in the registry) answers `read_back(target)`
with one of the sources below, or None when the table has not been written yet. The sources describe
rows in place; nothing is read until a query scans them, so reading a large table costs no memory here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeAlias, runtime_checkable

from ingest_assets.plan.model import WriteSpec
from ingest_assets.stores.base import Store

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class ParquetFiles:
    """The Parquet files of one committed version (a later commit makes a new version, not new files here)."""

    files: tuple[str, ...]


@dataclass(frozen=True)
class DuckDBTable:
    """A table in a DuckDB database file, to be attached read-only."""

    database: str
    table: str  # `schema.table` or `table`, as the store writes it


@dataclass(frozen=True)
class ArrowStream:
    """Rows only a stream can give (a SQL database): `open()` streams the table once, in batches."""

    open: Callable[[], AbstractContextManager[pa.RecordBatchReader]]
    description: str


TableSource: TypeAlias = ParquetFiles | DuckDBTable | ArrowStream


class ReadableStore(Store, Protocol):
    def read_back(self, target: WriteSpec) -> TableSource | None:
        """Where the target's committed rows are (None: the table has not been written yet)."""


@runtime_checkable
class VersionedStore(Protocol):
    """A store whose tables keep versions (Delta): it reads back the one a materialization recorded."""

    def read_back_recorded(self, target: WriteSpec, recorded: Mapping[str, object]) -> TableSource | None:
        """The rows of the version `recorded` (the input's latest materialization metadata) names; the
        latest when it names none, or when that version can no longer be read (vacuumed)."""
