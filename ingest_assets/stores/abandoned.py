"""What dead runs staged, found by the run token in its name (see `runtime.dead_runs`)."""

from __future__ import annotations

import fcntl
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

OWNER_FILE = ".owner"

# Whether what a run token names was staged by a run that is no longer in progress (runtime.dead_runs).
Abandoned = Callable[[str], bool]


def remove_abandoned_folders(parent: Path, abandoned: Abandoned) -> int:
    """Remove the folders of `parent` named by an abandoned run token (others, e.g. a nested table's
    staging below its parent's, are no token and stay)."""
    if not parent.is_dir():
        return 0
    removed = 0
    for folder in parent.iterdir():
        if folder.is_dir() and abandoned(folder.name):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


@contextmanager
def owned_temporary_folder(prefix: str, token: str) -> Iterator[Path]:
    """A new folder in the system's temporary folder, locked by this process while it is in use, and
    removed after it.

    The temporary folder is shared by every project and Dagster instance on the host, so a run token
    (known only to one instance) cannot say whether its owner lives; the lock can: the kernel
    releases it when the process dies, however it dies.
    """
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}{token}-"))
    owner = (folder / OWNER_FILE).open("w")
    fcntl.flock(owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        owner.close()


def remove_abandoned_temporary(prefix: str) -> int:
    """Remove the `owned_temporary_folder`s of `prefix` whose owning process is gone."""
    removed = 0
    for folder in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        try:
            with (folder / OWNER_FILE).open("r") as owner:
                fcntl.flock(owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (BlockingIOError, PermissionError):
            continue  # its owner lives (or it is another user's)
        except OSError:
            continue  # no owner file: not one of these folders, or removed meanwhile
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    return removed
