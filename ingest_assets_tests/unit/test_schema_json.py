"""The recorded schema: readable JSON that comes back type for type, and the base64 form loads recorded before."""

from __future__ import annotations

import base64
import json

import pyarrow as pa

from ingest_assets.stores import schema_changes

EVERY_KIND = pa.schema([
    pa.field("id", pa.int64(), nullable=False),
    pa.field("small", pa.int16()), pa.field("unsigned", pa.uint32()), pa.field("flag", pa.bool_()),
    pa.field("ratio", pa.float64()), pa.field("half", pa.float16()),
    pa.field("amount", pa.decimal128(12, 2)), pa.field("huge", pa.decimal256(60, 10)),
    pa.field("name", pa.string()), pa.field("long_name", pa.large_string()),
    pa.field("payload", pa.binary()), pa.field("digest", pa.binary(16)), pa.field("token", pa.uuid()),
    pa.field("day", pa.date32()), pa.field("at", pa.timestamp("us", tz="UTC")), pa.field("local", pa.timestamp("ms")),
    pa.field("clock", pa.time64("us")), pa.field("took", pa.duration("s")),
    pa.field("tags", pa.list_(pa.field("tag", pa.string()))), pa.field("pairs", pa.map_(pa.string(), pa.int32())),
    pa.field("point", pa.struct([pa.field("x", pa.float64()), pa.field("y", pa.float64(), nullable=False)])),
    pa.field("status", pa.dictionary(pa.int8(), pa.string(), ordered=True)),
    pa.field("typed", pa.int32(), metadata={"POSTGRESQL:type": "int4"}),
])


def test_every_kind_of_column_comes_back_exactly_and_reads_as_json():
    recorded = schema_changes.serialize(EVERY_KIND)
    text = json.dumps(recorded)  # what the materialization stores, and the UI shows
    back = schema_changes.deserialize(json.loads(text))
    assert back.equals(EVERY_KIND, check_metadata=True)
    assert recorded[0] == {"name": "id", "type": "int64", "nullable": False}
    assert {"name": "at", "type": {"type": "timestamp", "unit": "us", "tz": "UTC"}, "nullable": True} in recorded
    assert "arrow_ipc" not in text, "every type here has a readable form"


def test_a_type_without_a_readable_form_keeps_its_exact_arrow_ipc():
    class Point(pa.ExtensionType):
        def __init__(self) -> None:
            super().__init__(pa.struct([("x", pa.float64())]), "test.point")

        def __arrow_ext_serialize__(self) -> bytes:
            return b""

        @classmethod
        def __arrow_ext_deserialize__(cls, storage_type, serialized):
            return cls()

    pa.register_extension_type(Point())
    try:
        schema = pa.schema([pa.field("id", pa.int64()), pa.field("where", Point())])
        recorded = schema_changes.serialize(schema)
        assert recorded[0]["type"] == "int64" and set(recorded[1]["type"]) == {"arrow_ipc"}
        assert schema_changes.deserialize(json.loads(json.dumps(recorded))).equals(schema)
    finally:
        pa.unregister_extension_type("test.point")


def test_a_schema_recorded_as_base64_arrow_ipc_by_an_earlier_version_still_reads():
    old = base64.b64encode(EVERY_KIND.serialize().to_pybytes()).decode("ascii")
    assert schema_changes.deserialize(old).equals(EVERY_KIND)
