"""The committed cursor of an incremental entity, kept in its own materialization metadata.

A cursor is written only in the metadata of a successful materialization, which Dagster records
after the store has committed, so a failed run can never move it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from ingest_assets.errors import TerminalError

CURSOR_METADATA_KEY = "ingest/cursor"


def encode_value(value: object) -> dict[str, Any]:
    if isinstance(value, datetime):
        return {"type": "timestamp", "value": value.isoformat()}
    if isinstance(value, date):
        return {"type": "date", "value": value.isoformat()}
    if isinstance(value, bool):
        raise TerminalError(f"a boolean ({value!r}) cannot be a watermark -> use a timestamp, date, integer or string column")
    if isinstance(value, int):
        return {"type": "integer", "value": value}
    if isinstance(value, (float, Decimal)):
        return {"type": "number", "value": str(value)}
    if isinstance(value, str):
        return {"type": "string", "value": value}
    raise TerminalError(
        f"a {type(value).__name__} ({value!r}) cannot be a watermark -> use a timestamp, date, integer or string column"
    )


def decode_value(data: dict[str, Any]) -> object:
    kind, value = data["type"], data["value"]
    if kind == "timestamp":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "number":
        return Decimal(value)
    return value


@dataclass(frozen=True)
class Cursor:
    column: str
    value: object

    def to_metadata(self) -> dict[str, Any]:
        return {"column": self.column, **encode_value(self.value)}

    @classmethod
    def from_metadata(cls, data: dict[str, Any]) -> "Cursor":
        return cls(column=data["column"], value=decode_value(data))


def subtract_lookback(value: object, lookback: str | int, lookback_seconds: int | None) -> object:
    """The lower bound `lookback` before `value`, in the watermark's own type."""
    if isinstance(value, datetime) and lookback_seconds is not None:
        return value - timedelta(seconds=lookback_seconds)
    if isinstance(value, date) and lookback_seconds is not None:
        return value - timedelta(days=math.ceil(lookback_seconds / 86400))
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool) and isinstance(lookback, int):
        return value - lookback
    raise TerminalError(
        f"lookback {lookback!r} does not apply to a watermark value of type {type(value).__name__} -> a duration "
        "('2h') for time columns, a number for integer columns"
    )
