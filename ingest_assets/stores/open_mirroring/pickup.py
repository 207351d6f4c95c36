"""Has Fabric picked up a load's files? The landing zone itself is the only record there is.

Fabric moves a file it has applied into `_ProcessedFiles` or `_FilesReadyToDelete`, except the
table's newest file, which it leaves in place so writers can see the next sequence number. So a
file in a processed folder is applied; the newest file still in the table folder cannot be told
apart from one Fabric has not reached yet, and is reported as such rather than guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ingest_assets.storage.base import Storage, join
from ingest_assets.stores.open_mirroring.layout import PROCESSED_FOLDERS, sequence_number


@dataclass(frozen=True)
class Pickup:
    processed: tuple[str, ...]  # moved to a processed folder: applied
    waiting: tuple[str, ...]  # still in the table folder, and not its newest file
    left_in_place: str | None  # the table's newest file, which Fabric keeps where it is
    vanished: tuple[str, ...]  # in neither place: removed by something other than Fabric

    def assess(self, minutes_since_publish: float, within_minutes: int) -> tuple[bool, str]:
        """Whether the load is on track, and why: waiting is fine until `within_minutes` have passed."""
        overdue = bool(self.waiting) and minutes_since_publish > within_minutes
        total = len(self.processed) + len(self.waiting) + len(self.vanished) + (self.left_in_place is not None)
        notes = [f"{len(self.processed)} of {total} files applied, {minutes_since_publish:.0f} min after publishing"]
        if self.waiting:
            notes.append(f"{len(self.waiting)} still waiting"
                         + (f" after more than {within_minutes} min: is the mirrored database running and "
                            "replicating?" if overdue else ""))
        if self.left_in_place:
            notes.append(f"{self.left_in_place} is the table's newest file, which Fabric leaves in place: the "
                         "landing zone cannot show whether it is applied")
        if self.vanished:
            notes.append(f"{len(self.vanished)} neither in the table folder nor in a processed folder: something "
                         "other than Fabric removed them")
        return not overdue and not self.vanished, "; ".join(notes)


def pickup(storage: Storage, table_folder: str, published: Sequence[str]) -> Pickup:
    """Where each of `published` (final 20-digit names) is now."""
    in_folder = {e.name for e in storage.list(table_folder) if not e.is_folder}
    processed_names = {e.name for folder in PROCESSED_FOLDERS
                       for e in storage.list(join(table_folder, folder)) if not e.is_folder}
    numbered = [n for name in in_folder if (n := sequence_number(name)) is not None]
    newest = max(numbered, default=None)
    processed, waiting, vanished = [], [], []
    left_in_place = None
    for name in published:
        if name in processed_names:
            processed.append(name)
        elif name in in_folder and sequence_number(name) == newest:
            left_in_place = name
        elif name in in_folder:
            waiting.append(name)
        else:
            vanished.append(name)
    return Pickup(tuple(processed), tuple(waiting), left_in_place, tuple(vanished))
