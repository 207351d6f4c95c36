"""The Parquet and DuckDB stores on their own, through the store API the runtime drives:
writer -> write -> finish_staging -> resolve_duplicate_keys -> commit.

Every write strategy, duplicate keys, schema evolution, failures before the publish, and atomic
publishing under concurrent readers.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest_assets.connectors.duckdb import DuckDBFileResource
from ingest_assets.connectors.files import FolderResource
from ingest_assets.errors import TerminalError, TransientError
from ingest_assets.plan.model import WriteSpec
from ingest_assets.plan.window import KeyBucket, RowFilter
from ingest_assets.stores import duckdb as duckdb_store
from ingest_assets.stores import parquet as parquet_store
from ingest_assets.stores import staging
from ingest_assets.stores.base import CommitResult, QualityRequest, TableLayout, WriteMode
from ingest_assets.stores.duckdb import DuckDBStore
from ingest_assets.stores.parquet import ParquetStore

D1, D2, D3 = date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)
SCHEMA = pa.schema([("id", pa.int64()), ("day", pa.date32()), ("name", pa.string()), ("version", pa.int64())])
BASE = [(1, D1, "a", 1), (2, D1, "b", 1), (3, D2, "c", 1), (4, D2, "d", 1), (5, D3, "e", 1)]


@dataclass
class Target:
    """One store and table, with what a test reads back from it."""

    kind: str
    store: ParquetStore | DuckDBStore
    spec: WriteSpec
    root: Path

    def rows(self) -> list[tuple]:
        return sorted(self.query("SELECT * FROM {table}"), key=_sortable)

    def query(self, sql: str) -> list[tuple]:
        if self.kind == "parquet":
            table = f"read_parquet('{self.root / 'lake' / (self.spec.path or '')}/*.parquet')"
            return duckdb.connect().sql(sql.format(table=table)).fetchall()
        with duckdb.connect(str(self.root / "w.duckdb"), read_only=True) as connection:
            return connection.sql(sql.format(table=self.spec.table)).fetchall()

    def file_schemas(self) -> set[str]:
        """The distinct schemas of the current version's files (Parquet; one for DuckDB)."""
        if self.kind == "duckdb":
            return {"one table"}
        folder = self.root / "lake" / (self.spec.path or "")
        return {str(pq.read_schema(path).remove_metadata()) for path in folder.glob("*.parquet")}


def _sortable(row: tuple) -> tuple:
    return tuple((value is None, value if value is not None else 0) for value in row)


def make_target(kind: str, root: Path) -> Target:
    if kind == "parquet":
        return Target(kind, ParquetStore(FolderResource(path=str(root / "lake"))), WriteSpec(path="shop/t"), root)
    return Target(kind, DuckDBStore(DuckDBFileResource(path=str(root / "w.duckdb"))), WriteSpec(table="s.t"), root)


@pytest.fixture(params=["parquet", "duckdb"])
def target(request, tmp_path: Path) -> Target:
    return make_target(request.param, tmp_path)


def table_of(rows: list[tuple], schema: pa.Schema = SCHEMA) -> pa.Table:
    return pa.Table.from_pylist([dict(zip(schema.names, row, strict=False)) for row in rows], schema=schema)


def load(target: Target, mode: WriteMode, rows: list[tuple], layout: TableLayout | None = None,
         schema: pa.Schema = SCHEMA) -> CommitResult:
    """One run as the runtime drives it, in batches of two rows."""
    layout = layout or TableLayout.new(schema)
    with target.store.writer(target.spec, mode, layout, uuid.uuid4().hex[:8], QualityRequest()) as writer:
        for batch in table_of(rows, layout.staged).to_batches(max_chunksize=2):
            writer.write(batch)
        writer.finish_staging()
        writer.resolve_duplicate_keys()
        return writer.commit()


def counts(result: CommitResult) -> dict[str, int | None]:
    assert result.rows_after == result.expected_rows_after
    return {"written": result.rows_written, "replaced": result.rows_replaced, "deleted": result.rows_deleted,
            "before": result.rows_before, "after": result.rows_after, "window": result.window_rows}


IN_D2 = RowFilter.half_open("day", D2, D3)  # a day partition: lower inclusive, upper exclusive
ODD_IDS = KeyBucket("id", 2, 1)
KEYS = ("id",)

