"""A process, as another process on the same host can tell whether it still lives: a run's worker
(`runtime.dead_runs`), the holder of a storage lock (`storage.locks`).

Its host, pid namespace (a container sharing the host's name has its own pids), pid and start time
(pids are reused). Written as one line of text, `tag()`, read back by `from_tag`.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Process:
    """A process, as another process on the same host can check it: in the same pid namespace (a
    container sharing the host's name has its own pids), started at the same time (pids are reused)."""

    host: str
    namespace: str  # the pid namespace, "" where /proc has none
    pid: int
    started: str  # the process's start time in clock ticks since boot, "" where /proc has none

    @classmethod
    def this_process(cls) -> Process:
        return cls(socket.gethostname(), _pid_namespace(), os.getpid(), _process_start(os.getpid()) or "")

    @classmethod
    def from_tag(cls, tag: str) -> Process | None:
        fields = tag.split(" ")
        if len(fields) != 4 or not fields[2].isdigit():
            return None
        return cls(fields[0], fields[1], int(fields[2]), fields[3])

    def tag(self) -> str:
        return f"{self.host} {self.namespace} {self.pid} {self.started}"

    def is_gone(self) -> bool:
        """Whether the process died; never said of a process of another host or pid namespace."""
        if (self.host, self.namespace) != (socket.gethostname(), _pid_namespace()):
            return False
        if self.started:
            return _process_start(self.pid) != self.started
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False  # a process of another user holds the pid
        return False


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def _process_start(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat (after the parenthesised command, which may hold spaces)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[19]
