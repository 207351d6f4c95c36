"""The landing-zone replayer: hand-built Open Mirroring table folders, replayed as Fabric would."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest_assets.errors import TerminalError
from ingest_assets.storage.local import LocalStorage
from ingest_assets.stores.open_mirroring import replay as replay_module
from ingest_assets.stores.open_mirroring.layout import sequence_name
from ingest_assets.stores.open_mirroring.replay import (
    LandingZoneError,
    main,
    replay_landing_zone,
    replay_table,
    table_folders,
)

REPOSITORY = Path(__file__).resolve().parents[2]
ZONE = "mirror.MountedRelationalDatabase/Files/LandingZone"
MARKER = "__rowMarker__"


def write_metadata(root: Path, folder: str, keys: list[str] | None = None, upsert: bool = False) -> None:
    document: dict[str, object] = {"fileDetectionStrategy": "SequentialFileName",
                                   "isUpsertDefaultRowMarker": upsert}
    if keys is not None:
        document["keyColumns"] = keys
    path = root / folder / "_metadata.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))


def write_parquet(root: Path, folder: str, name: str | int, columns: dict[str, object]) -> None:
    """`columns`: name -> pa.Array or a Python list (typed by pyarrow); order is kept."""
    path = root / folder / (sequence_name(name) if isinstance(name, int) else name)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path)


def markers(*values: int | None) -> pa.Array:
    return pa.array(values, pa.int32())


def make_table(root: Path, folder: str, keys: list[str] | None, files: list[dict[str, object]],
               upsert: bool = False) -> None:
    write_metadata(root, folder, keys, upsert)
    for number, columns in enumerate(files, start=1):
        write_parquet(root, folder, number, columns)


def replay(root: Path, folder: str) -> pa.Table:
    return replay_table(LocalStorage(root), folder)


def error_text(root: Path, folder: str) -> str:
    with pytest.raises(LandingZoneError) as raised:
        replay(root, folder)
    return str(raised.value)


# ---- applying rows --------------------------------------------------------------------------------


def test_initial_load_without_markers_keeps_the_files_types(tmp_path: Path) -> None:
    folder = f"{ZONE}/orders"
    make_table(tmp_path, folder, ["id"], [
        {"id": pa.array([1, 2], pa.int64()), "customer": ["ann", "bob"],
         "amount": pa.array([Decimal("1.25"), None], pa.decimal128(10, 2)),
         "at": pa.array([datetime(2026, 3, 1, 8, 0), datetime(2026, 3, 1, 9, 30)], pa.timestamp("us"))},
        {"id": pa.array([3], pa.int64()), "customer": ["cy"],
         "amount": pa.array([Decimal("7.00")], pa.decimal128(10, 2)),
         "at": pa.array([datetime(2026, 3, 2, 0, 0)], pa.timestamp("us"))},
    ])
    table = replay(tmp_path, folder)
    assert table.schema == pa.schema([("id", pa.int64()), ("customer", pa.string()),
                                      ("amount", pa.decimal128(10, 2)), ("at", pa.timestamp("us"))])
    assert table.to_pylist() == [
        {"id": 1, "customer": "ann", "amount": Decimal("1.25"), "at": datetime(2026, 3, 1, 8, 0)},
        {"id": 2, "customer": "bob", "amount": None, "at": datetime(2026, 3, 1, 9, 30)},
        {"id": 3, "customer": "cy", "amount": Decimal("7.00"), "at": datetime(2026, 3, 2, 0, 0)},
    ]


def test_updates_upserts_and_key_only_deletes(tmp_path: Path) -> None:
    folder = f"{ZONE}/people"
    make_table(tmp_path, folder, ["id"], [
        {"id": [1, 2, 3, 4], "name": ["a", "b", "c", "d"], "age": [10, 20, 30, 40]},
        # update 2 (the whole row, NULL included), upsert 3 (existing) and 5 (new), insert 6
        {"id": [2, 3, 5, 6], "name": ["B", "C", "E", "F"], "age": [None, 31, 50, 60],
         MARKER: markers(1, 4, 4, 0)},
        # deletes carry only the key columns
        {"id": [1, 5], MARKER: markers(2, 2)},
    ])
    assert replay(tmp_path, folder).to_pylist() == [
        {"id": 2, "name": "B", "age": None},
        {"id": 3, "name": "C", "age": 31},
        {"id": 4, "name": "d", "age": 40},
        {"id": 6, "name": "F", "age": 60},
    ]


def test_insert_after_delete_update_of_missing_key_and_delete_of_missing_key(tmp_path: Path) -> None:
    folder = f"{ZONE}/things"
    make_table(tmp_path, folder, ["id"], [
        {"id": [1, 2], "v": ["one", "two"]},
        {"id": [1, 1, 7, 9, 2], "v": [None, "uno", "seven", None, "dos"],
         MARKER: markers(2, 0, 1, 2, 1)},  # delete 1 then insert it again; update of missing 7 inserts;
    ])                                     # delete of missing 9 is a no-op; update of 2 keeps its place
    assert replay(tmp_path, folder).to_pylist() == [
        {"id": 2, "v": "dos"},
        {"id": 1, "v": "uno"},
        {"id": 7, "v": "seven"},
    ]


def test_rows_apply_in_file_order_within_a_file(tmp_path: Path) -> None:
    folder = f"{ZONE}/steps"
    make_table(tmp_path, folder, ["id"], [
        {"id": [1, 1, 1, 1], "v": ["a", "b", None, "d"], MARKER: markers(0, 1, 2, 4)},
    ])
    assert replay(tmp_path, folder).to_pylist() == [{"id": 1, "v": "d"}]


def test_composite_keys(tmp_path: Path) -> None:
    folder = f"{ZONE}/lines"
    make_table(tmp_path, folder, ["order_id", "line"], [
        {"order_id": [1, 1, 2], "line": [1, 2, 1], "qty": [5, 6, 7]},
        {"order_id": [1, 2, 2], "line": [2, 1, 2], "qty": [60, None, 8], MARKER: markers(1, 2, 0)},
    ])
    assert replay(tmp_path, folder).to_pylist() == [
        {"order_id": 1, "line": 1, "qty": 5},
        {"order_id": 1, "line": 2, "qty": 60},
        {"order_id": 2, "line": 2, "qty": 8},
    ]


def test_upsert_default_row_marker(tmp_path: Path) -> None:
    folder = f"{ZONE}/upserted"
    make_table(tmp_path, folder, ["id"], [
        {"id": [1, 2], "v": ["a", "b"]},
        {"id": [2, 3], "v": ["B", "c"]},  # no marker column: upserts
        {"id": [1, 3, 4], "v": [None, "C", "d"], MARKER: markers(2, None, 4)},  # NULL marker: the default
    ], upsert=True)
    assert replay(tmp_path, folder).to_pylist() == [
        {"id": 2, "v": "B"}, {"id": 3, "v": "C"}, {"id": 4, "v": "d"}]


def test_table_without_keys_takes_inserts(tmp_path: Path) -> None:
    folder = f"{ZONE}/log"
    make_table(tmp_path, folder, None, [
        {"msg": ["x", "x"]},
        {"msg": ["y"], MARKER: markers(0)},
    ])
    assert replay(tmp_path, folder).to_pylist() == [{"msg": "x"}, {"msg": "x"}, {"msg": "y"}]


def test_metadata_only_folder_is_an_empty_table(tmp_path: Path) -> None:
    folder = f"{ZONE}/empty"
    write_metadata(tmp_path, folder, ["id"])
    table = replay(tmp_path, folder)
    assert table.num_rows == 0 and table.num_columns == 0


def test_zero_row_file_still_declares_its_columns(tmp_path: Path) -> None:
    folder = f"{ZONE}/zero"
    make_table(tmp_path, folder, ["id"], [
        {"id": pa.array([], pa.int32()), "v": pa.array([], pa.float64())},
    ])
    table = replay(tmp_path, folder)
    assert table.schema == pa.schema([("id", pa.int32()), ("v", pa.float64())])
    assert table.num_rows == 0


# ---- files ----------------------------------------------------------------------------------------


def test_processed_folders_staged_files_and_scratch_pad(tmp_path: Path) -> None:
    folder = f"{ZONE}/moved"
    write_metadata(tmp_path, folder, ["id"])
    write_parquet(tmp_path, f"{folder}/_ProcessedFiles", 1, {"id": [1, 2], "v": ["a", "b"]})
    write_parquet(tmp_path, f"{folder}/_FilesReadyToDelete", 2, {"id": [1], "v": ["A"], MARKER: markers(1)})
    write_parquet(tmp_path, folder, 3, {"id": [3], "v": ["c"]})
    # staged and Fabric-ignored names: none of these is applied
    write_parquet(tmp_path, folder, "_00000000000000000004.parquet", {"id": [1], MARKER: markers(2)})
    write_parquet(tmp_path, f"{folder}/_scratchPad", 4, {"id": [2], MARKER: markers(2)})
    (tmp_path / folder / "_ProcessedFiles" / "fabric-notes.txt").write_text("ignored")
    assert replay(tmp_path, folder).to_pylist() == [
        {"id": 1, "v": "A"}, {"id": 2, "v": "b"}, {"id": 3, "v": "c"}]


def test_staged_third_file_is_ignored(tmp_path: Path) -> None:
    folder = f"{ZONE}/staged"
    make_table(tmp_path, folder, ["id"], [{"id": [1], "v": ["a"]}, {"id": [2], "v": ["b"]}])
    write_parquet(tmp_path, folder, "_00000000000000000003.parquet", {"id": [1], "v": ["x"], MARKER: markers(1)})
    assert replay(tmp_path, folder).to_pylist() == [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}]


def test_large_files_are_downloaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = f"{ZONE}/big"
    make_table(tmp_path, folder, ["id"], [
        {"id": list(range(100_000)), "v": [i * 2 for i in range(100_000)]},
        {"id": [5], "v": [-1], MARKER: markers(1)},
    ])
    monkeypatch.setattr(replay_module, "SMALL_FILE_BYTES", 0)
    downloaded: list[str] = []
    storage = LocalStorage(tmp_path)
    original = storage.download

    def download(path: str, target: Path) -> None:
        downloaded.append(path)
        original(path, target)

    monkeypatch.setattr(storage, "download", download)
    table = replay_table(storage, folder)
    assert downloaded == [f"{folder}/{sequence_name(1)}", f"{folder}/{sequence_name(2)}"]
    assert table.num_rows == 100_000
    assert table.column("id").to_pylist() == list(range(100_000))
    assert table.column("v").to_pylist() == [-1 if i == 5 else i * 2 for i in range(100_000)]


# ---- columns --------------------------------------------------------------------------------------


def test_column_added_and_dropped(tmp_path: Path) -> None:
    folder = f"{ZONE}/evolving"
    make_table(tmp_path, folder, ["id"], [
        {"id": [1, 2], "a": ["a1", "a2"], "b": pa.array([1.5, 2.5], pa.float32())},
        # adds c, drops b: b is NULL in the rows this file writes, c NULL in the older rows
        {"id": [2, 3], "a": ["A2", "a3"], "c": pa.array([True, False]), MARKER: markers(1, 0)},
        {"id": [1], MARKER: markers(2)},
    ])
    table = replay(tmp_path, folder)
    assert table.schema == pa.schema([("id", pa.int64()), ("a", pa.string()), ("b", pa.float32()),
                                      ("c", pa.bool_())])
    assert table.to_pylist() == [
        {"id": 2, "a": "A2", "b": None, "c": True},
        {"id": 3, "a": "a3", "b": None, "c": False},
    ]


def test_exact_types_survive(tmp_path: Path) -> None:
    folder = f"{ZONE}/typed"
    nanos = pa.array([1_700_000_000_123_456_789, None], pa.timestamp("ns", tz="UTC"))
    make_table(tmp_path, folder, ["id"], [
        {"id": pa.array([1, 2], pa.int16()), "ns": nanos,
         "tz": pa.array([datetime(2026, 1, 1, tzinfo=UTC), None], pa.timestamp("ms", tz="UTC")),
         "tags": pa.array([["x", "y"], []], pa.list_(pa.string())),
         "s": pa.array(["p", "q"], pa.large_string())},
        # a string column written without large offsets is the same Parquet type
        {"id": pa.array([2], pa.int16()), "ns": pa.array([5], pa.timestamp("ns", tz="UTC")),
         "tz": pa.array([None], pa.timestamp("ms", tz="UTC")), "tags": pa.array([None], pa.list_(pa.string())),
         "s": pa.array(["r"], pa.string()), MARKER: markers(1)},
    ])
    table = replay(tmp_path, folder)
    assert table.schema == pa.schema([
        ("id", pa.int16()), ("ns", pa.timestamp("ns", tz="UTC")), ("tz", pa.timestamp("ms", tz="UTC")),
        ("tags", pa.list_(pa.string())), ("s", pa.large_string())])
    assert table.column("ns").cast(pa.int64()).to_pylist() == [1_700_000_000_123_456_789, 5]
    assert table.column("tz").to_pylist() == [datetime(2026, 1, 1, tzinfo=UTC), None]
    assert table.column("tags").to_pylist() == [["x", "y"], None]
    assert table.column("s").to_pylist() == ["p", "r"]


# ---- contract violations --------------------------------------------------------------------------


def test_missing_metadata(tmp_path: Path) -> None:
    folder = f"{ZONE}/nometa"
    write_parquet(tmp_path, folder, 1, {"id": [1]})
    message = error_text(tmp_path, folder)
    assert str(tmp_path / folder) in message
    assert "has no _metadata.json" in message


def test_landing_zone_error_is_terminal() -> None:
    assert issubclass(LandingZoneError, TerminalError)


def test_gap_blocks_everything_after_it(tmp_path: Path) -> None:
    folder = f"{ZONE}/gap"
    write_metadata(tmp_path, folder, ["id"])
    for number in (1, 2, 5):
        write_parquet(tmp_path, folder, number, {"id": [number]})
    message = error_text(tmp_path, folder)
    assert str(tmp_path / folder) in message
    assert (f"sequence gap: {sequence_name(2)} is followed by {sequence_name(5)} (missing 3..4); "
            "Fabric applies nothing after a gap") in message


def test_single_missing_number(tmp_path: Path) -> None:
    folder = f"{ZONE}/gap1"
    write_metadata(tmp_path, folder, ["id"])
    write_parquet(tmp_path, f"{folder}/_ProcessedFiles", 1, {"id": [1]})
    write_parquet(tmp_path, folder, 3, {"id": [3]})
    assert (f"_ProcessedFiles/{sequence_name(1)} is followed by {sequence_name(3)} (missing 2)"
            in error_text(tmp_path, folder))


def test_duplicate_sequence_number(tmp_path: Path) -> None:
    folder = f"{ZONE}/dup"
    write_metadata(tmp_path, folder, ["id"])
    write_parquet(tmp_path, f"{folder}/_ProcessedFiles", 1, {"id": [1]})
    write_parquet(tmp_path, f"{folder}/_ProcessedFiles", 2, {"id": [2]})
    write_parquet(tmp_path, folder, 2, {"id": [3]})
    message = error_text(tmp_path, folder)
    assert str(tmp_path / folder) in message
    assert (f"sequence number 2 is used twice: {sequence_name(2)} and _ProcessedFiles/{sequence_name(2)}"
            in message)


def test_sequence_must_start_at_one(tmp_path: Path) -> None:
    folder = f"{ZONE}/late"
    write_metadata(tmp_path, folder, ["id"])
    write_parquet(tmp_path, folder, 2, {"id": [1]})
    write_parquet(tmp_path, folder, 3, {"id": [2]})
    message = error_text(tmp_path, folder)
    assert str(tmp_path / folder) in message
    assert f"the sequence starts at 2 ({sequence_name(2)}), not at 1" in message


def test_misnamed_data_file(tmp_path: Path) -> None:
    folder = f"{ZONE}/misnamed"
    make_table(tmp_path, folder, ["id"], [{"id": [1]}])
    write_parquet(tmp_path, folder, "0002.parquet", {"id": [2]})
    assert "unexpected file '0002.parquet'" in error_text(tmp_path, folder)


def test_marker_must_be_the_last_column(tmp_path: Path) -> None:
    folder = f"{ZONE}/order"
    make_table(tmp_path, folder, ["id"], [{"id": [1], MARKER: markers(0), "v": ["a"]}])
    message = error_text(tmp_path, folder)
    assert str(tmp_path / folder) in message
    assert (f"{sequence_name(1)}: __rowMarker__ must be the last column, it is column 2 of 3 "
            "(id, __rowMarker__, v)") in message


def test_unknown_marker(tmp_path: Path) -> None:
    folder = f"{ZONE}/unknown"
    make_table(tmp_path, folder, ["id"], [{"id": [1, 2], "v": ["a", "b"], MARKER: markers(0, 3)}])
    message = error_text(tmp_path, folder)
    assert f"{sequence_name(1)}: row 2: unknown __rowMarker__ 3 (0 insert, 1 update, 2 delete, 4 upsert)" in message


def test_marker_must_be_an_integer(tmp_path: Path) -> None:
    folder = f"{ZONE}/textmarker"
    make_table(tmp_path, folder, ["id"], [{"id": [1], MARKER: ["0"]}])
    assert "__rowMarker__ must be an integer column, it is string" in error_text(tmp_path, folder)


def test_insert_of_existing_key(tmp_path: Path) -> None:
    folder = f"{ZONE}/again"
    make_table(tmp_path, folder, ["id", "k"], [
        {"id": [1], "k": ["x"], "v": [1]},
        {"id": [2, 1], "k": ["x", "x"], "v": [2, 3], MARKER: markers(0, 0)},
    ])
    message = error_text(tmp_path, folder)
    assert str(tmp_path / folder) in message
    assert (f"{sequence_name(2)}: row 2: insert of key (id=1, k='x') which already exists "
            f"(written by {sequence_name(1)})") in message


def test_initial_load_repeated_inserts_existing_keys(tmp_path: Path) -> None:
    folder = f"{ZONE}/reloaded"
    make_table(tmp_path, folder, ["id"], [{"id": [1, 2]}, {"id": [3, 2]}])
    assert (f"{sequence_name(2)}: row 2: insert of key (id=2) which already exists"
            in error_text(tmp_path, folder))


def test_upsert_without_key_columns(tmp_path: Path) -> None:
    folder = f"{ZONE}/keyless"
    make_table(tmp_path, folder, None, [{"id": [1], MARKER: markers(4)}])
    message = error_text(tmp_path, folder)
    assert str(tmp_path / folder) in message
    assert (f"{sequence_name(1)}: row 1: upsert needs keyColumns in _metadata.json; "
            "without keys only inserts work") in message


def test_default_upsert_without_key_columns(tmp_path: Path) -> None:
    folder = f"{ZONE}/keyless_default"
    make_table(tmp_path, folder, None, [{"id": [1]}], upsert=True)
    assert ("row 1: upsert (rows without a marker are upserts: isUpsertDefaultRowMarker is true) needs "
            "keyColumns") in error_text(tmp_path, folder)


def test_type_change(tmp_path: Path) -> None:
    folder = f"{ZONE}/retyped"
    make_table(tmp_path, folder, ["id"], [
        {"id": [1], "v": pa.array([1], pa.int32())},
        {"id": [2], "v": pa.array([2], pa.int64())},
    ])
    message = error_text(tmp_path, folder)
    assert str(tmp_path / folder) in message
    assert (f"{sequence_name(2)}: column 'v' changes type from int32 (first seen in {sequence_name(1)}) "
            "to int64; Fabric stops replicating a table on a type change; rebuild it") in message


def test_missing_key_column_and_null_key(tmp_path: Path) -> None:
    folder = f"{ZONE}/nokey"
    make_table(tmp_path, folder, ["id"], [{"id": [1]}, {"v": [1], MARKER: markers(1)}])
    assert f"{sequence_name(2)}: key column id missing (keyColumns: id)" in error_text(tmp_path, folder)
    folder = f"{ZONE}/nullkey"
    make_table(tmp_path, folder, ["id"], [{"id": [1, None]}])
    assert f"{sequence_name(1)}: row 2: NULL in key (id=None)" in error_text(tmp_path, folder)


def test_invalid_metadata(tmp_path: Path) -> None:
    folder = f"{ZONE}/badmeta"
    (tmp_path / folder).mkdir(parents=True)
    (tmp_path / folder / "_metadata.json").write_text('{"keyColumns": "id"}')
    assert "keyColumns must be a list of column names, got 'id'" in error_text(tmp_path, folder)
    (tmp_path / folder / "_metadata.json").write_text('{"fileDetectionStrategy": "LastUpdateTimeFileDetection"}')
    assert "fileDetectionStrategy 'LastUpdateTimeFileDetection' cannot be replayed" in error_text(tmp_path, folder)


def test_zero_byte_file(tmp_path: Path) -> None:
    folder = f"{ZONE}/zerobyte"
    write_metadata(tmp_path, folder, ["id"])
    (tmp_path / folder / sequence_name(1)).write_bytes(b"")
    assert f"{sequence_name(1)} is not a readable Parquet file" in error_text(tmp_path, folder)


# ---- the landing zone and the command line --------------------------------------------------------


def build_zone(root: Path) -> None:
    make_table(root, f"{ZONE}/customers", ["id"], [{"id": [1, 2], "name": ["ann", "bob"]}])
    make_table(root, f"{ZONE}/sales.schema/orders", ["order_id"], [
        {"order_id": [10, 11, 12], "amount": [1.5, 2.5, 3.5]},
        {"order_id": [11], MARKER: markers(2)},
    ])
    (root / ZONE / "_partnerEvents.json").write_text("{}")
    write_parquet(root, f"{ZONE}/_scratchPad/orders", 1, {"order_id": [99]})


def test_replay_landing_zone_finds_schema_folders(tmp_path: Path) -> None:
    build_zone(tmp_path)
    storage = LocalStorage(tmp_path)
    assert table_folders(storage, ZONE) == {"customers": f"{ZONE}/customers",
                                            "sales.orders": f"{ZONE}/sales.schema/orders"}
    tables = replay_landing_zone(storage, ZONE)
    assert list(tables) == ["customers", "sales.orders"]
    assert tables["customers"].to_pylist() == [{"id": 1, "name": "ann"}, {"id": 2, "name": "bob"}]
    assert tables["sales.orders"].to_pylist() == [{"order_id": 10, "amount": 1.5}, {"order_id": 12, "amount": 3.5}]


def test_main_prints_each_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_zone(tmp_path)
    assert main([str(tmp_path / ZONE), "--rows", "1"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out == (
        "customers: 2 rows\n"
        "  columns: id int64, name string\n"
        "  id | name\n"
        "  ---+-----\n"
        "  1  | ann\n"
        "  ... 1 more\n"
        "\n"
        "sales.orders: 2 rows\n"
        "  columns: order_id int64, amount double\n"
        "  order_id | amount\n"
        "  ---------+-------\n"
        "  10       | 1.5\n"
        "  ... 1 more\n"
    )


def test_main_reports_a_broken_table_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_zone(tmp_path)
    write_parquet(tmp_path, f"{ZONE}/customers", 3, {"id": [3], "name": ["cy"]})
    assert main([str(tmp_path / ZONE)]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith("customers: ERROR\n\nsales.orders: 2 rows\n")
    assert (f"error: {tmp_path / ZONE / 'customers'}: sequence gap: {sequence_name(1)} is followed by "
            f"{sequence_name(3)} (missing 2)") in captured.err


def test_command_line_module(tmp_path: Path) -> None:
    build_zone(tmp_path)
    result = subprocess.run([sys.executable, "-m", "ingest_assets.stores.open_mirroring.replay", str(tmp_path / ZONE)],
                            capture_output=True, text=True, cwd=REPOSITORY, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "customers: 2 rows", "  columns: id int64, name string", "  id | name", "  ---+-----",
        "  1  | ann", "  2  | bob", "",
        "sales.orders: 2 rows", "  columns: order_id int64, amount double", "  order_id | amount",
        "  ---------+-------", "  10       | 1.5", "  12       | 3.5",
    ]


def test_command_line_rejects_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'nowhere'} is not a folder\n"