STRATEGIES = {
    "append": (
        WriteMode("append"), [(6, D3, "f", 2)],
        [*BASE, (6, D3, "f", 2)],
        dict(written=1, replaced=0, deleted=0, before=5, after=6, window=None),
    ),
    "replace the whole table": (
        WriteMode("replace"), [(9, D1, "z", 2)],
        [(9, D1, "z", 2)],
        dict(written=1, replaced=5, deleted=0, before=5, after=1, window=None),
    ),
    "replace a time window": (
        WriteMode("replace", window=IN_D2), [(30, D2, "x", 2)],
        [(1, D1, "a", 1), (2, D1, "b", 1), (5, D3, "e", 1), (30, D2, "x", 2)],
        dict(written=1, replaced=2, deleted=0, before=5, after=4, window=1),
    ),
    "replace a key bucket": (
        WriteMode("replace", window=ODD_IDS), [(7, D1, "odd", 2)],
        [(2, D1, "b", 1), (4, D2, "d", 1), (7, D1, "odd", 2)],
        dict(written=1, replaced=3, deleted=0, before=5, after=3, window=1),
    ),
    "upsert": (
        WriteMode("upsert", keys=KEYS), [(2, D1, "B", 2), (6, D3, "f", 2)],
        [(1, D1, "a", 1), (2, D1, "B", 2), (3, D2, "c", 1), (4, D2, "d", 1), (5, D3, "e", 1), (6, D3, "f", 2)],
        dict(written=2, replaced=1, deleted=0, before=5, after=6, window=None),
    ),
    "merge without delete_missing": (
        WriteMode("merge", keys=KEYS), [(5, D3, "E", 2)],
        [*BASE[:4], (5, D3, "E", 2)],
        dict(written=1, replaced=1, deleted=0, before=5, after=5, window=None),
    ),
    "merge deleting missing rows of the whole table": (
        WriteMode("merge", keys=KEYS, delete_missing=True), [(2, D1, "B", 2), (6, D3, "f", 2)],
        [(2, D1, "B", 2), (6, D3, "f", 2)],
        dict(written=2, replaced=1, deleted=4, before=5, after=2, window=None),
    ),
    "merge deleting missing rows of a window": (
        # 4 is in the window and not in the load: deleted; 1 is outside the window: replaced anyway.
        WriteMode("merge", keys=KEYS, delete_missing=True, window=IN_D2),
        [(3, D2, "C", 2), (6, D2, "f", 2), (1, D1, "A", 2)],
        [(1, D1, "A", 2), (2, D1, "b", 1), (3, D2, "C", 2), (5, D3, "e", 1), (6, D2, "f", 2)],
        dict(written=3, replaced=2, deleted=1, before=5, after=5, window=2),
    ),
}


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_write_strategy(target: Target, strategy: str):
    mode, loaded, expected, expected_counts = STRATEGIES[strategy]
    assert counts(load(target, WriteMode("append"), BASE)) == dict(
        written=5, replaced=0, deleted=0, before=0, after=5, window=None)

    result = load(target, mode, loaded)

    assert target.rows() == expected
    assert counts(result) == expected_counts


@pytest.mark.parametrize("kind", ["upsert", "merge"])
def test_the_latest_row_of_a_repeated_key_wins(target: Target, kind: str):
    load(target, WriteMode("append"), BASE)
    mode = WriteMode(kind, keys=KEYS, latest_by="version")  # type: ignore[arg-type]
    loaded = [(2, D1, "old", 2), (2, D1, "new", 3), (6, D3, "f", 2), (6, D3, "f older", 1)]

    with target.store.writer(target.spec, mode, TableLayout.new(SCHEMA), "dup", QualityRequest()) as writer:
        writer.write(table_of(loaded).to_batches()[0])
        assert writer.finish_staging() == 4
        assert writer.resolve_duplicate_keys() == 2
        result = writer.commit()

    assert target.rows() == [(1, D1, "a", 1), (2, D1, "new", 3), (3, D2, "c", 1), (4, D2, "d", 1),
                             (5, D3, "e", 1), (6, D3, "f", 2)]
    assert counts(result) == dict(written=2, replaced=1, deleted=0, before=5, after=6, window=None)


def test_a_replace_that_carries_the_write_key_keeps_the_latest_row_too(target: Target):
    # The first load of an upsert entity replaces the table, which must leave one row per key.
    mode = WriteMode("replace", keys=KEYS, latest_by="version")
    result = load(target, mode, [(2, D1, "old", 2), (2, D1, "new", 3), (6, D3, "f", 2)])
    assert target.rows() == [(2, D1, "new", 3), (6, D3, "f", 2)]
    assert counts(result) == dict(written=2, replaced=0, deleted=0, before=0, after=2, window=None)


