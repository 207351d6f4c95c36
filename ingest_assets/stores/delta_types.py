"""The Arrow types a Delta table holds, and batches converted to them before delta-rs writes them.

Delta Lake has fewer types than Arrow: signed integers only, microsecond timestamps (with a time zone
they are UTC instants), one string and one binary type, decimals of at most 38 digits, and no time of
day. A table's columns are the layout's, each in the type Delta stores it as (`storage_schema`);
unsigned integers go one size up so that no value wraps (uint64 into decimal(20, 0)). A type Delta
cannot hold fails before anything is written.
"""

from __future__ import annotations

import pyarrow as pa

from ingest_assets.errors import ArrowTypeUnwritable, StagedRowsDoNotFit

_SIGNED_FOR_UNSIGNED = {8: pa.int16(), 16: pa.int32(), 32: pa.int64()}


def storage_type(column: str, data_type: pa.DataType) -> pa.DataType:
    """The type Delta stores a column of `data_type` as (the type reading the table gives back)."""
    if isinstance(data_type, pa.DictionaryType):
        return storage_type(column, data_type.value_type)
    if pa.types.is_unsigned_integer(data_type):
        return _SIGNED_FOR_UNSIGNED.get(data_type.bit_width, pa.decimal128(20, 0))
    if pa.types.is_float16(data_type):
        return pa.float32()
    if pa.types.is_large_string(data_type) or pa.types.is_string_view(data_type):
        return pa.string()
    if (pa.types.is_large_binary(data_type) or pa.types.is_binary_view(data_type)
            or pa.types.is_fixed_size_binary(data_type)):
        return pa.binary()
    if pa.types.is_timestamp(data_type):
        return pa.timestamp("us", tz="UTC" if data_type.tz else None)
    if pa.types.is_date64(data_type):
        return pa.date32()
    if isinstance(data_type, pa.ExtensionType) or pa.types.is_time(data_type) or pa.types.is_decimal256(data_type) \
            or pa.types.is_duration(data_type) or pa.types.is_interval(data_type):
        raise ArrowTypeUnwritable(column=column, arrow_type=data_type, dialect="delta")
    return data_type


def storage_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, storage_type(f.name, f.type), f.nullable) for f in schema])


def type_names(schema: pa.Schema) -> dict[str, str]:
    return {field.name: str(field.type) for field in schema}


def to_storage(batch: pa.RecordBatch, schema: pa.Schema, label: str) -> pa.RecordBatch:
    """`batch` (in the layout's table schema) as `schema`'s storage types; timestamps are truncated to
    microseconds, Delta's precision, every other conversion is exact."""
    if batch.schema.equals(schema):
        return batch
    try:
        columns = [column.cast(field.type, safe=not pa.types.is_timestamp(field.type))
                   for column, field in zip(batch.columns, schema, strict=True)]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise StagedRowsDoNotFit(label=label, reason=str(error)) from error
    return pa.RecordBatch.from_arrays(columns, schema=schema)
