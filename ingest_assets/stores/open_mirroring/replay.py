"""Replay an Open Mirroring landing zone: the table Fabric would show, computed from the files.

This is a verification tool, not a fast path: it proves a writer correct by applying the landing-zone
contract (Microsoft Learn, "Open mirroring landing zone requirements and format") exactly and
strictly, and it raises `LandingZoneError` (a `TerminalError`) for every violation, naming the table
folder and the file.
Rows are applied in pure Python over `to_pylist()` per record batch; memory holds one data file at a
time (small files are read whole, larger ones downloaded to a temporary file and read batch by batch)
plus the current rows, kept in an insertion-ordered dict keyed by the key tuple.

The rules applied:
- A table folder needs `_metadata.json`; only `fileDetectionStrategy: SequentialFileName` is replayable
  (the `Storage` seam has no LastModified times).
- Data files are `<20 digits>.parquet`, in the table folder and in Fabric's processed folders
  (`_ProcessedFiles`, `_FilesReadyToDelete`). Names starting with `_` in the table folder are staged
  files or Fabric's own and are ignored; any other file or folder there is an error (a misnamed data
  file, or delimited text, which this replayer does not read). In the processed folders only
  sequence-named files count. The numbers must run 1, 2, 3, ... with no gap and no duplicate.
- `__rowMarker__`, if present, must be the last column and of an integer type: 0 insert, 1 update, 2
  delete, 4 upsert; a NULL marker, or a file without the column, means insert (upsert when
  `isUpsertDefaultRowMarker` is true). Update and upsert behave alike: the row replaces the whole
  current row (it keeps its place) or is added when the key is missing. Delete removes the key (a
  missing key is a no-op) and reads only the key columns. Insert of an existing key is an error.
- Without `keyColumns` only inserts are valid. With them every file must carry every key column and
  no key value may be NULL (Fabric could never match such a row). Key names match case-sensitively.
- Columns: the union in order of first appearance over all files (`__rowMarker__` excluded). A row
  holds the columns of the file that wrote it; the others are NULL. Types are compared as Parquet sees
  them (a dictionary encoding, `large_`/`_view` variants and list field names do not count); any other
  difference is a type change and an error. The result uses the first-seen type of each column
  (dictionary-decoded), every field nullable. Nanosecond timestamps, times and durations are carried
  as integers so they stay exact; nested inside a list or struct they cannot be (no pandas here) and
  the replay stops with a LandingZoneError saying so.
- Row order of the result: the order keys were first inserted; an update keeps the row's place, an
  insert after a delete goes to the end. (Fabric's Delta table has no order; this one is stable.)
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

# LandingZoneError is re-exported: it was defined here, and callers import it from this module.
from ingest_assets.errors import LandingZoneError as LandingZoneError
from ingest_assets.storage.base import Storage, join
from ingest_assets.storage.local import LocalStorage
from ingest_assets.stores.open_mirroring.layout import (
    METADATA_FILE,
    PROCESSED_FOLDERS,
    ROW_MARKER,
    RowMarker,
    TableMetadata,
    sequence_name,
    sequence_number,
)

SCHEMA_SUFFIX = ".schema"
# Files up to this size are read with one `read_bytes`; larger ones are downloaded to a temporary file.
SMALL_FILE_BYTES = 8 << 20
BATCH_ROWS = 65_536
_MARKERS = {int(marker) for marker in RowMarker}


@dataclass(frozen=True)
class DataFile:
    """A published data file of a table folder."""

    number: int
    path: str  # the storage path
    relative: str  # the path below the table folder, for messages
    size: int


# ---- discovery ------------------------------------------------------------------------------------


def table_folders(storage: Storage, zone: str) -> dict[str, str]:
    """`Table` or `Schema.Table` -> table folder, for every table folder below the landing zone.

    Folders are `<zone>/<Table>/` and `<zone>/<Schema>.schema/<Table>/`; names starting with `_`
    (`_scratchPad`, staging) and files are skipped."""
    found: dict[str, str] = {}
    for entry in storage.list(zone):
        if not entry.is_folder or entry.name.startswith("_"):
            continue
        if entry.name.endswith(SCHEMA_SUFFIX) and len(entry.name) > len(SCHEMA_SUFFIX):
            schema = entry.name[: -len(SCHEMA_SUFFIX)]
            schema_folder = join(zone, entry.name)
            for child in storage.list(schema_folder):
                if child.is_folder and not child.name.startswith("_"):
                    found[f"{schema}.{child.name}"] = join(schema_folder, child.name)
        else:
            found[entry.name] = join(zone, entry.name)
    return found


def read_metadata(storage: Storage, table_folder: str) -> TableMetadata:
    """The table folder's `_metadata.json`, validated."""
    where = storage.describe(table_folder)
    path = join(table_folder, METADATA_FILE)
    if not storage.exists(path):
        raise LandingZoneError(where=where, problem=f"the table folder has no {METADATA_FILE}; Fabric requires one "
                                                    "in every table folder")
    try:
        document = json.loads(storage.read_bytes(path))
    except ValueError as error:
        raise LandingZoneError(where=where, problem=f"{METADATA_FILE} is not valid JSON: {error}") from error
    if not isinstance(document, dict):
        raise LandingZoneError(where=where, problem=f"{METADATA_FILE} must hold a JSON object")
    keys = document.get("keyColumns")
    if keys is not None and (not isinstance(keys, list)
                             or not all(isinstance(key, str) and key for key in keys)):
        raise LandingZoneError(where=where, file=METADATA_FILE,
                               problem=f"keyColumns must be a list of column names, got {keys!r}")
    if keys and len(set(keys)) != len(keys):
        raise LandingZoneError(where=where, file=METADATA_FILE, problem=f"keyColumns names a column twice: {keys!r}")
    upsert = document.get("isUpsertDefaultRowMarker", False)
    if not isinstance(upsert, bool):
        raise LandingZoneError(where=where, file=METADATA_FILE,
                               problem=f"isUpsertDefaultRowMarker must be true or false, got {upsert!r}")
    metadata = TableMetadata.from_json(json.dumps(document).encode())
    if metadata.file_detection != "SequentialFileName":
        raise LandingZoneError(
            where=where, file=METADATA_FILE,
            problem=f"fileDetectionStrategy {metadata.file_detection!r} cannot be replayed; only "
                    "'SequentialFileName' can (the order of other files depends on LastModified)")
    return metadata


