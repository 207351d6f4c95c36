"""The Delta store on real Delta tables in a temporary folder: every write strategy compared row by row
with what was loaded, windows, delete_missing, schema evolution, one commit per load, failures that
leave the version unchanged, commit conflicts, read back by deltalake, DuckDB and polars, and a YAML
project whose store is `type: delta` materialized through Dagster."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable, QueryBuilder, write_deltalake

from ingest_assets.connectors.delta import DeltaResource
from ingest_assets.errors import (
    ArrowTypeUnwritable,
    DestinationOccupied,
    StagedRowsDoNotFit,
    TableCommitConflict,
    TransientError,
)
from ingest_assets.plan.model import WriteSpec
from ingest_assets.plan.window import KeyBucket, RowFilter
from ingest_assets.runtime import check_results as checks
from ingest_assets.sql.statement import duckdb_text
from ingest_assets.sql.window import condition
from ingest_assets.stores.base import CommitResult, QualityRequest, TableLayout, WriteMode
from ingest_assets.stores.delta import DeltaStore
from ingest_assets.stores.delta_predicate import literal, window_predicate
from ingest_assets.stores.load_record import LoadRecord
from ingest_assets_tests.conftest import Project, duckdb_rows, write_events_parquet, yaml_text
from ingest_assets_tests.execution.test_derived import (
    CONNECTIONS,
    check_results,
    create_shop,
    expected_revenue,
    revenue_rows,
    shop_project,
)
from ingest_assets_tests.execution.test_stores import BASE, D1, D2, D3, KEYS, SCHEMA, STRATEGIES, counts, table_of
from ingest_assets_tests.execution.test_write_strategies import (
    Destination,
    check_result,
    destination,
    run_source_sql,
    sales_project,
    source_rows,
)

SPEC = WriteSpec(path="shop/t")


def _sorted(rows: list[tuple]) -> list[tuple]:
    return sorted(rows, key=lambda row: tuple((v is None, v if v is not None else 0) for v in row))


class Delta:
    """A Delta store below a temporary folder, and what a test reads back from its table."""

    def __init__(self, root: Path, **settings: object):
        self.root = root / "lake"
        self.store = DeltaStore(DeltaResource(local_path=str(self.root), **settings))
        self.uri = str(self.root / "shop" / "t")

    def table(self) -> DeltaTable:
        return DeltaTable(self.uri)

    def rows(self) -> list[tuple]:
        return _sorted([tuple(row.values()) for row in self.table().to_pyarrow_table().to_pylist()])

    def version(self) -> int:
        return self.table().version()

    def load(self, mode: WriteMode, rows: list[tuple], layout: TableLayout | None = None,
             schema: pa.Schema = SCHEMA, quality: QualityRequest | None = None) -> CommitResult:
        """One run as the runtime drives it, in batches of two rows."""
        layout = layout or TableLayout.new(schema)
        with self.store.writer(SPEC, mode, layout, uuid.uuid4().hex[:8], quality or QualityRequest()) as writer:
            for batch in table_of(rows, layout.staged).to_batches(max_chunksize=2):
                writer.write(batch)
            writer.finish_staging()
            writer.resolve_duplicate_keys()
            return writer.commit()


@pytest.fixture
def delta(tmp_path: Path) -> Delta:
    return Delta(tmp_path)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_write_strategy_leaves_the_rows_it_should(delta: Delta, strategy: str):
    mode, loaded, expected, expected_counts = STRATEGIES[strategy]
    first = delta.load(WriteMode("append"), BASE)
    assert counts(first) == dict(written=5, replaced=0, deleted=0, before=0, after=5, window=None)
    assert first.details["ingest/delta_version"] == 0

    result = delta.load(mode, loaded)

    assert delta.rows() == expected
    assert counts(result) == expected_counts
    # One load, one commit: the table moved from version 0 to version 1, and says what it did.
    assert delta.version() == 1
    assert result.details["ingest/delta_version"] == 1
    assert result.details["ingest/delta_operation"] in ("WRITE", "MERGE")
    assert result.location == delta.uri


def test_an_upsert_writes_over_matched_rows_with_the_staged_values(delta: Delta):
    delta.load(WriteMode("replace", keys=KEYS), BASE)
    result = delta.load(WriteMode("upsert", keys=KEYS), [(3, D3, "C", 2), (8, D1, "h", 2)])
    assert delta.rows() == [(1, D1, "a", 1), (2, D1, "b", 1), (3, D3, "C", 2), (4, D2, "d", 1), (5, D3, "e", 1),
                            (8, D1, "h", 2)]
    assert result.details["ingest/delta_operation"] == "MERGE"
    metrics = result.details["ingest/delta_operation_metrics"]
    assert isinstance(metrics, dict)
    assert (metrics["num_target_rows_updated"], metrics["num_target_rows_inserted"]) == (1, 1)


def test_a_window_replace_keeps_every_row_outside_the_window(delta: Delta):
    delta.load(WriteMode("append"), BASE)
    window = RowFilter.half_open("day", D2, D3)

    result = delta.load(WriteMode("replace", window=window), [(30, D2, "x", 2), (31, D2, "y", 2)])

    assert delta.rows() == [(1, D1, "a", 1), (2, D1, "b", 1), (5, D3, "e", 1), (30, D2, "x", 2), (31, D2, "y", 2)]
    assert counts(result) == dict(written=2, replaced=2, deleted=0, before=5, after=5, window=2)
    assert delta.table().history(1)[0]["operationParameters"]["mode"] == "Overwrite"


def test_staged_rows_outside_the_window_fail_before_the_commit(delta: Delta):
    delta.load(WriteMode("append"), BASE)
    with pytest.raises(StagedRowsDoNotFit, match="1 staged rows lie outside the partition's window"):
        delta.load(WriteMode("replace", window=RowFilter.half_open("day", D2, D3)), [(30, D2, "x", 2), (31, D1, "y", 2)])
    assert delta.version() == 0
    assert delta.rows() == BASE


def test_merge_with_delete_missing_of_a_key_bucket(delta: Delta):
    delta.load(WriteMode("append"), BASE)
    # Odd ids are the bucket: 3 stays (updated), 1 and 5 are gone from the load, 7 is new; even ids stay.
    result = delta.load(WriteMode("merge", keys=KEYS, delete_missing=True, window=KeyBucket("id", 2, 1)),
                        [(3, D2, "C", 2), (7, D3, "g", 2)])
    assert delta.rows() == [(2, D1, "b", 1), (3, D2, "C", 2), (4, D2, "d", 1), (7, D3, "g", 2)]
    assert counts(result) == dict(written=2, replaced=1, deleted=2, before=5, after=4, window=2)


WITH_EXTRA = SCHEMA.append(pa.field("extra", pa.string()))


@pytest.mark.parametrize("kind", ["append", "upsert", "replace a window"])
def test_an_added_column_is_null_in_the_old_rows(delta: Delta, kind: str):
    delta.load(WriteMode("append"), BASE)
    added = TableLayout(table=WITH_EXTRA, staged=WITH_EXTRA, added=("extra",))
    mode = {"append": WriteMode("append"), "upsert": WriteMode("upsert", keys=KEYS),
            "replace a window": WriteMode("replace", window=RowFilter.half_open("day", D3, date(2024, 1, 4)))}[kind]

    delta.load(mode, [(5, D3, "E", 2, "x")], added)

    assert delta.store.current_schema(SPEC) == WITH_EXTRA
    old = [(*row, None) for row in BASE[:4]]
    assert delta.rows() == _sorted([*old, (5, D3, "e", 1, None), (5, D3, "E", 2, "x")] if kind == "append"
                                   else [*old, (5, D3, "E", 2, "x")])
    assert delta.version() == 1


def test_a_load_without_a_column_writes_it_as_null(delta: Delta):
    delta.load(WriteMode("append"), [(*row, "x") for row in BASE], schema=WITH_EXTRA)
    delta.load(WriteMode("upsert", keys=KEYS), [(1, D1, "A", 2)], TableLayout(table=WITH_EXTRA, staged=SCHEMA))
    assert delta.rows()[0] == (1, D1, "A", 2, None)
    assert delta.rows()[1] == (2, D1, "b", 1, "x")


NARROW = pa.schema([("id", pa.int64()), ("n", pa.int32()), ("amount", pa.decimal128(10, 2))])
WIDE = pa.schema([("id", pa.int64()), ("n", pa.int64()), ("amount", pa.decimal128(12, 2))])


@pytest.mark.parametrize("mode", [WriteMode("append"), WriteMode("upsert", keys=("id",)),
                                  WriteMode("replace", window=KeyBucket("id", 2, 1))], ids=lambda m: m.kind)
def test_widened_columns_rewrite_the_table_in_one_commit(delta: Delta, mode: WriteMode):
    delta.load(WriteMode("append"), [(1, 7, Decimal("12345678.90")), (2, 8, Decimal("0.01"))], schema=NARROW)
    widened = TableLayout(table=WIDE, staged=WIDE, widened=("n", "amount"))

    result = delta.load(mode, [(1, 2**40, Decimal("9999999999.99"))], widened)

    assert delta.store.current_schema(SPEC) == WIDE
    kept = [(2, 8, Decimal("0.01"))]
    expected = {"append": [(1, 7, Decimal("12345678.90")), (1, 2**40, Decimal("9999999999.99")), *kept],
                "upsert": [(1, 2**40, Decimal("9999999999.99")), *kept],
                "replace": [(1, 2**40, Decimal("9999999999.99")), *kept]}[mode.kind]
    assert delta.rows() == expected
    assert result.rows_after == result.expected_rows_after == len(expected)
    assert delta.version() == 1


def test_appends_and_replaces_commit_the_staged_files_as_they_are(delta: Delta):
    delta.load(WriteMode("append"), BASE)
    with delta.store.writer(SPEC, WriteMode("replace"), TableLayout.new(SCHEMA), "adopted", QualityRequest()) as w:
        w.write(table_of([(9, D1, "z", 2)]).to_batches()[0])
        w.finish_staging()
        result = w.commit()
    # The staged file itself is the table's one file now: moved in, not encoded again.
    assert [Path(uri).name for uri in delta.table().file_uris()] == ["part-adopted-00000.parquet"]
    assert delta.table().history(1)[0]["operationParameters"]["mode"] == "Overwrite"
    assert counts(result) == dict(written=1, replaced=5, deleted=0, before=5, after=1, window=None)
    assert delta.table().count() == 1  # the row count is in the commit's file statistics
    assert pl.read_delta(delta.uri).rows() == [(9, D1, "z", 2)]


def test_a_whole_table_replace_takes_the_new_columns(delta: Delta):
    delta.load(WriteMode("append"), BASE)
    other = pa.schema([("id", pa.int64()), ("label", pa.string())])
    result = delta.load(WriteMode("replace"), [(1, "one")], schema=other)
    assert delta.store.current_schema(SPEC) == other
    assert delta.rows() == [(1, "one")]
    assert counts(result) == dict(written=1, replaced=5, deleted=0, before=5, after=1, window=None)


def test_a_failure_before_the_commit_leaves_the_version_unchanged(delta: Delta):
    delta.load(WriteMode("append"), BASE)
    with pytest.raises(RuntimeError, match="the source broke"):
        with delta.store.writer(SPEC, WriteMode("replace"), TableLayout.new(SCHEMA), "broken", QualityRequest()) as w:
            w.write(table_of([(9, D1, "z", 2)]).to_batches()[0])
            w.finish_staging()
            raise RuntimeError("the source broke")
    assert delta.version() == 0
    assert delta.rows() == BASE
    # Nothing staged is left behind.
    assert not any((delta.root / "_ingest" / "staging" / "shop" / "t").iterdir())


@pytest.mark.parametrize("mode", [WriteMode("upsert", keys=KEYS), WriteMode("replace", window=KeyBucket("id", 2, 0))],
                         ids=lambda m: m.kind)
def test_a_failure_half_way_through_the_commit_leaves_the_version_unchanged(delta: Delta, mode: WriteMode,
                                                                         monkeypatch: pytest.MonkeyPatch):
    delta.load(WriteMode("append"), BASE)
    many = pa.table({"id": pa.array(range(10, 600_010, 2), pa.int64()), "day": pa.array([D1] * 300_000),
                     "name": pa.array(["n"] * 300_000), "version": pa.array([2] * 300_000, pa.int64())})
    converted = []

    def second_batch_breaks(batch, schema, label):
        converted.append(batch.num_rows)
        if len(converted) == 2:  # delta-rs has written the first row group's data file by now
            raise OSError("disk gone")
        return batch

    monkeypatch.setattr("ingest_assets.stores.delta.to_storage", second_batch_breaks)
    with pytest.raises(Exception, match="disk gone"):
        with delta.store.writer(SPEC, mode, TableLayout.new(SCHEMA), "half", QualityRequest()) as writer:
            for batch in many.to_batches(max_chunksize=100_000):
                writer.write(batch)
            writer.finish_staging()
            writer.resolve_duplicate_keys()
            writer.commit()
    assert len(converted) == 2
    assert delta.version() == 0
    assert delta.rows() == BASE


def test_another_writers_commit_in_between_is_a_transient_conflict(delta: Delta):
    delta.load(WriteMode("append"), BASE)
    with delta.store.writer(SPEC, WriteMode("merge", keys=KEYS, delete_missing=True), TableLayout.new(SCHEMA),
                            "late", QualityRequest()) as writer:
        writer.write(table_of([(1, D1, "A", 2)]).to_batches()[0])
        writer.finish_staging()
        # delta-rs reads the table when the MERGE runs; another writer commits during it, after that read.
        real_merge = DeltaTable.merge

        def merge_then_someone_else_commits(self, *args, **kwargs):
            merger = real_merge(self, *args, **kwargs)
            write_deltalake(delta.uri, table_of([(6, D3, "f", 9)]), mode="overwrite", predicate='"id" = 6')
            return merger

        DeltaTable.merge = merge_then_someone_else_commits  # type: ignore[method-assign]
        try:
            with pytest.raises(TableCommitConflict, match="another writer committed") as raised:
                writer.commit()
        finally:
            DeltaTable.merge = real_merge  # type: ignore[method-assign]
    assert isinstance(raised.value, TransientError)
    assert delta.version() == 1  # the other writer's commit, not this load's
    assert delta.rows() == [*BASE, (6, D3, "f", 9)]


def test_the_load_record_is_committed_with_the_rows(delta: Delta):
    assert delta.store.last_load(SPEC) is None
    delta.load(WriteMode("append"), BASE)
    assert delta.store.last_load(SPEC) is None  # a load without a record (tests, plugins' runtimes)
    record = LoadRecord("run-1", None)
    with delta.store.writer(SPEC, WriteMode("append"), TableLayout.new(SCHEMA), "rec", QualityRequest(), record) as w:
        w.write(table_of([(6, D3, "f", 2)]).to_batches()[0])
        w.finish_staging()
        w.commit()
    assert delta.table().history(1)[0]["ingest_load_record"] == record.to_json()
    # Another writer's commit after it (an OPTIMIZE, a notebook) does not hide it.
    write_deltalake(delta.uri, table_of([(7, D3, "g", 2)]), mode="append")
    assert delta.store.last_load(SPEC) == record


def test_quality_is_measured_on_the_committed_version(delta: Delta):
    quality = QualityRequest(not_null=("name",), unique_sets=(("id",), ("day",)))
    result = delta.load(WriteMode("append"), [*BASE, (6, D3, None, 1)], quality=quality)
    assert result.null_counts == {"name": 1}
    assert result.duplicate_counts == {("id",): 0, ("day",): 3}


def test_types_delta_cannot_hold_fail_before_anything_is_written(delta: Delta):
    schema = pa.schema([("id", pa.int64()), ("at", pa.time64("us"))])
    with pytest.raises(ArrowTypeUnwritable, match="'at' has the Arrow type time64"):
        delta.load(WriteMode("append"), [(1, None)], schema=schema)
    assert not delta.store.exists(SPEC)


def test_unsigned_and_nanosecond_columns_keep_their_values(delta: Delta):
    schema = pa.schema([("small", pa.uint8()), ("big", pa.uint64()), ("at", pa.timestamp("ns", "Europe/Paris"))])
    at = datetime(2024, 1, 1, 12, tzinfo=UTC)
    delta.load(WriteMode("append"), [(255, 2**64 - 1, at)], schema=schema)
    assert delta.store.current_schema(SPEC) == pa.schema(
        [("small", pa.int16()), ("big", pa.decimal128(20, 0)), ("at", pa.timestamp("us", "UTC"))])
    assert delta.rows() == [(255, Decimal(2**64 - 1), at)]


def test_the_table_reads_back_equal_in_duckdb_polars_and_read_back(delta: Delta):
    loaded = [*BASE, (6, D3, "f", 2)]
    delta.load(WriteMode("replace", keys=KEYS), loaded)
    expected = table_of(loaded)

    # DuckDB over the committed version, through deltalake's Arrow dataset.
    connection = duckdb.connect()
    connection.register("committed", delta.table().to_pyarrow_dataset())
    assert connection.sql("SELECT * FROM committed ORDER BY id").fetchall() == loaded
    # polars' own Delta reader.
    assert pl.read_delta(delta.uri).sort("id").to_arrow().cast(SCHEMA).equals(expected)
    # What derived assets read: the current version, streamed.
    source = delta.store.read_back(SPEC)
    assert source is not None
    with source.open() as reader:
        assert reader.read_all().sort_by("id").cast(SCHEMA).equals(expected)


def test_window_predicates_are_the_windows_rows():
    assert window_predicate(RowFilter.half_open("day", D2, D3)) == "(\"day\" >= '2024-01-02' AND \"day\" < '2024-01-03')"
    assert window_predicate(KeyBucket("id", 4, 1), "t") == '(((t."id" % 4) + 4) % 4) = 1'
    assert window_predicate(RowFilter.closed("v", None, None)) is None
    assert literal("it's") == "'it''s'"
    assert literal(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)) == "'2024-01-02 03:04:05+00:00'"
    assert literal(Decimal("1.50")) == "'1.50'"


# ---- through Dagster -------------------------------------------------------------------------


def _delta_rows(project: Project, columns: str) -> list[tuple]:
    dataset = DeltaTable(str(project.root / "lake" / "sales" / "orders")).to_pyarrow_dataset()
    connection = duckdb.connect()
    connection.register("orders", dataset)
    return _sorted(connection.sql(f"SELECT {columns} FROM orders").fetchall())


DELTA = Destination("lake", "  lake: {type: delta, path: lake}\n", _delta_rows)


def test_a_project_whose_store_is_delta_materializes_every_load(project: Project):
    sales_project(project, DELTA, "run_type: full_drop\n", "write_strategy: merge\nwrite_key: [id]\ndelete_missing: true\n")
    first = project.materialize("sales/orders")
    assert destination(project, DELTA) == source_rows(project)
    assert check_result(first, checks.ROWS_READ_EQUAL_WRITTEN).passed

    run_source_sql(project, "UPDATE orders SET amount = 999.5 WHERE id = 3", "DELETE FROM orders WHERE id IN (5, 6)")
    second = project.materialize("sales/orders")

    assert destination(project, DELTA) == source_rows(project)
    assert (3, "customer-3", Decimal("999.50")) in destination(project, DELTA)
    metadata = project.latest_metadata("sales/orders")
    assert (metadata["ingest/rows_written"], metadata["ingest/rows_replaced"], metadata["ingest/rows_deleted"],
            metadata["dagster/row_count"]) == (18, 18, 2, 18)
    assert metadata["ingest/delta_version"] == 1
    assert metadata["ingest/delta_operation"] == "MERGE"
    assert str(metadata["ingest/destination"]).endswith("lake/sales/orders")
    assert check_result(second, checks.DESTINATION_ROW_COUNT).passed
    assert pl.read_delta(str(project.root / "lake/sales/orders")).height == 18


EVENTS_PROJECT = {
    "flows/ingest.yml": "connections:\n  files: {type: parquet, path: source}\n  lake: {type: delta, path: lake}\n",
    "flows/web/flow.yml": yaml_text("""
        home: files
        store: lake
        entities:
          - name: events
            home: {path: events}
            keys: [event_id]
            partition: {column: happened_at, granularity: daily, start: 2026-03-01}
        """),
}


def test_reloading_a_partition_replaces_only_its_window_in_one_commit(project: Project):
    project.write(EVENTS_PROJECT)
    events = project.root / "source/events"
    for day in range(2):
        write_events_parquet(events / f"{day}.parquet", datetime(2026, 3, 1 + day), 24, day * 100)
    project.materialize("web/events", partition_key="2026-03-01")
    project.materialize("web/events", partition_key="2026-03-02")
    write_events_parquet(events / "1.parquet", datetime(2026, 3, 2), 12, 100)  # the source corrects day 2

    result = project.materialize("web/events", partition_key="2026-03-02")

    table = DeltaTable(str(project.root / "lake/web/events"))
    assert table.version() == 2
    rows = pl.read_delta(str(project.root / "lake/web/events")).sort("event_id")
    assert rows["event_id"].to_list() == [*range(24), *range(100, 112)]
    metadata = project.latest_metadata("web/events")
    assert (metadata["ingest/rows_replaced"], metadata["dagster/partition_row_count"],
            metadata["dagster/row_count"], metadata["ingest/delta_version"]) == (24, 12, 36, 2)
    assert check_result(result, checks.DESTINATION_ROW_COUNT).passed
    assert check_result(result, checks.KEYS_NOT_NULL_UNIQUE).passed


def test_a_derived_asset_reads_its_input_from_a_delta_table_and_writes_one(project: Project):
    create_shop(project.root)
    connections = CONNECTIONS + "  delta_lake: {type: delta, path: delta_lake}\n"
    project.write(shop_project(orders_store="delta_lake", revenue_store="delta_lake", connections=connections))

    result = project.materialize("*")

    revenue = DeltaTable(str(project.root / "delta_lake/reports/revenue")).to_pyarrow_table()
    assert revenue_rows([tuple(row.values()) for row in revenue.to_pylist()]) == expected_revenue(project.root)
    outcomes = check_results(result, "reports/revenue")
    assert len(outcomes) == 7 and all(outcomes.values())


def test_a_derived_asset_reads_the_delta_version_its_input_recorded(project: Project):
    """Another writer's commit after the input's materialization is not what Dagster says the input
    holds: the derived asset reads the recorded version, until the input is materialized again."""
    create_shop(project.root)
    connections = CONNECTIONS + "  delta_lake: {type: delta, path: delta_lake}\n"
    project.write(shop_project(orders_store="delta_lake", connections=connections))
    project.materialize("*")
    orders_uri = str(project.root / "delta_lake/sales/orders")
    recorded = project.latest_metadata("sales/orders")["ingest/delta_version"]
    orders = DeltaTable(orders_uri).to_pyarrow_table()
    counted = orders.slice(int(pc.index(orders["amount"], pc.max(orders["amount"])).as_py()), 1)  # in the revenue
    foreign = counted.set_column(counted.schema.get_field_index("id"), "id",
                                 pa.array([10_000], counted.schema.field("id").type))
    write_deltalake(orders_uri, foreign, mode="append")  # a writer outside Dagster: version recorded + 1

    project.materialize("reports/revenue")
    assert _revenue(project) == expected_revenue(project.root)  # the foreign row is not read
    assert DeltaTable(orders_uri).version() == recorded + 1

    project.materialize("sales/orders")  # the input again: its new version is recorded, and read
    project.materialize("reports/revenue")
    assert _revenue(project) == expected_revenue(project.root)  # a full_drop load replaced the foreign row
    assert project.latest_metadata("sales/orders")["ingest/delta_version"] == recorded + 2


def _revenue(project: Project) -> list[tuple]:
    return revenue_rows(duckdb_rows(project.root / "warehouse.duckdb", "SELECT * FROM reports.revenue"))


def test_a_folder_that_is_not_a_delta_table_is_not_written_over(delta: Delta):
    folder = Path(delta.uri)
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(DestinationOccupied, match="is not a table written by ingest_assets"):
        delta.load(WriteMode("append"), BASE)
    assert not delta.store.exists(SPEC)
    # Data files of a first load whose commit failed are no table yet: the next first load goes ahead.
    (folder / "notes.txt").unlink()
    (folder / "part-crashed-00000.parquet").write_bytes(b"")
    delta.load(WriteMode("append"), BASE)
    assert delta.rows() == BASE


UTC_DAY = datetime(2026, 3, 2, tzinfo=UTC)
MIXED = pa.table({
    "id": pa.array([-3, -2, 1, 2, 5, None], pa.int64()),
    "at": pa.array([datetime(2026, 3, 1, 23, tzinfo=UTC), datetime(2026, 3, 2, 1, tzinfo=UTC),
                    datetime(2026, 3, 2, 23, 59, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC), None, UTC_DAY],
                   pa.timestamp("us", "UTC")),
    "wall": pa.array([datetime(2026, 3, 1, 23), datetime(2026, 3, 2), None, datetime(2026, 3, 3), datetime(2026, 3, 2, 5),
                      datetime(2026, 3, 2, 6)], pa.timestamp("us")),
    "amount": pa.array([Decimal("9.99"), Decimal("10.00"), Decimal("10.01"), None, Decimal("-1"), Decimal("20")],
                       pa.decimal128(12, 2)),
    "name": pa.array(["a'b", "b", "c", "it's", None, "z"]),
})
WINDOWS = {
    "timezone-aware, naive bounds": RowFilter.half_open("at", datetime(2026, 3, 2), datetime(2026, 3, 3)),
    "timezone-aware, aware bounds": RowFilter.closed("at", UTC_DAY, datetime(2026, 3, 3, tzinfo=UTC)),
    "naive wall time": RowFilter.past("wall", datetime(2026, 3, 1, 23), datetime(2026, 3, 2, 5)),
    "decimal": RowFilter.closed("amount", Decimal("10.00"), None, include_nulls=True),
    "text with quotes": RowFilter.half_open("name", "a'b", "it's"),
    "negative keys in a bucket": KeyBucket("id", 3, 1),
}


@pytest.mark.parametrize("window", WINDOWS.values(), ids=WINDOWS.keys())
def test_delta_rs_selects_a_windows_rows_exactly_as_duckdb_does(tmp_path: Path, window):
    write_deltalake(str(tmp_path / "t"), MIXED)
    table = DeltaTable(str(tmp_path / "t"))
    datafusion = pa.table(QueryBuilder().register("t", table).execute(
        f"SELECT id, name FROM t WHERE {window_predicate(window)} ORDER BY name").read_all())
    connection = duckdb.connect()
    connection.register("t", table.to_pyarrow_dataset())
    sql, params = duckdb_text(condition(window))
    expected = connection.execute(f"SELECT id, name FROM t WHERE {sql} ORDER BY name", params).fetchall()
    assert expected  # every window holds rows
    assert [tuple(row.values()) for row in datafusion.to_pylist()] == expected
