"""`__rowMarker__`: what each row of a data file does to the mirrored table.

By default every row of a load carries one marker (the load's kind). With `row_marker_column`, a
source column says it per row (CDC feeds): insert/update/delete/upsert, their first letters, or the
contract's numbers; the column itself is not published.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ingest_assets.errors import RowMarkerInvalid
from ingest_assets.stores.open_mirroring.layout import ROW_MARKER, RowMarker

MARKER_TYPE = pa.int32()
_NAMES = {
    "insert": RowMarker.INSERT, "i": RowMarker.INSERT, "0": RowMarker.INSERT,
    "update": RowMarker.UPDATE, "u": RowMarker.UPDATE, "1": RowMarker.UPDATE,
    "delete": RowMarker.DELETE, "d": RowMarker.DELETE, "2": RowMarker.DELETE,
    "upsert": RowMarker.UPSERT, "4": RowMarker.UPSERT,
}


def with_marker_field(schema: pa.Schema, marker_column: str | None) -> pa.Schema:
    """The published schema: the source's columns (less a marker source column), then the marker last."""
    if marker_column is not None:
        schema = schema.remove(schema.get_field_index(marker_column))
    return schema.append(pa.field(ROW_MARKER, MARKER_TYPE, nullable=False))


def mark(batch: pa.RecordBatch, marker: RowMarker | None, marker_column: str | None) -> pa.RecordBatch:
    """Append the marker column: one value for all rows, or each row's from `marker_column`."""
    batch = _nested_as_json(batch)
    if marker_column is None:
        assert marker is not None
        return batch.append_column(pa.field(ROW_MARKER, MARKER_TYPE, nullable=False),
                                   constant_markers(marker, batch.num_rows))
    index = batch.schema.get_field_index(marker_column)
    markers = _markers_of(batch.column(index), marker_column)
    return batch.remove_column(index).append_column(pa.field(ROW_MARKER, MARKER_TYPE, nullable=False), markers)


def constant_markers(marker: RowMarker, rows: int) -> pa.Int32Array:
    """One marker for `rows` rows, built by Arrow (no Python list per batch)."""
    return pa.repeat(pa.scalar(int(marker), MARKER_TYPE), rows)


def unmarked(batch: pa.RecordBatch) -> pa.RecordBatch:
    """An initial load: rows without a marker are inserts."""
    return _nested_as_json(batch)


def _markers_of(values: pa.Array[Any], column: str) -> pa.Int32Array:
    text = pc.utf8_lower(pc.utf8_trim_whitespace(pc.cast(values, pa.string())))
    known = pa.array(list(_NAMES))
    positions = pc.index_in(text, value_set=known)
    if positions.null_count:
        bad = sorted({str(v) for v, p in zip(values.to_pylist(), positions.to_pylist(), strict=True) if p is None})[:5]
        raise RowMarkerInvalid(column=column, values=bad)
    codes = pa.array([int(marker) for marker in _NAMES.values()], MARKER_TYPE)
    return pc.take(codes, positions)


def _nested_as_json(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Fabric takes complex types as JSON strings (lists, structs, maps)."""
    for index, field in enumerate(batch.schema):
        if pa.types.is_nested(field.type):
            text = pa.array([None if v is None else json.dumps(v, default=str) for v in batch.column(index).to_pylist()],
                            pa.string())
            batch = batch.set_column(index, pa.field(field.name, pa.string(), field.nullable), text)
    return batch


def published_type(data_type: pa.DataType) -> pa.DataType:
    return pa.string() if pa.types.is_nested(data_type) else data_type