def data_files(storage: Storage, table_folder: str) -> list[DataFile]:
    """The table's data files in sequence order: 1, 2, 3, ... with no gap and no duplicate."""
    where = storage.describe(table_folder)
    by_number: dict[int, DataFile] = {}

    def add(entry_name: str, folder: str, relative: str, size: int) -> None:
        number = sequence_number(entry_name)
        assert number is not None
        found = DataFile(number, join(folder, entry_name), relative, size)
        if number in by_number:
            raise LandingZoneError(
                where=where, problem=f"sequence number {number} is used twice: {by_number[number].relative} and "
                                     f"{relative}; a number must never be reused")
        by_number[number] = found

    for entry in storage.list(table_folder):
        if entry.is_folder:
            if entry.name in PROCESSED_FOLDERS:
                processed = join(table_folder, entry.name)
                for child in storage.list(processed):
                    if not child.is_folder and sequence_number(child.name) is not None:
                        add(child.name, processed, f"{entry.name}/{child.name}", child.size)
            elif not entry.name.startswith("_"):
                raise LandingZoneError(where=where, problem=f"unexpected folder {entry.name!r} in a table folder "
                                                            "(only `_`-prefixed folders may be there)")
        elif sequence_number(entry.name) is not None:
            add(entry.name, table_folder, entry.name, entry.size)
        elif not entry.name.startswith("_"):
            raise LandingZoneError(
                where=where, problem=f"unexpected file {entry.name!r}: a published data file is named "
                                     f"<20 digits>.parquet (e.g. {sequence_name(1)}) and staged files start with "
                                     "`_`; this replayer reads Parquet only")

    numbers = sorted(by_number)
    if numbers and numbers[0] != 1:
        raise LandingZoneError(where=where, problem=f"the sequence starts at {numbers[0]} "
                                                    f"({by_number[numbers[0]].relative}), not at 1")
    for previous, current in itertools.pairwise(numbers):
        if current != previous + 1:
            missing = (f"{previous + 1}" if current == previous + 2 else f"{previous + 1}..{current - 1}")
            raise LandingZoneError(
                where=where, problem=f"sequence gap: {by_number[previous].relative} is followed by "
                                     f"{by_number[current].relative} (missing {missing}); Fabric applies nothing "
                                     "after a gap")
    return [by_number[number] for number in numbers]