KEY_ERRORS = {
    "tie": (WriteMode("upsert", keys=KEYS, latest_by="version"), [(2, D1, "x", 2), (2, D1, "y", 2)],
            "rows with the same write key (id=2) also have the same version, so neither is the latest "
            "-> nothing was written"),
    "no latest_by": (WriteMode("upsert", keys=KEYS), [(2, D1, "x", 2), (2, D1, "y", 3)],
                     "the write key (id) is not unique in this load (id=2 appears 2 times) -> nothing was written"),
    "null key": (WriteMode("merge", keys=KEYS, latest_by="version"), [(None, D1, "x", 2), (3, D1, "y", 2)],
                 "1 rows have a null write key (id) -> nothing was written"),
}


@pytest.mark.parametrize("case", KEY_ERRORS)
def test_keys_that_cannot_be_resolved_fail_and_change_nothing(target: Target, case: str):
    load(target, WriteMode("append"), BASE)
    mode, loaded, message = KEY_ERRORS[case]

    with pytest.raises(TerminalError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load(target, mode, loaded)

    assert target.rows() == BASE
    assert target.store.current_schema(target.spec) == SCHEMA


WITH_EXTRA = SCHEMA.append(pa.field("extra", pa.string()))


def test_an_added_column_is_null_in_the_old_rows(target: Target):
    load(target, WriteMode("append"), BASE)
    added = TableLayout(table=WITH_EXTRA, staged=WITH_EXTRA, added=("extra",))

    result = load(target, WriteMode("upsert", keys=KEYS), [(2, D1, "B", 2, "x"), (6, D3, "f", 2, "y")], added)

    assert target.store.current_schema(target.spec) == WITH_EXTRA
    assert target.rows() == [(1, D1, "a", 1, None), (2, D1, "B", 2, "x"), (3, D2, "c", 1, None),
                             (4, D2, "d", 1, None), (5, D3, "e", 1, None), (6, D3, "f", 2, "y")]
    assert counts(result) == dict(written=2, replaced=1, deleted=0, before=5, after=6, window=None)
    assert len(target.file_schemas()) == 1

    # A later load without the column writes it as NULL, and a plain append links unchanged files.
    load(target, WriteMode("append"), [(7, D3, "g", 3)], TableLayout(table=WITH_EXTRA, staged=SCHEMA))
    assert target.rows()[-1] == (7, D3, "g", 3, None)
    assert target.store.current_schema(target.spec) == WITH_EXTRA
    assert len(target.file_schemas()) == 1


NARROW = pa.schema([("id", pa.int64()), ("n", pa.int32()), ("amount", pa.decimal128(10, 2))])
WIDE = pa.schema([("id", pa.int64()), ("n", pa.int64()), ("amount", pa.decimal128(12, 2))])


def test_widened_columns_keep_their_values(target: Target):
    load(target, WriteMode("append"), [(1, 7, Decimal("12345678.90")), (2, 8, Decimal("0.01"))], schema=NARROW)
    assert target.store.current_schema(target.spec) == NARROW
    widened = TableLayout(table=WIDE, staged=WIDE, widened=("n", "amount"))

    result = load(target, WriteMode("replace", window=KeyBucket("id", 2, 1)),
                  [(3, 2**40, Decimal("9999999999.99"))], widened)

    assert target.store.current_schema(target.spec) == WIDE
    assert target.rows() == [(2, 8, Decimal("0.01")), (3, 2**40, Decimal("9999999999.99"))]
    assert counts(result) == dict(written=1, replaced=1, deleted=0, before=2, after=2, window=1)
    assert len(target.file_schemas()) == 1


def test_current_schema_of_a_missing_table_is_none(target: Target):
    assert target.store.current_schema(target.spec) is None
    load(target, WriteMode("merge", keys=KEYS, delete_missing=True), BASE,
         TableLayout(table=WITH_EXTRA, staged=SCHEMA, added=()))
    # A missing table is created with every column of the layout, the unstaged ones NULL.
    assert target.store.current_schema(target.spec) == WITH_EXTRA
    assert target.rows() == [(*row, None) for row in BASE]


def test_a_failure_before_the_publish_leaves_rows_and_schema_unchanged(target: Target, monkeypatch):
    load(target, WriteMode("append"), [(1, 7, Decimal("1.00")), (2, 8, Decimal("2.00"))], schema=NARROW)
    wider = WIDE.append(pa.field("extra", pa.string()))
    layout = TableLayout(table=wider, staged=wider, added=("extra",), widened=("n", "amount"))

    def fail(*args, **kwargs):
        raise OSError("disk full")

    # Called after the new rows are in the new version (or the transaction), before the publish.
    module = parquet_store if target.kind == "parquet" else duckdb_store
    monkeypatch.setattr(module, "measure_quality", fail)
    with pytest.raises(OSError, match="disk full"):
        load(target, WriteMode("merge", keys=KEYS, delete_missing=True), [(2, 9, Decimal("3.00"), "x")], layout)

    assert target.store.current_schema(target.spec) == NARROW
    assert target.rows() == [(1, 7, Decimal("1.00")), (2, 8, Decimal("2.00"))]
    if target.kind == "parquet":
        versions = list((target.root / "lake/_ingest/versions/shop/t").iterdir())
        assert len(versions) == 1, "the failed run's version was removed"


def test_a_layout_that_does_not_fit_the_staged_data_fails_before_writing(target: Target):
    load(target, WriteMode("append"), BASE)
    wrong = TableLayout(table=SCHEMA.set(0, pa.field("id", pa.int32())), staged=SCHEMA)

    with pytest.raises(TerminalError, match=r"staged column id int64 is not a table column of that type"):
        load(target, WriteMode("append"), [(6, D3, "f", 2)], wrong)

    assert target.rows() == BASE


def test_a_table_changed_since_the_layout_was_planned_is_retried(target: Target):
    load(target, WriteMode("append"), BASE)
    stale = TableLayout(table=WITH_EXTRA, staged=WITH_EXTRA)  # plans no `added` for the new column

    with pytest.raises(TransientError, match=r"extra is missing and the layout does not add it\) -> nothing was"):
        load(target, WriteMode("append"), [(6, D3, "f", 2, "x")], stale)

    assert target.rows() == BASE
    assert target.store.current_schema(target.spec) == SCHEMA


def test_a_batch_with_other_columns_fails(target: Target):
    layout = TableLayout.new(SCHEMA)
    with target.store.writer(target.spec, WriteMode("append"), layout, "w", QualityRequest()) as writer:
        with pytest.raises(TerminalError, match=r"a batch has columns \['id', 'name'\]"):
            writer.write(pa.record_batch({"id": [1], "name": ["x"]}))
    assert not target.store.exists(target.spec)


def test_leaving_the_writer_without_commit_changes_nothing(target: Target):
    load(target, WriteMode("append"), BASE)

    with pytest.raises(RuntimeError, match="extraction failed"):
        with target.store.writer(target.spec, WriteMode("replace"), TableLayout.new(SCHEMA), "broken",
                                 QualityRequest()) as writer:
            writer.write(table_of([(9, D1, "z", 2)]).to_batches()[0])
            raise RuntimeError("extraction failed")

    assert target.rows() == BASE
    assert target.store.exists(target.spec)
    staging_folder = target.root / ("lake/_ingest/staging" if target.kind == "parquet" else "w.duckdb.staging")
    assert not any(staging_folder.rglob("*.parquet"))


def test_quality_is_measured_on_the_committed_table(target: Target):
    load(target, WriteMode("append"), BASE)
    quality = QualityRequest(not_null=("name",), unique_sets=(("day",),))
    mode = WriteMode("upsert", keys=KEYS)
    with target.store.writer(target.spec, mode, TableLayout.new(SCHEMA), "q", quality) as writer:
        writer.write(table_of([(1, D1, None, 2)]).to_batches()[0])
        writer.finish_staging()
        writer.resolve_duplicate_keys()
        result = writer.commit()
    assert result.null_counts == {"name": 1}
    assert result.duplicate_counts == {("day",): 2}


# Concurrent readers ---------------------------------------------------------------------------

COUNTER = pa.schema([("id", pa.int64()), ("label", pa.string())])
ROWS_PER_COMMIT = 300


def counter_rows(first: int, count: int, label: str) -> list[tuple]:
    return [(i, label) for i in range(first, first + count)]


def commit_rows(store: ParquetStore, spec: WriteSpec, mode: WriteMode, rows: list[tuple]) -> None:
    with store.writer(spec, mode, TableLayout.new(COUNTER), uuid.uuid4().hex[:8], QualityRequest()) as writer:
        for part in range(0, len(rows), 100):
            writer.write(table_of(rows[part:part + 100], COUNTER).to_batches()[0])
        writer.finish_staging()
        writer.resolve_duplicate_keys()
        writer.commit()


def read_while(table: Path, commits: Iterator[None]) -> list[tuple[int, int]]:
    """(rows, distinct ids) as a reader saw them, reading continuously while `commits` run.

    The reader resolves the table's symlink once per query, as the README tells readers to: a glob
    through the symlink itself is resolved again for each file by DuckDB, and can mix two versions.
    """
    observed: list[tuple[int, int]] = []
    stop = threading.Event()

    def read_continuously() -> None:
        connection = duckdb.connect()
        while not stop.is_set():
            if not table.exists():
                continue
            version = os.path.realpath(table)  # kept for an hour after a newer one replaced it
            observed.append(connection.sql(
                f"SELECT count(*), count(DISTINCT id) FROM read_parquet('{version}/*.parquet')").fetchall()[0])

    reader = threading.Thread(target=read_continuously)
    reader.start()
    try:
        for _ in commits:
            pass
    finally:
        stop.set()
        reader.join()
    assert observed, "the reader never read the table"
    return observed


@pytest.fixture
def small_files(monkeypatch) -> None:
    # Each commit writes three files, so a publish that is not atomic would show a partial load.
    monkeypatch.setattr(staging, "ROW_GROUP_ROWS", 50)
    monkeypatch.setattr(staging, "FILE_ROWS", 100)


def test_parquet_readers_never_see_a_partial_append(tmp_path: Path, small_files):
    store = ParquetStore(FolderResource(path=str(tmp_path / "lake")))
    spec = WriteSpec(path="shop/orders")

    def appends() -> Iterator[None]:
        for number in range(25):
            commit_rows(store, spec, WriteMode("append"), counter_rows(number * ROWS_PER_COMMIT, ROWS_PER_COMMIT, "a"))
            yield

    observed = read_while(tmp_path / "lake/shop/orders", appends())
    assert {rows % ROWS_PER_COMMIT for rows, _ in observed} == {0}
    assert all(rows == distinct for rows, distinct in observed)
    assert len(set(observed)) > 1  # the reader really ran during the commits


def test_parquet_readers_never_see_a_partial_upsert(tmp_path: Path, small_files):
    store = ParquetStore(FolderResource(path=str(tmp_path / "lake")))
    spec = WriteSpec(path="shop/orders")
    commit_rows(store, spec, WriteMode("append"), counter_rows(0, 600, "first"))

    def upserts() -> Iterator[None]:
        # Each replaces 200 of the 600 rows (spread over old and rewritten files) and adds 100.
        for number in range(20):
            first = 100 * number
            commit_rows(store, spec, WriteMode("upsert", keys=("id",)), counter_rows(first + 400, 300, f"u{number}"))
            yield

    observed = read_while(tmp_path / "lake/shop/orders", upserts())
    assert all(rows == distinct for rows, distinct in observed), "a reader saw replaced and new rows at once"
    assert {rows for rows, _ in observed} <= {600 + 100 * n for n in range(21)}
    final = duckdb.connect().sql(
        f"SELECT count(*), count(DISTINCT id), max(id) FROM read_parquet('{tmp_path}/lake/shop/orders/*.parquet')")
    assert final.fetchall() == [(2600, 2600, 2599)]


def test_replaced_versions_stay_for_readers_until_the_retention_passes(tmp_path: Path, monkeypatch):
    store = ParquetStore(FolderResource(path=str(tmp_path / "lake")))
    spec = WriteSpec(path="shop/orders")
    versions = tmp_path / "lake/_ingest/versions/shop/orders"
    link = tmp_path / "lake/shop/orders"
    pinned = []
    for number in range(3):
        commit_rows(store, spec, WriteMode("append"), counter_rows(100 * number, 100, "a"))
        pinned.append(Path(os.path.realpath(link)))
    # Within the retention every version a reader may have resolved is still whole.
    assert sorted(versions.iterdir()) == pinned
    assert [pq.ParquetDataset(version).read().num_rows for version in pinned] == [100, 200, 300]

    monkeypatch.setattr(parquet_store, "VERSION_RETENTION", timedelta(0))
    commit_rows(store, spec, WriteMode("append"), counter_rows(300, 100, "a"))
    assert list(versions.iterdir()) == [Path(os.path.realpath(link))]
    assert pq.ParquetDataset(link).read().num_rows == 400
