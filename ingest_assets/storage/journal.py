"""A publish journal: the steps that make a staged load visible, written down before the first one runs.

Writing the journal is a load's commit point. Its steps are each safe to repeat, so whoever finds a
journal (the same step a moment later, a retry, or the next run after a crash) runs it to the end:
a load is published completely or not at all, and never twice. Steps that must not run again once
later steps ran (deleting a table folder) are followed by a checkpoint, which records the progress.

The journal file is created only if none exists (write, then a rename that never overwrites), so
one table has one load in flight at a time; a second writer gets `PublishInProgress`.

A journal that can never finish (a staged file removed by something else, a final name another
writer took) runs none of its steps: `run` checks first, so the files it would replace stay as
they are, and a caller that replaces them anyway may `discard` it. Two runners of one journal
(possible where the caller holds no lock) each stop at their next checkpoint or at their end once
the other has finished it, so neither writes back, or removes, a journal that is not its own.
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
from ingest_assets.storage.base import Storage, join

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


TEMPORARY_SUFFIX = ".new"  # a journal being written, before its rename to the journal's name

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
        temporary = f"{self.path}.{uuid.uuid4().hex[:8]}{TEMPORARY_SUFFIX}"
        self._storage.write_bytes(temporary, journal.to_json())
        try:
            self._storage.rename(temporary, self.path)
        except FileExistsError:
            self._storage.delete(temporary)
            raise PublishInProgress(journal=self._storage.describe(self.path)) from None

    def remove_interrupted_writes(self) -> None:
        """Delete copies of a journal that a crash left between their write and their rename (`begin`)."""
        folder, _, name = self.path.rpartition("/")
        for entry in self._storage.list(folder):
            if entry.name.startswith(f"{name}.") and entry.name.endswith(TEMPORARY_SUFFIX):
                self._storage.delete(join(folder, entry.name))

    def pending_unless_superseded(self, superseding: bool) -> Journal | None:
        """The pending journal to finish; None also when a load that replaces everything it published
        (`superseding`: a full_drop, a rebuild) finds one that can never finish, which it discards."""
        pending = self.pending()
        if pending is not None and superseding and self.problems(pending):
            self.discard()
            return None
        return pending

    def discard(self) -> None:
        """Give up the pending journal (only one that can never finish: see `problems`)."""
        self._storage.delete(self.path)

    def run(self, journal: Journal, before_step: StepHook | None = None) -> None:
        """Run the remaining steps, then remove the journal; none of them if one cannot be done."""
        problems = self.problems(journal)
        if problems:
            raise problems[0]
        for index in range(journal.done, len(journal.steps)):
            step = journal.steps[index]
            if before_step is not None:
                before_step(index, step)
            self._apply(step)
            if step.checkpoint:
                if not self._still_pending(journal):
                    return  # another runner finished it meanwhile
                journal.done = index + 1
                self._storage.write_bytes(self.path, journal.to_json())
        if self._still_pending(journal):
            self._storage.delete(self.path)

    def problems(self, journal: Journal) -> list[StagedFileLost | PublishTargetTaken]:
        """Why renames of the remaining steps cannot be done: a staged file is gone and its target
        is not there, or the target holds another file (for the target, a delete among the remaining
        steps before the rename counts as done)."""
        removed: list[str] = []  # what the remaining steps delete, in order
        sizes: dict[str, dict[str, int]] = {}  # a listing per folder, read once

        def size(path: str) -> int | None:
            folder, _, name = path.rpartition("/")
            if folder not in sizes:
                sizes[folder] = {entry.name: entry.size for entry in self._storage.list(folder) if not entry.is_folder}
            gone = any(path == r or path.startswith(f"{r}/") for r in removed)
            return None if gone else sizes[folder].get(name)

        describe = self._storage.describe
        problems: list[StagedFileLost | PublishTargetTaken] = []
        for step in journal.steps[journal.done:]:
            if step.kind in ("delete", "delete_folder"):
                removed.append(step.path)
            elif step.kind == "rename":
                staged, target = size(step.path), size(step.target)
                if staged is None and target is None:
                    problems.append(StagedFileLost(staged=describe(step.path), target=describe(step.target)))
                elif staged is not None and target is not None and staged != target:
                    problems.append(PublishTargetTaken(staged=describe(step.path), target=describe(step.target)))
        return problems

    def _still_pending(self, journal: Journal) -> bool:
        current = self.pending()
        return current is not None and current.load == journal.load

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