# ---- replay ---------------------------------------------------------------------------------------


def replay_table(storage: Storage, table_folder: str) -> pa.Table:
    """The table Fabric would show for one table folder."""
    metadata = read_metadata(storage, table_folder)
    replay = _Replay(storage.describe(table_folder), metadata)
    for data_file in data_files(storage, table_folder):
        with _open_parquet(storage, data_file, replay.where) as parquet:
            replay.apply(data_file, parquet)
    return replay.result()


def replay_landing_zone(storage: Storage, zone: str) -> dict[str, pa.Table]:
    """Every table of a landing zone, keyed `Table` or `Schema.Table`."""
    return {name: replay_table(storage, folder) for name, folder in table_folders(storage, zone).items()}


@contextmanager
def _open_parquet(storage: Storage, data_file: DataFile, where: str) -> Iterator[pq.ParquetFile]:
    with tempfile.TemporaryDirectory(prefix="replay-") as temporary:
        try:
            if data_file.size and data_file.size <= SMALL_FILE_BYTES:
                source: pa.BufferReader | str = pa.BufferReader(storage.read_bytes(data_file.path))
            else:
                target = Path(temporary) / "data.parquet"
                storage.download(data_file.path, target)
                source = str(target)
            parquet = pq.ParquetFile(source)
        except pa.ArrowException as error:
            raise LandingZoneError(where=where, problem=f"{data_file.relative} is not a readable Parquet file "
                                                        f"({error}); never publish a zero-byte or partial file") from error
        with parquet:
            yield parquet


def _comparable(data_type: pa.DataType) -> pa.DataType:
    """The type as Parquet and Fabric see it: encodings and offset widths do not count."""
    if pa.types.is_dictionary(data_type):
        return _comparable(data_type.value_type)
    if pa.types.is_large_string(data_type) or pa.types.is_string_view(data_type):
        return pa.string()
    if pa.types.is_large_binary(data_type) or pa.types.is_binary_view(data_type):
        return pa.binary()
    if (pa.types.is_list(data_type) or pa.types.is_large_list(data_type)
            or pa.types.is_list_view(data_type) or pa.types.is_large_list_view(data_type)):
        return pa.list_(_comparable(data_type.value_type))
    return data_type


def _as_integers(data_type: pa.DataType) -> bool:
    """Nanosecond temporal values do not fit Python's datetime: they are carried as integers."""
    return ((pa.types.is_timestamp(data_type) or pa.types.is_time64(data_type)
             or pa.types.is_duration(data_type)) and data_type.unit == "ns")


def _key_text(names: tuple[str, ...], key: tuple[object, ...]) -> str:
    return "(" + ", ".join(f"{name}={value!r}" for name, value in zip(names, key, strict=True)) + ")"


