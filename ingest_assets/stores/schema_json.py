"""An Arrow schema as readable JSON (the materialization's `ingest/table_schema`), and back, type for type.

The schema a load wrote is what the next load compares its source with (`schema_changes`), so it
must come back exactly; it is also shown in the Dagster UI, where the Arrow IPC blob in base64 it was
before told a user nothing. A column is `{"name", "type", "nullable"}` (and its field metadata, when
it has any); a type is its name (`"int64"`, `"string"`) or, with parameters, an object
(`{"type": "timestamp", "unit": "us", "tz": "UTC"}`). A type this module does not know (a user's
extension type) keeps the exact Arrow IPC of its field, under `"arrow_ipc"`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pyarrow as pa

JsonType = str | dict[str, Any]
# pyarrow's stubs narrow map_() and dictionary() to literal argument types; these types come from data.
_PA: Any = pa

_NAMED: dict[str, pa.DataType] = {
    "null": pa.null(), "bool": pa.bool_(),
    "int8": pa.int8(), "int16": pa.int16(), "int32": pa.int32(), "int64": pa.int64(),
    "uint8": pa.uint8(), "uint16": pa.uint16(), "uint32": pa.uint32(), "uint64": pa.uint64(),
    "float16": pa.float16(), "float32": pa.float32(), "float64": pa.float64(),
    "string": pa.string(), "large_string": pa.large_string(), "string_view": pa.string_view(),
    "binary": pa.binary(), "large_binary": pa.large_binary(), "binary_view": pa.binary_view(),
    "date32": pa.date32(), "date64": pa.date64(), "uuid": pa.uuid(),
}


def schema_to_json(schema: pa.Schema) -> list[dict[str, Any]]:
    """The columns of `schema` (its schema-level metadata left out), in order."""
    return [_field_to_json(field) for field in schema]


def schema_from_json(columns: list[dict[str, Any]]) -> pa.Schema:
    return pa.schema([_field_from_json(column) for column in columns])


def schema_from_ipc_text(text: str) -> pa.Schema:
    """A schema as base64 Arrow IPC: what loads recorded before the JSON form, and a field without one."""
    return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(text)))


class _UnknownType(Exception):
    pass


def _field_to_json(field: pa.Field[Any]) -> dict[str, Any]:
    try:
        column: dict[str, Any] = {"name": field.name, "type": _type_to_json(field.type),
                                  "nullable": field.nullable}
        if field.metadata:
            column["metadata"] = {key.decode(): value.decode() for key, value in field.metadata.items()}
    except (_UnknownType, UnicodeDecodeError):  # kept exactly, as the field's Arrow IPC
        return {"name": field.name, "type": {"arrow_ipc": _ipc(field)}, "nullable": field.nullable}
    return column


def _field_from_json(column: dict[str, Any]) -> pa.Field[Any]:
    kind = column["type"]
    if isinstance(kind, dict) and "arrow_ipc" in kind:
        return schema_from_ipc_text(kind["arrow_ipc"]).field(0)
    metadata = column.get("metadata")
    return pa.field(column["name"], _type_from_json(kind), nullable=column["nullable"],
                    metadata={key.encode(): value.encode() for key, value in metadata.items()} if metadata else None)


def _ipc(field: pa.Field[Any]) -> str:
    return base64.b64encode(pa.schema([field]).serialize().to_pybytes()).decode("ascii")


def _type_to_json(data_type: pa.DataType) -> JsonType:
    for name, named in _NAMED.items():
        if data_type == named:
            return name
    t = pa.types
    if t.is_decimal(data_type):
        return {"type": f"decimal{data_type.bit_width}", "precision": data_type.precision, "scale": data_type.scale}
    if t.is_timestamp(data_type):
        return {"type": "timestamp", "unit": data_type.unit, "tz": data_type.tz}
    if t.is_time32(data_type) or t.is_time64(data_type):
        return {"type": f"time{data_type.bit_width}", "unit": data_type.unit}
    if t.is_duration(data_type):
        return {"type": "duration", "unit": data_type.unit}
    if t.is_fixed_size_binary(data_type):
        return {"type": "fixed_size_binary", "byte_width": data_type.byte_width}
    if t.is_fixed_size_list(data_type):
        return {"type": "fixed_size_list", "item": _field_to_json(data_type.value_field), "size": data_type.list_size}
    if t.is_large_list(data_type) or t.is_list(data_type):
        return {"type": "large_list" if t.is_large_list(data_type) else "list",
                "item": _field_to_json(data_type.value_field)}
    if t.is_map(data_type):
        return {"type": "map", "key": _field_to_json(data_type.key_field), "item": _field_to_json(data_type.item_field),
                "keys_sorted": data_type.keys_sorted}
    if t.is_struct(data_type):
        return {"type": "struct", "fields": [_field_to_json(data_type.field(i)) for i in range(data_type.num_fields)]}
    if t.is_dictionary(data_type):
        return {"type": "dictionary", "index": _type_to_json(data_type.index_type),
                "value": _type_to_json(data_type.value_type), "ordered": data_type.ordered}
    raise _UnknownType(str(data_type))


_PARAMETERIZED: dict[str, Callable[[dict[str, Any]], pa.DataType]] = {
    "decimal128": lambda k: pa.decimal128(k["precision"], k["scale"]),
    "decimal256": lambda k: pa.decimal256(k["precision"], k["scale"]),
    "timestamp": lambda k: pa.timestamp(k["unit"], tz=k["tz"]),
    "time32": lambda k: pa.time32(k["unit"]),
    "time64": lambda k: pa.time64(k["unit"]),
    "duration": lambda k: pa.duration(k["unit"]),
    "fixed_size_binary": lambda k: pa.binary(k["byte_width"]),
    "fixed_size_list": lambda k: pa.list_(_field_from_json(k["item"]), k["size"]),
    "list": lambda k: pa.list_(_field_from_json(k["item"])),
    "large_list": lambda k: pa.large_list(_field_from_json(k["item"])),
    "map": lambda k: _PA.map_(_field_from_json(k["key"]), _field_from_json(k["item"]), k["keys_sorted"]),
    "struct": lambda k: pa.struct([_field_from_json(field) for field in k["fields"]]),
    "dictionary": lambda k: _PA.dictionary(_type_from_json(k["index"]), _type_from_json(k["value"]), k["ordered"]),
}


def _type_from_json(kind: JsonType) -> pa.DataType:
    if isinstance(kind, str):
        return _NAMED[kind]
    return _PARAMETERIZED[kind["type"]](kind)
