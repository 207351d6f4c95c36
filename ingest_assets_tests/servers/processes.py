"""What the test servers started as processes share: a free port, waiting until they answer, stopping them."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_ready(name: str, process: subprocess.Popen, log: Path, answers: Callable[[], bool],
                     seconds: float) -> None:
    """Poll `answers()` until it is true; fail with the log's end if the process exits or time runs out."""
    deadline = time.monotonic() + seconds
    while not answers():
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} not ready after {seconds} s:\n{log.read_text()[-2000:]}")
        time.sleep(0.1)


def stop(process: subprocess.Popen, seconds: float) -> None:
    """SIGTERM to the server's own pid (a clean shutdown), SIGKILL if it does not stop in time."""
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running(name: str, command: list[str], log: Path, answers: Callable[[], bool], startup_seconds: float,
            stop_seconds: float, cwd: Path | None = None) -> Iterator[subprocess.Popen]:
    """Start `command` (output to `log`), wait until it answers, and stop it by its own pid at the end."""
    with open(log, "wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=cwd)
    try:
        wait_until_ready(name, process, log, answers, startup_seconds)
        yield process
    finally:
        stop(process, stop_seconds)