class _Replay:
    def __init__(self, where: str, metadata: TableMetadata):
        self.where = where
        self.metadata = metadata
        self.keys = metadata.key_columns
        self.default_marker = RowMarker.UPSERT if metadata.upsert_by_default else RowMarker.INSERT
        self.types: dict[str, pa.DataType] = {}  # the union of columns, first-seen (decoded) types
        self.first_seen: dict[str, str] = {}
        # One layout per file: its data columns and its name; a row is (layout index, values).
        self.layouts: list[tuple[tuple[str, ...], str]] = []
        self.rows: dict[object, tuple[int, tuple[object, ...]]] = {}
        self.next_row = 0  # the row id of a table without keys

    def error(self, data_file: DataFile, problem: str) -> LandingZoneError:
        return LandingZoneError(where=self.where, problem=problem, file=data_file.relative)

    def apply(self, data_file: DataFile, parquet: pq.ParquetFile) -> None:
        schema = parquet.schema_arrow
        names = schema.names
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise self.error(data_file, f"columns appear twice: {', '.join(duplicates)}")
        has_marker = ROW_MARKER in names
        if has_marker:
            if names[-1] != ROW_MARKER:
                raise self.error(data_file, f"{ROW_MARKER} must be the last column, it is column "
                                            f"{names.index(ROW_MARKER) + 1} of {len(names)} "
                                            f"({', '.join(names)})")
            marker_type = schema.field(ROW_MARKER).type
            if not pa.types.is_integer(marker_type):
                raise self.error(data_file, f"{ROW_MARKER} must be an integer column, it is {marker_type}")
        columns = tuple(name for name in names if name != ROW_MARKER)
        missing_keys = [key for key in self.keys if key not in columns]
        if missing_keys:
            raise self.error(data_file, f"key column{'s' if len(missing_keys) > 1 else ''} "
                                        f"{', '.join(missing_keys)} missing (keyColumns: {', '.join(self.keys)})")
        for name in columns:
            data_type = schema.field(name).type
            if name not in self.types:
                self.types[name] = data_type.value_type if pa.types.is_dictionary(data_type) else data_type
                self.first_seen[name] = data_file.relative
            elif _comparable(data_type) != _comparable(self.types[name]):
                raise self.error(
                    data_file,
                    f"column {name!r} changes type from {self.types[name]} (first seen in "
                    f"{self.first_seen[name]}) to {data_type}; Fabric stops replicating a table on a "
                    f"type change; rebuild it (drop the table folder and load it again)")
        self.layouts.append((columns, data_file.relative))
        layout = len(self.layouts) - 1
        key_positions = [columns.index(key) for key in self.keys]
        integer_columns = {i for i, name in enumerate(columns) if _as_integers(schema.field(name).type)}

        row_number = 0
        try:
            batches = parquet.iter_batches(batch_size=BATCH_ROWS)
            for batch in batches:
                values_by_column = []
                for i in range(len(columns)):
                    column = batch.column(i)
                    if i in integer_columns:
                        column = column.view(pa.int64())
                    try:
                        values_by_column.append(column.to_pylist())
                    except (ValueError, OverflowError) as error:
                        raise self.error(data_file, f"column {columns[i]!r} ({column.type}) cannot be "
                                                    f"replayed exactly: {error}") from error
                markers = batch.column(len(columns)).to_pylist() if has_marker else None
                rows = zip(*values_by_column, strict=True) if columns else ((),) * batch.num_rows
                for index, values in enumerate(rows):
                    row_number += 1
                    marker = markers[index] if markers is not None else None
                    self.apply_row(data_file, row_number, layout, values, marker, key_positions)
        except pa.ArrowException as error:
            raise self.error(data_file, f"cannot be read: {error}") from error

    def apply_row(self, data_file: DataFile, row_number: int, layout: int, values: tuple[object, ...],
                  marker_value: int | None, key_positions: list[int]) -> None:
        if marker_value is None:
            marker = self.default_marker
        elif marker_value in _MARKERS:
            marker = RowMarker(marker_value)
        else:
            raise self.error(data_file, f"row {row_number}: unknown {ROW_MARKER} {marker_value!r} "
                                        f"(0 insert, 1 update, 2 delete, 4 upsert)")
        if not self.keys:
            if marker is not RowMarker.INSERT:
                why = " (rows without a marker are upserts: isUpsertDefaultRowMarker is true)" \
                    if marker_value is None else ""
                raise self.error(data_file, f"row {row_number}: {marker.name.lower()}{why} needs "
                                            f"keyColumns in {METADATA_FILE}; without keys only inserts work")
            self.rows[self.next_row] = (layout, values)
            self.next_row += 1
            return
        key = tuple(values[position] for position in key_positions)
        if any(value is None for value in key):
            raise self.error(data_file, f"row {row_number}: NULL in key {_key_text(self.keys, key)}")
        try:
            existing = self.rows.get(key)
        except TypeError as error:
            raise self.error(data_file, f"row {row_number}: key columns of this type cannot be "
                                        f"compared: {error}") from error
        if marker is RowMarker.INSERT:
            if existing is not None:
                raise self.error(
                    data_file, f"row {row_number}: insert of key {_key_text(self.keys, key)} which already "
                               f"exists (written by {self.layouts[existing[0]][1]}); use update or upsert")
            self.rows[key] = (layout, values)
        elif marker is RowMarker.DELETE:
            self.rows.pop(key, None)
        else:  # update and upsert: replace the whole row, or add it when the key is missing
            self.rows[key] = (layout, values)

    def result(self) -> pa.Table:
        names = list(self.types)
        positions = [{name: i for i, name in enumerate(columns)} for columns, _ in self.layouts]
        rows = list(self.rows.values())
        arrays = []
        for name in names:
            index_by_layout = [layout_positions.get(name) for layout_positions in positions]
            values = []
            for layout, row in rows:
                index = index_by_layout[layout]
                values.append(None if index is None else row[index])
            data_type = self.types[name]
            if _as_integers(data_type):
                arrays.append(pa.array(values, pa.int64()).view(data_type))
            else:
                arrays.append(pa.array(values, data_type))
        schema = pa.schema([pa.field(name, self.types[name], nullable=True) for name in names])
        return pa.Table.from_arrays(arrays, schema=schema)


