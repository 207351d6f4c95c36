"""Names and folders of an Open Mirroring landing zone, as Fabric's contract defines them.

    <mirror>/Files/LandingZone/
        _partnerEvents.json                 the database's partner information
        <Table>/  or  <Schema>.schema/<Table>/
            _metadata.json                  keyColumns, fileDetectionStrategy
            00000000000000000001.parquet    data files, applied in sequence order
        _scratchPad/                        staging, ignored by Fabric
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import IntEnum

from ingest_assets.storage.base import join

LANDING_ZONE = "Files/LandingZone"
METADATA_FILE = "_metadata.json"
PARTNER_EVENTS_FILE = "_partnerEvents.json"
SCRATCH_PAD = "_scratchPad"
# Where Fabric moves files it has applied; the last sequential file stays in the table folder.
PROCESSED_FOLDERS = ("_ProcessedFiles", "_FilesReadyToDelete")
ROW_MARKER = "__rowMarker__"
SEQUENCE_DIGITS = 20
_SEQUENCE_NAME = re.compile(rf"^(\d{{{SEQUENCE_DIGITS}}})\.parquet$")
# Fabric's item type of a mirrored database, the suffix of its folder in a workspace.
MIRRORED_DATABASE_SUFFIX = ".MountedRelationalDatabase"
_ITEM_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class RowMarker(IntEnum):
    INSERT = 0
    UPDATE = 1  # inserts when the key is missing
    DELETE = 2  # only key columns are needed; a missing key is a no-op
    UPSERT = 4


def sequence_name(number: int) -> str:
    return f"{number:0{SEQUENCE_DIGITS}d}.parquet"


def sequence_number(name: str) -> int | None:
    """The sequence number of a published data file's name, None for any other name."""
    match = _SEQUENCE_NAME.match(name)
    return int(match.group(1)) if match else None


def landing_zone(mirror_name: str) -> str:
    """The landing zone below the workspace: a bare item name gets Fabric's item suffix."""
    item = mirror_name.strip("/")
    if "." not in item and not _ITEM_ID.match(item):
        item += MIRRORED_DATABASE_SUFFIX
    return join(item, LANDING_ZONE)


def table_folder(zone: str, table: str, schema: str | None = None) -> str:
    return join(zone, f"{schema}.schema", table) if schema else join(zone, table)


@dataclass(frozen=True)
class TableMetadata:
    """A table folder's `_metadata.json`."""

    key_columns: tuple[str, ...] = ()
    file_detection: str = "SequentialFileName"
    upsert_by_default: bool = False

    def to_json(self) -> bytes:
        document: dict[str, object] = {"fileDetectionStrategy": self.file_detection,
                                       "isUpsertDefaultRowMarker": self.upsert_by_default}
        if self.key_columns:
            document = {"keyColumns": list(self.key_columns), **document}
        return json.dumps(document, indent=2).encode()

    @classmethod
    def from_json(cls, data: bytes) -> TableMetadata:
        document = json.loads(data)
        return cls(
            key_columns=tuple(document.get("keyColumns") or ()),
            file_detection=document.get("fileDetectionStrategy", "SequentialFileName"),
            upsert_by_default=bool(document.get("isUpsertDefaultRowMarker", False)),
        )


def partner_events(partner_name: str, source_type: str, source_version: str | None = None) -> bytes:
    """The database-level `_partnerEvents.json`."""
    source: dict[str, object] = {"sourceType": source_type, "additionalInformation": {}}
    if source_version:
        source["sourceVersion"] = source_version
    return json.dumps({"partnerName": partner_name, "sourceInfo": source}, indent=2).encode()
