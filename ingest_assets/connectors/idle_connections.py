"""Connections a resource keeps between the loads of a step, for drivers whose connect is slow.

ADBC's PostgreSQL driver reads the server's type catalog when it connects: 60-70 ms here, against
3 ms for psycopg, and a step of small tables paid it once per table. A load gives its connection
back when its read ended cleanly, and the step's next load takes it. At most `keep` wait; more are
closed. The resource closes them when the step ends (Dagster's teardown), or when it is dropped.
"""

from __future__ import annotations

import threading
import weakref
from typing import Generic, Protocol, TypeVar


class Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=Closable)


def _close_all(idle: list[C]) -> None:
    while idle:
        idle.pop().close()


class IdleConnections(Generic[C]):
    """Open connections waiting for the next load; thread-safe (a step's entities load on threads)."""

    def __init__(self, keep: int) -> None:
        self._keep = keep
        self._idle: list[C] = []
        self._lock = threading.Lock()
        self._closed = False
        # Closes what waits when the resource is dropped without a teardown (a home used outside a run).
        self._finalizer = weakref.finalize(self, _close_all, self._idle)

    def take(self) -> C | None:
        """A waiting connection (the caller checks it still answers), or None."""
        with self._lock:
            return self._idle.pop() if self._idle else None

    def give(self, connection: C) -> None:
        """Keep `connection` for the next load, or close it when enough wait (or the pool is closed)."""
        with self._lock:
            if not self._closed and len(self._idle) < self._keep:
                self._idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        """Close every waiting connection; connections given back later are closed at once."""
        with self._lock:
            self._closed = True
            self._finalizer()
