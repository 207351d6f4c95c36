"""The schema policy on its own: every kind of change under evolve, ignore and fail."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest

from ingest_assets.stores import schema_changes
from ingest_assets.stores.schema_changes import decide

TABLE = pa.schema([("id", pa.int32()), ("amount", pa.decimal128(10, 2)), ("note", pa.string())])


def described(decision: schema_changes.SchemaDecision) -> list[str]:
    return [change.describe() for change in decision.changes]


def test_a_first_load_creates_the_source_columns() -> None:
    decision = decide(None, TABLE, "fail", replaces_table=False)
    assert decision.layout.table.equals(TABLE) and decision.layout.staged.equals(TABLE)
    assert decision.changes == ()


def test_storage_details_are_not_changes() -> None:
    table = pa.schema([("name", pa.string()), ("at", pa.timestamp("us", tz="UTC")), ("day", pa.date32())])
    source = pa.schema([("name", pa.large_string()), ("at", pa.timestamp("ns", tz="Europe/Amsterdam")),
                        ("day", pa.date64())])
    decision = decide(table, source, "fail", replaces_table=False)
    assert decision.changes == ()
    # The staged columns take the destination's types, so every file or row batch agrees.
    assert decision.layout.staged.equals(table)


def test_evolve_adds_widens_casts_and_keeps_removed_columns() -> None:
    source = pa.schema([("id", pa.int64()), ("amount", pa.decimal128(12, 2)), ("email", pa.string())])
    decision = decide(TABLE, source, "evolve", replaces_table=False)
    assert described(decision) == [
        "id int32 -> int64 (destination widened to int64)",
        "amount decimal128(10, 2) -> decimal128(12, 2) (destination widened to decimal128(12, 2))",
        "-note string (kept; NULL in the rows of this load)",
        "+email string (added to the destination)",
    ]
    assert decision.refused == ()
    layout = decision.layout
    assert layout.table.names == ["id", "amount", "note", "email"]
    assert layout.table.field("id").type == pa.int64()
    assert layout.staged.names == ["id", "amount", "email"]
    assert layout.added == ("email",) and layout.widened == ("id", "amount")


def test_a_narrower_source_type_is_cast_to_the_destination_type() -> None:
    table = pa.schema([("id", pa.int64()), ("amount", pa.decimal128(12, 2)), ("ratio", pa.float64())])
    source = pa.schema([("id", pa.int16()), ("amount", pa.decimal128(8, 1)), ("ratio", pa.float32())])
    decision = decide(table, source, "ignore", replaces_table=False)
    assert [c.action for c in decision.changes] == [
        "cast to the destination's int64", "cast to the destination's decimal128(12, 2)",
        "cast to the destination's double",
    ]
    batch = pa.record_batch([pa.array([7], pa.int16()), pa.array([Decimal("1.5")], pa.decimal128(8, 1)),
                             pa.array([0.25], pa.float32())], schema=source)
    conformed = schema_changes.conform(batch, decision.layout.staged)
    assert conformed.schema.equals(table)
    assert conformed.to_pylist() == [{"id": 7, "amount": Decimal("1.50"), "ratio": 0.25}]


def test_ignore_leaves_new_columns_out_of_the_load() -> None:
    source = TABLE.append(pa.field("email", pa.string()))
    decision = decide(TABLE, source, "ignore", replaces_table=False)
    assert described(decision) == ["+email string (not loaded (schema_changes: ignore))"]
    assert decision.layout.table.equals(TABLE) and decision.layout.staged.equals(TABLE)
    batch = pa.record_batch([pa.array([1], pa.int32()), pa.array([None], pa.decimal128(10, 2)),
                             pa.array(["n"]), pa.array(["a@b.c"])], schema=source)
    assert schema_changes.conform(batch, decision.layout.staged).schema.names == ["id", "amount", "note"]


def test_fail_refuses_every_change() -> None:
    source = pa.schema([("id", pa.int64()), ("amount", pa.decimal128(10, 2)), ("email", pa.string())])
    decision = decide(TABLE, source, "fail", replaces_table=False)
    assert [(c.column, c.kind, c.refused) for c in decision.changes] == [
        ("id", "changed", True), ("note", "removed", True), ("email", "added", True),
    ]


@pytest.mark.parametrize("policy", ["evolve", "ignore"])
def test_unsafe_type_changes_are_refused(policy) -> None:
    source = pa.schema([("id", pa.string()), ("amount", pa.float64()), ("note", pa.string())])
    decision = decide(TABLE, source, policy, replaces_table=False)
    assert [(c.column, c.refused) for c in decision.changes] == [("id", True), ("amount", True)]
    assert "not a safe widening" in decision.refused[0].action


def test_a_removed_write_key_is_refused_under_every_policy() -> None:
    source = pa.schema([("amount", pa.decimal128(10, 2)), ("note", pa.string())])
    decision = decide(TABLE, source, "evolve", replaces_table=False, keys=("id",))
    assert described(decision) == ["-id int32 (refused: a write key column must come from the source)"]
    assert decision.refused


def test_replacing_the_table_under_evolve_rebuilds_it_with_the_source_columns() -> None:
    source = pa.schema([("id", pa.string()), ("email", pa.string())])
    decision = decide(TABLE, source, "evolve", replaces_table=True)
    assert decision.layout.table.equals(source) and decision.refused == ()
    assert sorted(described(decision)) == [
        "+email string (the replaced table has the source's columns)",
        "-amount decimal128(10, 2) (the replaced table has the source's columns)",
        "-note string (the replaced table has the source's columns)",
        "id int32 -> string (the replaced table has the source's columns)",
    ]


@pytest.mark.parametrize(("narrow", "wide", "fits"), [
    (pa.int32(), pa.int64(), True),
    (pa.uint32(), pa.int64(), True),
    (pa.uint64(), pa.int64(), False),
    (pa.int64(), pa.int32(), False),
    (pa.int64(), pa.float64(), False),
    (pa.int32(), pa.decimal128(12, 2), True),
    (pa.int64(), pa.decimal128(12, 2), False),
    (pa.decimal128(10, 2), pa.decimal128(12, 3), True),
    (pa.decimal128(10, 2), pa.decimal128(12, 1), False),
    (pa.timestamp("us"), pa.timestamp("us", tz="UTC"), False),
    (pa.null(), pa.string(), True),
])
def test_what_fits_into_what(narrow, wide, fits) -> None:
    assert schema_changes.fits_into(narrow, wide) is fits


def test_the_recorded_schema_round_trips() -> None:
    schema = pa.schema([("id", pa.uuid()), ("amount", pa.decimal128(38, 9)), ("at", pa.timestamp("us", tz="UTC"))])
    assert schema_changes.deserialize(schema_changes.serialize(schema)).equals(schema)
