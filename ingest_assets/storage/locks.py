"""A lock on a path of the storage: one process at a time changes what the path guards.

A backend that can lock is `Lockable`: the local folder takes an flock of a lock file, Blob storage
a lease on a lock blob (renewed while held). Either way the lock ends with its holder's process, so
a crash never leaves a table locked (a lease lapses within `blob.LEASE_SECONDS`, and a waiter on the
holder's host breaks it at once when the holder's process is gone). The lock file says
who holds it, for the message of a load that gives up waiting, and is removed on release.

The DFS backend (ADLS Gen2, OneLake) does not lock: the SDK's leases go through the Blob endpoint,
whose lease support on OneLake is unverified and which the DFS test server does not speak. There
`hold` holds nothing, and callers must stay safe without it (the store's notes say how far).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from ingest_assets.errors import TableLoadInProgress
from ingest_assets.storage.base import Storage
from ingest_assets.storage.processes import Process

FIRST_POLL_SECONDS = 0.05
MAX_POLL_SECONDS = 2.0  # a waiter asks this often at most (a Blob lease is one request per try)


class HeldLock(Protocol):
    def release(self) -> None: ...


@runtime_checkable
class Lockable(Protocol):
    def try_lock(self, path: str, holder: str) -> HeldLock | None:
        """Take the lock at `path` and note `holder` in it, or None at once if another holds it."""

    def lock_holder(self, path: str) -> str:
        """What the lock file at `path` says about its holder ("" when it says nothing)."""

    def break_lock_of_dead(self, path: str, is_gone: Callable[[str], bool]) -> bool:
        """End the lock at `path` if `is_gone` says so of what it holds, unless it changed hands in
        between; whether it did (a backend whose locks end with their process never needs to)."""


def holder(doing: str) -> str:
    """What a lock says about its holder: the process (to tell whether it died), then what it does,
    where and since when (for a waiter's message)."""
    since = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{Process.this_process().tag()}\n{doing}, on {socket.gethostname()} pid {os.getpid()} since {since}"


def _holder_is_gone(text: str) -> bool:
    process = Process.from_tag(text.partition("\n")[0])
    return process is not None and process.is_gone()


def _described(text: str) -> str:
    return text.partition("\n")[2] or text


@contextmanager
def hold(storage: Storage, path: str, holder: str, timeout_seconds: float, label: str) -> Iterator[None]:
    """Hold the lock at `path` (a no-op where the backend cannot lock), waiting for another holder
    up to `timeout_seconds`; then `TableLoadInProgress` names `label` and that holder."""
    if not isinstance(storage, Lockable):
        yield
        return
    deadline = time.monotonic() + timeout_seconds
    pause = FIRST_POLL_SECONDS
    while (lock := storage.try_lock(path, holder)) is None:
        if storage.break_lock_of_dead(path, _holder_is_gone):  # a lease would hold on until it lapses
            continue
        if time.monotonic() > deadline:
            held_by = storage.lock_holder(path)
            raise TableLoadInProgress(table=label, holder=_described(held_by) or "its holder is unknown",
                                      lock=storage.describe(path), timeout_seconds=timeout_seconds)
        time.sleep(pause)
        pause = min(pause * 2, MAX_POLL_SECONDS)
    try:
        yield
    finally:
        lock.release()
