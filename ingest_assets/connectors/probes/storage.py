"""Storage connections (ADLS, OneLake, Open Mirroring, or a local folder): reach it, write and delete a probe file."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ingest_assets.errors import IngestError
from ingest_assets.connectors.probes.base import CheckLine, ConnectionUse, fail, ok, probe_name
from ingest_assets.connectors.probes.files import writable_folder

if TYPE_CHECKING:
    from ingest_assets.connectors.storage_resources import StorageResource


def check_storage(resource: "StorageResource", use: ConnectionUse, folder: str = "") -> Iterator[CheckLine]:
    """Errors arrive already translated by the storage layer (`storage.azure_errors`): their text is the fix."""
    if resource.local_path is not None:
        # A local folder: writing a probe through the storage would create the missing folders.
        yield writable_folder(resource.local_folder() / folder)
        return
    try:
        storage = resource.open()
        storage.list(folder)
        yield ok(f"can list {storage.describe(folder)}")
        if use.writes:
            # At the top of the file system: a probe deeper down would leave the folders it creates (DFS).
            probe = probe_name()
            storage.write_bytes(probe, b"")
            storage.delete(probe)
            yield ok(f"can write and delete files in {storage.describe()}")
    except IngestError as error:
        yield fail(str(error))
    except OSError as error:
        yield fail(f"{error} -> check the connection's location settings and the identity's permissions")
