"""Where a run of the fault suite can be killed: events it counts, and the one it dies at.

A run counts the events of each kind it goes through; armed with `{"kind": K, "nth": n}` it sends
SIGKILL to its own process group at the `n`th event of kind K (before the event happens, so the
`n`th operation is the first one not done). The kinds:

- `fs`: a change to the file system under a watched folder (the store's root and staging): a
  rename, replace, delete or new folder, at the `os` functions every Python caller (pathlib and
  shutil too) goes through. Files written by native code (pyarrow, DuckDB) show as their renames.
- `sql`: a statement sent to the store's database through SQLAlchemy (the engine whose URL holds
  the watched text), the home's reads left out.
- `storage`: a mutating call of the storage layer (upload, write_bytes, rename, delete,
  delete_folder, make_folder) of a landing zone or an ADLS store.
- `call:<module>:<name>:<before|after>`: a named function of the load's commit path.
"""

from __future__ import annotations

import functools
import importlib
import os
import signal
from collections import Counter
from collections.abc import Callable
from typing import Any

FS_FUNCTIONS = ("replace", "rename", "unlink", "remove", "rmdir", "mkdir")
STORAGE_METHODS = ("upload", "write_bytes", "rename", "delete", "delete_folder", "make_folder")
STORAGE_CLASSES = ("ingest_assets.storage.local:LocalStorage", "ingest_assets.storage.blob:BlobStorage",
                   "ingest_assets.storage.dfs:DfsStorage")


class RunEvents:
    """The events a run went through, by kind; the kill, when armed, at its event."""

    def __init__(self, kill: dict[str, Any] | None):
        self.counts: Counter[str] = Counter()
        self._kind = kill.get("kind") if kill else None
        self._nth = kill.get("nth") if kill else None

    def event(self, kind: str) -> None:
        self.counts[kind] += 1
        if kind == self._kind and self.counts[kind] == self._nth:
            os.killpg(os.getpgrp(), signal.SIGKILL)


def arm(kill: dict[str, Any] | None, watch: dict[str, Any]) -> RunEvents:
    """Install the hooks in this process (a run's, just forked): `watch` names the folders (`fs`),
    the database (`sql`) and the named calls the suite follows."""
    counter = RunEvents(kill)
    if watch.get("folders"):
        _watch_file_system(counter, [os.path.realpath(folder) for folder in watch["folders"]])
    if watch.get("database"):
        _watch_statements(counter, watch["database"])
    if watch.get("storage"):
        _watch_storage(counter)
    for point in watch.get("calls", []):
        _watch_call(counter, point)
    return counter


def override(settings: dict[str, Any]) -> None:
    """Set module constants of this process (`{"module:NAME": value}`)."""
    for dotted, value in settings.items():
        module, _, name = dotted.partition(":")
        setattr(importlib.import_module(module), name, value)


def _watch_file_system(counter: RunEvents, folders: list[str]) -> None:
    def under_watch(path: Any, dir_fd: int | None) -> bool:
        text = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else ""
        if dir_fd is not None:
            text = os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), text)
        absolute = os.path.realpath(os.path.abspath(text)) if text else ""
        return any(absolute == folder or absolute.startswith(folder + os.sep) for folder in folders)

    def counted(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def call(*args: Any, **kwargs: Any) -> Any:
            paths = args[:2] if function.__name__ in ("replace", "rename") else args[:1]
            dir_fd = kwargs.get("src_dir_fd", kwargs.get("dir_fd"))
            if any(under_watch(path, dir_fd) for path in paths):
                counter.event("fs")
            return function(*args, **kwargs)
        return call

    for name in FS_FUNCTIONS:
        setattr(os, name, counted(getattr(os, name)))


def _watch_statements(counter: RunEvents, database: str) -> None:
    import sqlalchemy as sa

    def before_execute(connection: sa.Connection, *args: Any) -> None:
        if database in str(connection.engine.url):
            counter.event("sql")

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", before_execute)


def _watch_storage(counter: RunEvents) -> None:
    for dotted in STORAGE_CLASSES:
        module, _, name = dotted.partition(":")
        owner = getattr(importlib.import_module(module), name)
        for method in STORAGE_METHODS:
            setattr(owner, method, _around(getattr(owner, method), lambda: counter.event("storage"), "before"))


def _watch_call(counter: RunEvents, point: str) -> None:
    _, module, name, when = point.split(":")
    owner: Any = importlib.import_module(module)
    *parents, attribute = name.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    setattr(owner, attribute, _around(getattr(owner, attribute), lambda: counter.event(point), when))


def _around(function: Callable[..., Any], event: Callable[[], None], when: str) -> Callable[..., Any]:
    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        if when == "before":
            event()
        result = function(*args, **kwargs)
        if when == "after":
            event()
        return result
    return call
