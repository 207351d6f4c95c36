"""Azure Blob storage backend (accounts without a hierarchical namespace, Azurite), via ContainerClient.

Folders are implicit: a folder exists while a blob name starts with it, so `make_folder` does
nothing. Uploads are atomic: one Put Blob, or blocks that become visible together when the block
list is committed, so a name never shows a partial file.

`rename` is copy + delete, because the Blob API has no rename, and it is not atomic:
- the server-side copy is guarded by a must-not-exist condition (`If-None-Match: *`), so an existing
  target raises `FileExistsError` and is left alone;
- the source is deleted only after the copy reports success, so a crash in between leaves both
  names, never neither (a retry then sees `FileExistsError`, with the source still there);
- the target appears complete because the copy commits the blob's blocks at once; a same-account
  copy normally finishes within the request. Should the service report it pending, the target
  exists, empty, until it finishes: it is polled, and after `COPY_WAIT_SECONDS` aborted and deleted.
Put Blob From URL would be a synchronous one-request copy, but Azurite 3.35 answers it with 501 Not
Implemented; the synchronous Copy Blob From URL (`requires_sync`) needs the source authorized by a
SAS or token even within one account. So it is the asynchronous Copy Blob, polled until it is done.

It locks (`locks.Lockable`) with a lease on the lock blob: LEASE_SECONDS long, renewed by a thread
while held, so the lock of a holder that dies (or loses the network) lapses by itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest_assets.errors import BlobCopyFailed
from ingest_assets.storage.azure_errors import AzureTarget, azure_errors
from ingest_assets.storage.base import Entry

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient, BlobLeaseClient, ContainerClient

COPY_WAIT_SECONDS = 300.0
COPY_POLL_SECONDS = 0.2
UPLOAD_CONCURRENCY = 2
# A blob that stands for a directory (accounts with a hierarchical namespace, seen through Blob).
FOLDER_METADATA = "hdi_isfolder"
LEASE_SECONDS = 60  # the longest finite lease the service grants
RENEW_SECONDS = 15  # a renewal that fails is tried again three times before the lease lapses


def _is_folder_marker(metadata: dict[str, str] | None) -> bool:
    return (metadata or {}).get(FOLDER_METADATA, "").lower() == "true"


class BlobStorage:
    def __init__(self, container: ContainerClient, target: AzureTarget, source_query: str = ""):
        self._container = container
        self._target = target
        self._source_query = source_query  # a SAS to authorize the source of a copy, or ""

    def describe(self, path: str = "") -> str:
        return self._target.where(path)

    def list(self, folder: str) -> list[Entry]:
        from azure.storage.blob import BlobPrefix

        prefix = f"{folder.strip('/')}/" if folder.strip("/") else None
        entries: dict[str, Entry] = {}
        with azure_errors(self._target, folder):
            for item in self._container.walk_blobs(name_starts_with=prefix, include=["metadata"], delimiter="/"):
                name = item.name[len(prefix or ""):].rstrip("/")
                if isinstance(item, BlobPrefix) or _is_folder_marker(item.metadata):
                    entries[name] = Entry(name, True)  # a marker and its prefix are one folder
                elif name not in entries:
                    entries[name] = Entry(name, False, item.size)
        return sorted(entries.values(), key=lambda entry: entry.name)

    def exists(self, path: str) -> bool:
        with azure_errors(self._target, path, missing_ok=True):
            return not _is_folder_marker(self._container.get_blob_client(path).get_blob_properties().metadata)
        return False

    def read_bytes(self, path: str) -> bytes:
        with azure_errors(self._target, path):
            return self._container.download_blob(path).readall()

    def write_bytes(self, path: str, data: bytes) -> None:
        with azure_errors(self._target, path):
            self._container.upload_blob(path, data, overwrite=True)

    def upload(self, path: str, source: Path) -> None:
        with open(source, "rb") as stream, azure_errors(self._target, path):
            self._container.upload_blob(path, stream, length=source.stat().st_size, overwrite=True,
                                        max_concurrency=UPLOAD_CONCURRENCY)

    def download(self, path: str, target: Path) -> None:
        try:
            with open(target, "wb") as stream, azure_errors(self._target, path):
                self._container.download_blob(path, max_concurrency=UPLOAD_CONCURRENCY).readinto(stream)
        except BaseException:
            target.unlink(missing_ok=True)
            raise

    def rename(self, source: str, target: str) -> None:
        from azure.core import MatchConditions

        source_client = self._container.get_blob_client(source)
        target_client = self._container.get_blob_client(target)
        source_url = f"{source_client.url}?{self._source_query}" if self._source_query else source_client.url
        with azure_errors(self._target, source, must_not_exist=target):
            copy = target_client.start_copy_from_url(source_url, match_condition=MatchConditions.IfMissing)
        with azure_errors(self._target, target):
            self._wait_for_copy(target_client, copy)
        with azure_errors(self._target, source, missing_ok=True):
            source_client.delete_blob()

    def delete(self, path: str) -> None:
        with azure_errors(self._target, path, missing_ok=True):
            self._container.delete_blob(path)

    def delete_folder(self, folder: str) -> None:
        prefix = f"{folder.strip('/')}/" if folder.strip("/") else None
        with azure_errors(self._target, folder):
            names = [blob.name for blob in self._container.list_blobs(name_starts_with=prefix)]
        # Deepest first: with a hierarchical namespace a folder's marker blob goes after its children.
        # One request each: batch deletes are unavailable on hierarchical-namespace accounts.
        for name in sorted(names, reverse=True):
            self.delete(name)
        if prefix:
            self._delete_folder_marker(folder.strip("/"))

    def make_folder(self, folder: str) -> None:
        """Nothing to do: Blob folders exist while blobs are in them."""

    def try_lock(self, path: str, holder: str) -> _BlobLease | None:
        from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

        client = self._container.get_blob_client(path)
        with azure_errors(self._target, path):
            with suppress(ResourceExistsError):  # a lock blob exists while its lock is held
                client.upload_blob(b"", overwrite=False)
            try:
                lease = client.acquire_lease(lease_duration=LEASE_SECONDS)
            except ResourceNotFoundError:
                return None  # its holder released it (and removed it) just now
            except HttpResponseError as error:
                if error.status_code == 409:  # LeaseAlreadyPresent
                    return None
                raise
            client.upload_blob(holder.encode(), overwrite=True, lease=lease)
        return _BlobLease(client, lease)

    def break_lock_of_dead(self, path: str, is_gone: Callable[[str], bool]) -> bool:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
        from azure.storage.blob import BlobLeaseClient

        client = self._container.get_blob_client(path)
        with azure_errors(self._target, path):
            try:
                download = client.download_blob()
                if not is_gone(download.readall().decode(errors="replace")):
                    return False
                # Only the lease of the holder read: a new holder rewrites the blob, changing its etag.
                BlobLeaseClient(client).break_lease(lease_break_period=0, etag=download.properties.etag,
                                                    match_condition=MatchConditions.IfNotModified)
            except (ResourceNotFoundError, ResourceModifiedError):
                return False
        return True

    def lock_holder(self, path: str) -> str:
        try:
            return self.read_bytes(path).decode(errors="replace")
        except FileNotFoundError:
            return ""

    def _delete_folder_marker(self, folder: str) -> None:
        with azure_errors(self._target, folder, missing_ok=True):
            if _is_folder_marker(self._container.get_blob_client(folder).get_blob_properties().metadata):
                self._container.delete_blob(folder)

    def _wait_for_copy(self, target_client: Any, copy: dict[str, Any]) -> None:
        status = copy.get("copy_status")
        deadline = time.monotonic() + COPY_WAIT_SECONDS
        while status == "pending" and time.monotonic() < deadline:
            time.sleep(COPY_POLL_SECONDS)
            status = target_client.get_blob_properties().copy.status
        if status == "success":
            return
        # Failed, aborted or still pending: leave no partial target, keep the source for the retry.
        if status == "pending":
            target_client.abort_copy(copy["copy_id"])
        target_client.delete_blob()
        raise BlobCopyFailed(target=self.describe(target_client.blob_name), status=status)


class _BlobLease:
    """A lease on a lock blob, renewed until released; release removes the blob."""

    def __init__(self, client: BlobClient, lease: BlobLeaseClient):
        self._client, self._lease = client, lease
        self._released = threading.Event()
        self._renewer = threading.Thread(target=self._renew, name=f"lease {client.blob_name}", daemon=True)
        self._renewer.start()

    def _renew(self) -> None:
        from azure.core.exceptions import AzureError

        while not self._released.wait(RENEW_SECONDS):
            with suppress(AzureError):  # tried again next time; a lease not renewed in time lapses
                self._lease.renew()

    def release(self) -> None:
        from azure.core.exceptions import AzureError

        self._released.set()
        self._renewer.join()
        with suppress(AzureError):  # a lease that cannot be given back lapses within LEASE_SECONDS
            self._client.delete_blob(lease=self._lease)
