"""Local filesystem backend: a folder stands in for the file system (demo, tests, mounted shares).

It locks (`locks.Lockable`) with an flock of the lock file, which holds on one host (and on network
file systems whose flock is shared between hosts, which NFS's and SMB's may not be).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from ingest_assets.storage.base import Entry


class LocalStorage:
    def __init__(self, root: Path):
        self._root = root

    def _path(self, path: str) -> Path:
        return self._root / path if path else self._root

    def describe(self, path: str = "") -> str:
        return str(self._path(path))

    def list(self, folder: str) -> list[Entry]:
        directory = self._path(folder)
        if not directory.is_dir():
            return []
        entries = []
        for child in directory.iterdir():
            is_folder = child.is_dir()
            entries.append(Entry(child.name, is_folder, 0 if is_folder else child.stat().st_size))
        return sorted(entries, key=lambda entry: entry.name)

    def exists(self, path: str) -> bool:
        return self._path(path).is_file()

    def read_bytes(self, path: str) -> bytes:
        return self._path(path).read_bytes()

    def write_bytes(self, path: str, data: bytes) -> None:
        with self._temporary_beside(path) as temporary:
            temporary.write_bytes(data)

    def upload(self, path: str, source: Path) -> None:
        with self._temporary_beside(path) as temporary:
            shutil.copyfile(source, temporary)

    def download(self, path: str, target: Path) -> None:
        shutil.copyfile(self._path(path), target)

    def rename(self, source: str, target: str) -> None:
        source_path, target_path = self._path(source), self._path(target)
        target_path.parent.mkdir(parents=True, exist_ok=True)
        # link() refuses an existing target (rename() would replace it); the name appears complete.
        os.link(source_path, target_path)
        source_path.unlink()

    def delete(self, path: str) -> None:
        self._path(path).unlink(missing_ok=True)

    def delete_folder(self, folder: str) -> None:
        shutil.rmtree(self._path(folder), ignore_errors=True)

    def make_folder(self, folder: str) -> None:
        self._path(folder).mkdir(parents=True, exist_ok=True)

    def _temporary_beside(self, path: str) -> _WriteThenRename:
        return _WriteThenRename(self._path(path))

    def try_lock(self, path: str, holder: str) -> _FileLock | None:
        file = self._path(path)
        file.parent.mkdir(parents=True, exist_ok=True)
        handle = open(file, "a+b")  # noqa: SIM115 (the lock keeps it open until released)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # The holder before removes the file on release: a lock on a removed file locks nothing.
            if not os.path.samestat(os.fstat(handle.fileno()), file.stat()):
                raise FileNotFoundError(file)
        except (BlockingIOError, FileNotFoundError):
            handle.close()
            return None
        handle.truncate(0)
        handle.write(holder.encode())
        handle.flush()
        return _FileLock(file, handle)

    def lock_holder(self, path: str) -> str:
        try:
            return self._path(path).read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def break_lock_of_dead(self, path: str, is_gone: Callable[[str], bool]) -> bool:
        return False  # the kernel ends an flock with its process


class _FileLock:
    def __init__(self, file: Path, handle: BinaryIO):
        self._file, self._handle = file, handle

    def release(self) -> None:
        self._file.unlink(missing_ok=True)  # while still held, so no one locks the file being removed
        self._handle.close()  # releases the flock


class _WriteThenRename:
    """Write to a hidden temporary name in the same folder, then rename over the target."""

    def __init__(self, target: Path):
        self._target = target
        # `_`-prefixed: readers and Fabric skip it if a crash leaves it behind (stores remove it later).
        self._temporary = target.with_name(f"_{target.name}.{uuid.uuid4().hex[:8]}.tmp")

    def __enter__(self) -> Path:
        self._target.parent.mkdir(parents=True, exist_ok=True)
        return self._temporary

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if kind is None:
            os.replace(self._temporary, self._target)
        else:
            self._temporary.unlink(missing_ok=True)
