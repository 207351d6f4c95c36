"""The cursor of an incremental entity: one value object that is read, written and compared only here.

A cursor is written only in the metadata of a successful materialization, which Dagster records
after the store has committed, so a failed run can never move it. The watermark's lookback (the
late-row overlap) is parsed here too, both to validate the YAML and to apply it at run time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from ingest_assets.errors import LookbackNotApplicable, WatermarkValueUnsupported

CURSOR_METADATA_KEY = "ingest/cursor"

_DURATION = re.compile(r"^\s*(\d+)\s*(s|sec|seconds?|m|min|minutes?|h|hours?|d|days?|w|weeks?)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration_seconds(text: str) -> int | None:
    """'90s', '15 min', '2h', '3 days', '1w' as seconds; None when the text is not a duration."""
    match = _DURATION.match(text)
    if not match:
        return None
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)[0]]


def encode_value(value: object) -> dict[str, Any]:
    """A watermark value as JSON that keeps its type (metadata, sensor cursors)."""
    if isinstance(value, datetime):
        return {"type": "timestamp", "value": value.isoformat()}
    if isinstance(value, date):
        return {"type": "date", "value": value.isoformat()}
    if isinstance(value, bool):
        raise WatermarkValueUnsupported(value=value)
    if isinstance(value, int):
        return {"type": "integer", "value": value}
    if isinstance(value, (float, Decimal)):
        return {"type": "number", "value": str(value)}
    if isinstance(value, str):
        return {"type": "string", "value": value}
    raise WatermarkValueUnsupported(value=value)


def decode_value(data: Mapping[str, Any]) -> object:
    kind, value = data["type"], data["value"]
    if kind == "timestamp":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "number":
        return Decimal(value)
    return value


def _later(value: object, than: object) -> bool:
    return bool(value > than)  # type: ignore[operator]  # watermark values of one column compare


@dataclass(frozen=True)
class Cursor:
    """The committed watermark: rows up to `value` of `column` are in the destination."""

    column: str
    value: object

    def to_metadata(self) -> dict[str, Any]:
        return {"column": self.column, **encode_value(self.value)}

    @classmethod
    def from_metadata(cls, data: Mapping[str, Any]) -> Cursor:
        return cls(column=data["column"], value=decode_value(data))

    @classmethod
    def in_materialization(cls, metadata: Mapping[str, Any]) -> Cursor | None:
        """The cursor a materialization recorded (its metadata values, as Dagster returns them)."""
        entry = metadata.get(CURSOR_METADATA_KEY)
        return cls.from_metadata(entry.value) if entry is not None else None

    def is_passed_by(self, value: object | None) -> bool:
        """Whether a source maximum lies past the cursor: there are rows to read."""
        return value is not None and _later(value, self.value)

    def lower_bound(self, lookback: str | int | None) -> object:
        """The lower bound of the next read: the cursor, less the lookback in the watermark's own type."""
        if lookback is None:
            return self.value
        seconds = parse_duration_seconds(lookback) if isinstance(lookback, str) else None
        value = self.value
        if isinstance(value, datetime) and seconds is not None:
            return value - timedelta(seconds=seconds)
        if isinstance(value, date) and seconds is not None:
            return value - timedelta(days=math.ceil(seconds / 86400))
        if isinstance(value, (int, Decimal)) and not isinstance(value, bool) and isinstance(lookback, int):
            return value - lookback
        raise LookbackNotApplicable(lookback=lookback, value=value)
