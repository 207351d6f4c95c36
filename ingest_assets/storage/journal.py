"""A publish journal: the steps that make a staged load visible, written down before the first one runs.

Writing the journal is a load's commit point. Its steps are each safe to repeat, so whoever finds a
journal (the same step a moment later, a retry, or the next run after a crash) runs it to the end:
a load is published completely or not at all, and never twice. Steps that must not run again once
later steps ran (deleting a table folder) are followed by a checkpoint, which records the progress.

The journal file is created only if none exists (write, then a rename that never overwrites), so
one table has one load in flight at a time; a second writer gets `PublishInProgress`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Literal

# PublishInProgress is re-exported: it was defined here, and callers import it from this module.
from ingest_assets.errors import PublishInProgress as PublishInProgress
from ingest_assets.errors import PublishTargetTaken, StagedFileLost
from ingest_assets.storage.base import Storage

StepKind = Literal["delete_folder", "wait", "make_folder", "write", "rename", "delete"]

@dataclass(frozen=True)
class Step:
    kind: StepKind
    path: str = ""
    target: str = ""  # rename: the final name
    text: str = ""  # write: the content of a small file
    seconds: float = 0.0  # wait
    checkpoint: bool = False  # record progress after this step


@dataclass
class Journal:
    load: str  # the run token of the load it publishes
    steps: list[Step]
    done: int = 0  # steps finished before the last checkpoint
    notes: dict[str, object] = field(default_factory=dict)  # what the publisher reports afterwards

    def to_json(self) -> bytes:
        return json.dumps({"load": self.load, "done": self.done, "notes": self.notes,
                           "steps": [asdict(step) for step in self.steps]}).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Journal:
        document = json.loads(data)
        return cls(document["load"], [Step(**step) for step in document["steps"]], document["done"],
                   document.get("notes", {}))


# Called before each step with its index (tests stop the process there to prove recovery).
StepHook = Callable[[int, Step], None]


class JournalFile:
    def __init__(self, storage: Storage, path: str, sleep: Callable[[float], None] = time.sleep):
        self._storage = storage
        self.path = path
        self._sleep = sleep

    def pending(self) -> Journal | None:
        try:
            return Journal.from_json(self._storage.read_bytes(self.path))
        except FileNotFoundError:
            return None

    def begin(self, journal: Journal) -> None:
        """Write the journal: from here on the load will be published."""
        temporary = f"{self.path}.{uuid.uuid4().hex[:8]}.new"
        self._storage.write_bytes(temporary, journal.to_json())
        try:
            self._storage.rename(temporary, self.path)
        except FileExistsError:
            self._storage.delete(temporary)
            raise PublishInProgress(journal=self._storage.describe(self.path)) from None

    def run(self, journal: Journal, before_step: StepHook | None = None) -> None:
        """Run the remaining steps, then remove the journal."""
        for index in range(journal.done, len(journal.steps)):
            step = journal.steps[index]
            if before_step is not None:
                before_step(index, step)
            self._apply(step)
            if step.checkpoint:
                journal.done = index + 1
                self._storage.write_bytes(self.path, journal.to_json())
        self._storage.delete(self.path)

    def _apply(self, step: Step) -> None:
        storage = self._storage
        if step.kind == "delete_folder":
            storage.delete_folder(step.path)
        elif step.kind == "wait":
            self._sleep(step.seconds)
        elif step.kind == "make_folder":
            storage.make_folder(step.path)
        elif step.kind == "write":
            storage.write_bytes(step.path, step.text.encode())
        elif step.kind == "delete":
            storage.delete(step.path)
        elif step.kind == "rename":
            _rename_once(storage, step.path, step.target)
        else:
            raise ValueError(f"unknown journal step {step.kind!r}")


def _rename_once(storage: Storage, source: str, target: str) -> None:
    """Rename, or accept that an earlier attempt already did (the source gone, the target there)."""
    try:
        storage.rename(source, target)
    except FileNotFoundError:
        if not storage.exists(target):
            raise StagedFileLost(staged=storage.describe(source), target=storage.describe(target)) from None
    except FileExistsError:
        if storage.exists(source) and _size(storage, source) != _size(storage, target):
            raise PublishTargetTaken(staged=storage.describe(source), target=storage.describe(target)) from None
        # A copy-and-delete rename (Blob storage) stopped between the two: finish it.
        storage.delete(source)


def _size(storage: Storage, path: str) -> int | None:
    folder, _, name = path.rpartition("/")
    return next((entry.size for entry in storage.list(folder) if entry.name == name), None)
