"""Where one Delta table of the store is: a local folder, or a URI in Azure storage.

Local (`path:`), the layout of the folder stores (`folder_layout`): the table, the runs' staging
beside it, and a lock file that one host's runs take around the short commit. In Azure storage the
table is `abfss://<file system>@<account>/<base_path>/<store path>` opened with the connection's
`storage_options` (`storage.delta_object_store`); runs stage in the local temporary folder, and there is
no lock: object storage has no `flock`, so writers on any host rely on Delta's optimistic
concurrency (a commit that lost the race fails as `TableCommitConflict`, retried).
"""

from __future__ import annotations

import hashlib
import tempfile
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from ingest_assets.connectors.delta import DeltaResource
from ingest_assets.errors import DestinationOccupied
from ingest_assets.storage.base import join
from ingest_assets.storage.delta_object_store import storage_options, table_uri
from ingest_assets.stores.folder_layout import FolderTablePaths
from ingest_assets.stores.locking import file_lock

if TYPE_CHECKING:
    from deltalake import DeltaTable


class DeltaTableLocation:
    def __init__(self, resource: DeltaResource, relative: str):
        self.relative = relative.strip("/")
        if resource.is_local:
            paths = FolderTablePaths(resource.local_folder(), self.relative)
            self.local: Path | None = paths.table
            self.uri = str(paths.table)
            self.options: dict[str, str] = {}
            self.staging = paths.staging
            self._lock: Path | None = paths.lock
        else:
            location = resource.location()
            self.local = None
            self.uri = table_uri(location, join(resource.remote_base(), self.relative))
            self.options = storage_options(location)
            # One folder per table URI, so two stores' tables of the same name never share staging.
            digest = hashlib.sha256(self.uri.encode()).hexdigest()[:16]
            self.staging = Path(tempfile.gettempdir()) / "ingest-delta-staging" / digest
            self._lock = None

    def commit_lock(self) -> AbstractContextManager[object]:
        """Held around the commit: one host's runs take turns; object storage has only Delta's own check."""
        return file_lock(self._lock) if self._lock is not None else nullcontext()

    def exists(self) -> bool:
        from deltalake import DeltaTable

        return DeltaTable.is_deltatable(self.uri, storage_options=self.options or None)

    def at(self, version: int | None = None) -> DeltaTable:
        from deltalake import DeltaTable

        return DeltaTable(self.uri, version=version, storage_options=self.options or None)

    def open(self) -> DeltaTable | None:
        """The table at its latest version; None when there is none yet. A local folder that is not a
        Delta table is not ours to write over, unless it holds only data files of a first load whose
        commit failed (`delta_files`: referenced by no version, so the next first load leaves them aside)."""
        if self.exists():
            return self.at()
        if self.local is not None and self.local.exists() and any(
                not _uncommitted_file(entry) for entry in self.local.iterdir()):
            raise DestinationOccupied(path=self.local)
        return None


def _uncommitted_file(entry: Path) -> bool:
    return entry.is_file() and entry.name.startswith("part-") and entry.name.endswith(".parquet")
