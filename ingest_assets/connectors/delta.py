"""`delta`: a folder of Delta Lake tables, read and written through delta-rs (`deltalake`).

A project-relative folder, like `parquet`'s. As a store, each entity's table is `<path>/<store path>`, a
Delta table (Parquet files plus its `_delta_log`); as a home (`homes/delta.py`), the entity's `home.path`
names a table below the folder. Its check: a home's paths must exist, a store's folder must be writable;
a folder that is not a Delta table fails the read of `ingest check`'s column check, and of the run.

A store's housekeeping (`stores/delta_housekeeping.py`) is the connection's: `optimize` (compaction,
Z-ordered by `z_order` columns that every table of the store has) and `vacuum` with
`vacuum_retention_hours`, run after each load's commit.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ingest_assets.connectors.connector_type import ConnectorType
from ingest_assets.connectors.files import FolderResource
from ingest_assets.connectors.settings import ConnectionSettings
from ingest_assets.stores.delta_housekeeping import DEFAULT_RETENTION_HOURS, Housekeeping


class DeltaConnection(ConnectionSettings):
    """A folder of Delta tables: a home (tables below it) or a store."""

    type: Literal["delta"]
    path: str
    optimize: bool = False
    z_order: list[str] = Field(default_factory=list)
    vacuum: bool = False
    vacuum_retention_hours: int = Field(default=DEFAULT_RETENTION_HOURS, ge=0)


class DeltaResource(FolderResource):
    optimize: bool = Field(default=False, description="Compact the table's small files after each load.")
    z_order: list[str] = Field(default_factory=list, description="Columns the compaction clusters rows by.")
    vacuum: bool = Field(default=False, description="Delete files no version within the retention needs.")
    vacuum_retention_hours: int = Field(default=DEFAULT_RETENTION_HOURS,
                                        description="How long files that left the table are kept.")

    def housekeeping(self) -> Housekeeping:
        return Housekeeping(optimize=self.optimize or bool(self.z_order), z_order=tuple(self.z_order),
                            vacuum=self.vacuum, retention_hours=self.vacuum_retention_hours)


DELTA = ConnectorType("delta", DeltaResource.from_settings, "ingest_assets.homes.delta:delta_home",
                      "ingest_assets.stores.delta:DeltaStore", frozenset({"path"}), "path", reads_back=True,
                      model=DeltaConnection)
