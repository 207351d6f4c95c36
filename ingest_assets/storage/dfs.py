"""ADLS Gen2 / OneLake backend through the DFS API (azure-storage-file-datalake's FileSystemClient).

Folders are real and a rename is one atomic request, which is why the stores prefer this API.

Writes go to a `_`-prefixed temporary name beside the target and are renamed over it: a DFS upload
is create (an empty file, visible at once) + append + flush, so writing the target name directly
would show an empty or partial file, and an overwrite would truncate the old one first. The rename
replaces the target atomically, so readers see the old file or the new one, never a partial one.

`rename` sends the SDK's Path Create with `x-ms-rename-source` and `If-None-Match: *` on the
destination, so an existing target raises `FileExistsError` and is left alone. Microsoft's OneLake
sample notes the SDK's rename can misbehave against OneLake and sends that REST `PUT` itself; the SDK
call is kept here (it is the same request against ADLS Gen2 and the test server) -- if OneLake
renames fail, that raw `PUT` is the fallback.
"""

from __future__ import annotations

import uuid
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote

from ingest_assets.storage.azure_errors import AzureTarget, azure_errors, error_code
from ingest_assets.storage.base import Entry

if TYPE_CHECKING:
    from azure.storage.filedatalake import FileSystemClient

TRANSFER_CONCURRENCY = 2
# Bytes per append request; each of the upload's threads holds one chunk in memory.
CHUNK_BYTES = 8 * 1024 * 1024
FOLDER_METADATA = "hdi_isfolder"  # how the Blob endpoint marks a directory in a path's properties


class DfsStorage:
    def __init__(self, file_system: FileSystemClient, target: AzureTarget):
        self._fs = file_system
        self._target = target

    def describe(self, path: str = "") -> str:
        return self._target.where(path)

    def list(self, folder: str) -> list[Entry]:
        folder = folder.strip("/")
        entries: list[Entry] = []
        with azure_errors(self._target, folder, missing_ok=True):
            for path in self._fs.get_paths(path=folder or None, recursive=False):
                name = path.name.rsplit("/", 1)[-1]
                is_folder = bool(path.is_directory)
                entries.append(Entry(name, is_folder, 0 if is_folder else int(path.content_length or 0)))
        return sorted(entries, key=lambda entry: entry.name)

    def exists(self, path: str) -> bool:
        with azure_errors(self._target, path, missing_ok=True):
            metadata = self._fs.get_file_client(path).get_file_properties().metadata or {}
            return metadata.get(FOLDER_METADATA, "").lower() != "true"
        return False

    def read_bytes(self, path: str) -> bytes:
        with azure_errors(self._target, path):
            return self._fs.get_file_client(path).download_file().readall()

    def write_bytes(self, path: str, data: bytes) -> None:
        self._write(path, data, len(data))

    def upload(self, path: str, source: Path) -> None:
        with open(source, "rb") as stream:
            self._write(path, stream, source.stat().st_size)

    def download(self, path: str, target: Path) -> None:
        try:
            with open(target, "wb") as stream, azure_errors(self._target, path):
                self._fs.get_file_client(path).download_file(max_concurrency=TRANSFER_CONCURRENCY).readinto(stream)
        except BaseException:
            target.unlink(missing_ok=True)
            raise

    def rename(self, source: str, target: str) -> None:
        from azure.core import MatchConditions

        self._rename(source, target, match_condition=MatchConditions.IfMissing)

    def delete(self, path: str) -> None:
        with azure_errors(self._target, path, missing_ok=True):
            self._fs.get_file_client(path).delete_file()

    def delete_folder(self, folder: str) -> None:
        folder = folder.strip("/")
        if not folder:  # the file system's root cannot be deleted: empty it instead
            for entry in self.list(""):
                self.delete_folder(entry.name) if entry.is_folder else self.delete(entry.name)
            return
        with azure_errors(self._target, folder, missing_ok=True):
            self._fs.get_directory_client(folder).delete_directory()  # recursive

    def make_folder(self, folder: str) -> None:
        from azure.core import MatchConditions

        folder = folder.strip("/")
        if not folder:
            return
        # Only if missing (parents are created with it): creating an existing directory again would
        # reset its properties. An existing one answers "already exists", which is the goal.
        with suppress(FileExistsError), azure_errors(self._target, folder, must_not_exist=folder):
            self._fs.create_directory(folder, match_condition=MatchConditions.IfMissing)

    def _write(self, path: str, data: bytes | BinaryIO, length: int) -> None:
        folder, _, name = path.rpartition("/")
        temporary = f"{folder}/_{name}.{uuid.uuid4().hex[:8]}.tmp" if folder else f"_{name}.{uuid.uuid4().hex[:8]}.tmp"
        client = self._fs.get_file_client(temporary)
        try:
            with azure_errors(self._target, path):
                if length:
                    client.upload_data(data, length=length, overwrite=True, max_concurrency=TRANSFER_CONCURRENCY,
                                       chunk_size=CHUNK_BYTES)
                else:  # upload_data sends nothing at all for empty data
                    client.create_file()
            self._rename(temporary, path)  # replaces the target atomically
        except BaseException:
            with suppress(Exception):  # best effort: a leftover `_` name is ignored by readers
                self.delete(temporary)
            raise

    def _rename(self, source: str, target: str, **conditions: Any) -> None:
        """Rename a file; a missing parent folder of the target is created (the service requires it)."""
        from azure.core.exceptions import ResourceNotFoundError

        # The SDK sends the source as quote(unquote(name)), which would turn a `%41` in a name into `A`;
        # quoting the name first makes that the name's correct encoding.
        client = self._fs.get_file_client(quote(source, safe="/"))
        new_name = f"{self._fs.file_system_name}/{target}"
        guard = target if conditions else None
        with azure_errors(self._target, source, must_not_exist=guard):
            try:
                client.rename_file(new_name, **conditions)
                return
            except ResourceNotFoundError as error:
                if error_code(error) != "RenameDestinationParentPathNotFound":
                    raise
        self.make_folder(target.rpartition("/")[0])
        with azure_errors(self._target, source, must_not_exist=guard):
            client.rename_file(new_name, **conditions)
