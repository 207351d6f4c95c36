"""What to do when the source's columns differ from the destination's: the entity's schema policy.

The reference is the schema the destination had after the previous load (recorded in that
materialization's metadata, or the store's own columns when Dagster has no record). Against it:

| change                       | evolve                        | ignore                   | fail    |
| new source column            | added to the destination      | dropped from the load    | refused |
| column gone from the source  | kept, NULL in new rows        | kept, NULL in new rows   | refused |
| type narrower than the table | cast to the table's type      | cast to the table's type | refused |
| type safely wider            | the table's column is widened | widened                  | refused |
| any other type change        | refused                       | refused                  | refused |

A `replace` of the whole table under `evolve` rebuilds it with the source's columns exactly, so
there every change is applied. A refused change fails the run before anything is written.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from ingest_assets.config.project_files import SchemaPolicy
from ingest_assets.stores.schema_decision import ColumnChange, SchemaDecision, TableLayout
from ingest_assets.stores.schema_json import schema_from_ipc_text, schema_from_json, schema_to_json

# The destination's Arrow schema after a load, recorded in its materialization (the next reference).
SCHEMA_METADATA_KEY = "ingest/table_schema"
# The changes a load found (ColumnChange.as_json each), in its materialization.
CHANGES_METADATA_KEY = "ingest/schema_changes"

_INT_DIGITS = {8: 3, 16: 5, 32: 10, 64: 19}


def logical_type(data_type: pa.DataType) -> pa.DataType:
    """The type with storage details that no store keeps apart folded away (string sizes, units)."""
    if isinstance(data_type, pa.DictionaryType):
        return logical_type(data_type.value_type)
    if pa.types.is_large_string(data_type) or pa.types.is_string_view(data_type):
        return pa.string()
    if pa.types.is_large_binary(data_type) or pa.types.is_binary_view(data_type):
        return pa.binary()
    if pa.types.is_timestamp(data_type):
        # Every zone names the same instants; the unit is the store's precision.
        return pa.timestamp("us", tz="UTC" if data_type.tz else None)
    if pa.types.is_time(data_type):
        return pa.time64("us")
    if pa.types.is_date(data_type):
        return pa.date32()
    if pa.types.is_decimal(data_type):
        return pa.decimal128(data_type.precision, data_type.scale) if data_type.precision <= 38 else data_type
    return data_type


def fits_into(narrow: pa.DataType, wide: pa.DataType) -> bool:
    """Whether every value of `narrow` converts to `wide` without loss."""
    narrow, wide = logical_type(narrow), logical_type(wide)
    if narrow == wide or pa.types.is_null(narrow):
        return True
    if pa.types.is_integer(narrow) and pa.types.is_integer(wide):
        if pa.types.is_signed_integer(narrow) == pa.types.is_signed_integer(wide):
            return narrow.bit_width <= wide.bit_width
        return pa.types.is_unsigned_integer(narrow) and narrow.bit_width < wide.bit_width
    if pa.types.is_floating(narrow) and pa.types.is_floating(wide):
        return narrow.bit_width <= wide.bit_width
    # The stubs type a decimal's precision and scale as Any: typed locals keep the comparisons bool.
    if pa.types.is_integer(narrow) and pa.types.is_decimal(wide):
        wide_digits: int = wide.precision - wide.scale
        return wide_digits >= _INT_DIGITS[narrow.bit_width]
    if pa.types.is_decimal(narrow) and pa.types.is_decimal(wide):
        narrow_precision: int = narrow.precision
        narrow_scale: int = narrow.scale
        wide_precision: int = wide.precision
        wide_scale: int = wide.scale
        return wide_scale >= narrow_scale and wide_precision - wide_scale >= narrow_precision - narrow_scale
    return False


def decide(
    reference: pa.Schema | None, source: pa.Schema, policy: SchemaPolicy, replaces_table: bool,
    keys: tuple[str, ...] = (),
) -> SchemaDecision:
    """The layout of this load, and every difference between the reference and the source."""
    reference = _plain(reference) if reference is not None else None
    source = _plain(source)
    if reference is None or (replaces_table and policy == "evolve"):
        rebuilt = () if reference is None else _rebuild_changes(reference, source)
        return SchemaDecision(TableLayout(table=source, staged=source), rebuilt)

    changes: list[ColumnChange] = []
    table_fields: list[pa.Field[pa.DataType]] = []
    staged_fields: list[pa.Field[pa.DataType]] = []
    widened: list[str] = []
    for field in reference:
        if field.name not in source.names:
            refused = policy == "fail" or field.name in keys
            action = ("refused: a write key column must come from the source" if field.name in keys
                      else "refused (schema_changes: fail)" if refused else "kept; NULL in the rows of this load")
            changes.append(ColumnChange(field.name, "removed", str(field.type), None, action, refused))
            table_fields.append(field)
            continue
        incoming = source.field(field.name)
        if logical_type(incoming.type) == logical_type(field.type):
            table_fields.append(field)
            staged_fields.append(field)
            continue
        before, after = str(field.type), str(incoming.type)
        if policy == "fail":
            changes.append(ColumnChange(field.name, "changed", before, after, "refused (schema_changes: fail)", True))
            table_fields.append(field)
        elif fits_into(incoming.type, field.type):
            changes.append(ColumnChange(field.name, "changed", before, after, f"cast to the destination's {before}"))
            table_fields.append(field)
            staged_fields.append(field)
        elif fits_into(field.type, incoming.type):
            wider = field.with_type(incoming.type)
            changes.append(ColumnChange(field.name, "changed", before, after, f"destination widened to {after}"))
            widened.append(field.name)
            table_fields.append(wider)
            staged_fields.append(wider)
        else:
            changes.append(ColumnChange(
                field.name, "changed", before, after,
                "refused: not a safe widening; reload the table with run config {run_type: full_drop} "
                "under schema_changes: evolve, or cast the column in the query", True,
            ))
            table_fields.append(field)
    added: list[str] = []
    for field in source:
        if field.name in reference.names:
            continue
        if policy == "evolve":
            changes.append(ColumnChange(field.name, "added", None, str(field.type), "added to the destination"))
            table_fields.append(field)
            staged_fields.append(field)
            added.append(field.name)
        elif policy == "ignore":
            changes.append(ColumnChange(field.name, "added", None, str(field.type), "not loaded (schema_changes: ignore)"))
        else:
            changes.append(ColumnChange(field.name, "added", None, str(field.type), "refused (schema_changes: fail)", True))
    layout = TableLayout(table=pa.schema(table_fields), staged=pa.schema(staged_fields),
                         added=tuple(added), widened=tuple(widened))
    return SchemaDecision(layout, tuple(changes))


def _plain(schema: pa.Schema) -> pa.Schema:
    # Nullability and field metadata are drivers' details (a NOT NULL column, a Parquet field id):
    # every destination column is nullable except the keys, which the checks guard.
    return pa.schema([pa.field(f.name, _storable(f.type)) for f in schema])


def _storable(data_type: pa.DataType) -> pa.DataType:
    # Parquet, which every load is staged in, has no seconds unit: a timestamp[s] (CSV inference,
    # DuckDB's TIMESTAMP_S) is staged as milliseconds, a lossless cast.
    if pa.types.is_timestamp(data_type) and data_type.unit == "s":
        return pa.timestamp("ms", tz=data_type.tz)
    return data_type


def _rebuild_changes(reference: pa.Schema, source: pa.Schema) -> tuple[ColumnChange, ...]:
    action = "the replaced table has the source's columns"
    changes = [ColumnChange(f.name, "removed", str(f.type), None, action) for f in reference if f.name not in source.names]
    changes += [ColumnChange(f.name, "added", None, str(f.type), action) for f in source if f.name not in reference.names]
    changes += [
        ColumnChange(f.name, "changed", str(reference.field(f.name).type), str(f.type), action)
        for f in source
        if f.name in reference.names and logical_type(reference.field(f.name).type) != logical_type(f.type)
    ]
    return tuple(changes)


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """`batch` as `schema`'s columns: columns it leaves out dropped (ignored source columns), the others
    cast to the schema's types (narrower source types), and columns the batch lacks all NULL (table
    columns a load does not stage)."""
    if batch.schema.equals(schema):
        return batch
    present = set(batch.schema.names)
    columns = [
        batch.column(field.name).cast(field.type) if field.name in present else pa.nulls(batch.num_rows, field.type)
        for field in schema
    ]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def serialize(schema: pa.Schema) -> list[dict[str, Any]]:
    """The schema as the materialization records it: readable JSON (see schema_json.py)."""
    return schema_to_json(schema)


def deserialize(recorded: object) -> pa.Schema:
    """A recorded schema: the JSON columns, or the base64 Arrow IPC that loads recorded before them."""
    if isinstance(recorded, str):
        return schema_from_ipc_text(recorded)
    assert isinstance(recorded, list), "materializations record the schema as a JSON list of columns"
    return schema_from_json(recorded)