# ---- command line ---------------------------------------------------------------------------------


def _cell(value: object, width: int = 40) -> str:
    text = "NULL" if value is None else str(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _display_columns(table: pa.Table) -> list[list[str]]:
    """Each column's cells as text; temporal and decimal values through Arrow's own formatting."""
    cells = []
    for column in table.columns:
        try:
            values = column.cast(pa.string()).to_pylist()
        except (pa.ArrowException, ValueError):
            values = column.to_pylist()
        cells.append([_cell(value) for value in values])
    return cells


def format_table(name: str, table: pa.Table, rows: int = 5) -> str:
    """A table's row count, columns and first rows, for people."""
    lines = [f"{name}: {table.num_rows} row{'s' if table.num_rows != 1 else ''}",
             "  columns: " + (", ".join(f"{field.name} {field.type}" for field in table.schema) or "(none)")]
    shown = table.slice(0, rows)
    if shown.num_rows and shown.num_columns:
        cells = _display_columns(shown)
        widths = [max([len(field.name), *(len(cell) for cell in column)])
                  for field, column in zip(table.schema, cells, strict=True)]
        lines.append("  " + " | ".join(field.name.ljust(width)
                                       for field, width in zip(table.schema, widths, strict=True)).rstrip())
        lines.append("  " + "-+-".join("-" * width for width in widths))
        lines.extend("  " + " | ".join(column[row].ljust(width) for column, width in zip(cells, widths, strict=True)).rstrip()
                     for row in range(shown.num_rows))
        if table.num_rows > shown.num_rows:
            lines.append(f"  ... {table.num_rows - shown.num_rows} more")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """`python -m ingest_assets.stores.open_mirroring.replay <landing zone folder>`: print what Fabric would show."""
    parser = argparse.ArgumentParser(
        prog="python -m ingest_assets.stores.open_mirroring.replay",
        description="Replay a local Open Mirroring landing zone and print the tables Fabric would show.")
    parser.add_argument("folder", type=Path, help="the landing zone folder (holding <Table>/ and <Schema>.schema/)")
    parser.add_argument("--rows", type=int, default=5, help="how many rows to show per table (default 5)")
    arguments = parser.parse_args(argv)
    if not arguments.folder.is_dir():
        print(f"error: {arguments.folder} is not a folder", file=sys.stderr)
        return 2
    storage = LocalStorage(arguments.folder)
    folders = table_folders(storage, "")
    if not folders:
        print(f"no table folders in {arguments.folder}")
        return 0
    failed = 0
    for index, (name, folder) in enumerate(folders.items()):
        if index:
            print()
        try:
            table = replay_table(storage, folder)
        except LandingZoneError as error:
            failed += 1
            print(f"{name}: ERROR", flush=True)
            print(f"error: {error}", file=sys.stderr, flush=True)
            continue
        print(format_table(name, table, max(arguments.rows, 0)), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
