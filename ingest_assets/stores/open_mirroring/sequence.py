"""The durable sequence allocator: the next file number comes from what is really in the table folder.

Fabric applies files in sequence order and stops at the first gap, so numbers are never guessed,
cached or counted locally: they are read from the folder (and from the folders Fabric moves applied
files to) every time a load is prepared. A published number is never used again, and a load's
numbers are fixed in its publish journal before any of them appears.
"""

from __future__ import annotations

from ingest_assets.storage.base import Storage, join
from ingest_assets.stores.open_mirroring.layout import PROCESSED_FOLDERS, sequence_number


def published_numbers(storage: Storage, table_folder: str) -> list[int]:
    """Every sequence number published in the table, sorted (applied files included)."""
    numbers = [n for e in storage.list(table_folder) if not e.is_folder and (n := sequence_number(e.name))]
    for folder in PROCESSED_FOLDERS:
        numbers += [n for e in storage.list(join(table_folder, folder))
                    if not e.is_folder and (n := sequence_number(e.name))]
    # Fabric may leave the last applied file in place as well: a number counts once.
    return sorted(set(numbers))


def next_number(storage: Storage, table_folder: str) -> int:
    numbers = published_numbers(storage, table_folder)
    return numbers[-1] + 1 if numbers else 1


def missing_numbers(numbers: list[int]) -> list[int]:
    """Numbers missing between the lowest still present (Fabric may purge applied files) and the highest."""
    present = set(numbers)
    return [n for n in range(min(numbers), max(numbers) + 1) if n not in present] if numbers else []

