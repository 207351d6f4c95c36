"""SQL Server as a store: the T-SQL the store sends, compiled by SQLAlchemy's real `mssql+pyodbc`
dialect and asserted as exact text (no SQL Server can run here; the same statements run for real on
PostgreSQL in test_sql_stores.py, MERGE included), and a live round trip when INGEST_TEST_MSSQL_URL
is set (see test_mssql.py for its format)."""

from __future__ import annotations

import os
import uuid
from datetime import date
from decimal import Decimal

import pyarrow as pa
import pytest
import sqlalchemy as sa
from sqlalchemy.schema import CreateTable

from ingest_assets.connectors.mssql import MssqlResource
from ingest_assets.errors import TerminalError
from ingest_assets.plan.model import WriteSpec
from ingest_assets.plan.window import KeyBucket, RowFilter
from ingest_assets.stores.base import QualityRequest, TableLayout, WriteMode
from ingest_assets.stores.sql import ddl, statements
from ingest_assets.stores.sql.dialects import traits_of
from ingest_assets.stores.sql.names import TableName, table_name
from ingest_assets.stores.sql.store import SqlStore

LIVE_URL = os.environ.get("INGEST_TEST_MSSQL_URL")
TRAITS = traits_of("mssql")
SCHEMA = pa.schema([("id", pa.int64()), ("code", pa.string()), ("amount", pa.decimal128(12, 2)),
                    ("note", pa.large_string()), ("day", pa.date32())])


@pytest.fixture
def dialect(monkeypatch: pytest.MonkeyPatch) -> sa.Dialect:
    """The dialect of a real SQL Server resource's engine (creating it does not connect)."""
    monkeypatch.setenv("MSSQL_PASSWORD", "not-used")
    resource = MssqlResource(host="sql.example.com", database="shop", user="loader", password="${MSSQL_PASSWORD}")
    return resource.bulk_engine().dialect


def tsql(dialect: sa.Dialect, clause: sa.ClauseElement) -> str:
    return " ".join(str(clause.compile(dialect=dialect)).split())


def table(dialect: sa.Dialect, name: str = "orders", keys=("id", "code"), primary_key: bool = True) -> sa.Table:
    return ddl.table_object(TableName("sales", name), SCHEMA, dialect, TRAITS, keys, primary_key)


def test_every_arrow_type_maps_to_its_sql_server_type(dialect):
    schema = pa.schema([
        ("i8", pa.int8()), ("i16", pa.int16()), ("i32", pa.int32()), ("i64", pa.int64()), ("f32", pa.float32()),
        ("f64", pa.float64()), ("dec", pa.decimal128(38, 6)), ("flag", pa.bool_()), ("text", pa.string()),
        ("big_text", pa.large_string()), ("key_text", pa.string()), ("bytes", pa.binary()), ("token", pa.uuid()),
        ("day", pa.date32()), ("at", pa.timestamp("us")), ("at_zoned", pa.timestamp("us", tz="UTC")),
        ("clock", pa.time64("us")),
    ])
    created = ddl.table_object(TableName("dbo", "t"), schema, dialect, TRAITS, ("key_text",), primary_key=True)

    assert tsql(dialect, CreateTable(created)) == (
        "CREATE TABLE dbo.t ( i8 SMALLINT NULL, i16 SMALLINT NULL, i32 INTEGER NULL, i64 BIGINT NULL, f32 REAL NULL, "
        "f64 DOUBLE PRECISION NULL, dec NUMERIC(38, 6) NULL, flag BIT NULL, text NVARCHAR(max) NULL, "
        "big_text NVARCHAR(max) NULL, key_text NVARCHAR(450) NOT NULL, bytes VARBINARY(max) NULL, "
        "token UNIQUEIDENTIFIER NULL, day DATE NULL, at DATETIME2(6) NULL, at_zoned DATETIMEOFFSET(6) NULL, "
        "clock TIME(6) NULL, PRIMARY KEY (key_text) )")


def test_a_decimal_wider_than_38_digits_is_refused(dialect):
    with pytest.raises(TerminalError) as error:
        ddl.table_object(TableName("dbo", "t"), pa.schema([("big", pa.decimal256(40, 2))]), dialect, TRAITS)

    assert str(error.value) == (
        "column 'big' is decimal256(40, 2), but mssql holds at most 38 decimal digits -> nothing was written; "
        "cast it in the entity's query to a decimal of at most 38 digits (or to text)")


def test_the_merge_statement_holds_the_target_and_writes_every_column(dialect):
    target = table(dialect)
    stage = table(dialect, "_ingest_stage_run_1", primary_key=False)
    staged = ["id", "code", "amount", "day"]  # `note` is not staged: NULL in the rows written

    [merge] = statements.upsert("merge", dialect, target, stage, staged, ("id", "code"), TRAITS.merge_target_hint)

    assert tsql(dialect, merge) == (
        "MERGE INTO sales.orders WITH (HOLDLOCK) AS ingest_target USING sales._ingest_stage_run_1 AS ingest_staged "
        "ON ingest_target.id = ingest_staged.id AND ingest_target.code = ingest_staged.code "
        "WHEN MATCHED THEN UPDATE SET amount = ingest_staged.amount, note = NULL, day = ingest_staged.day "
        "WHEN NOT MATCHED THEN INSERT (id, code, amount, day) "
        "VALUES (ingest_staged.id, ingest_staged.code, ingest_staged.amount, ingest_staged.day);")


def test_delete_missing_within_a_key_bucket(dialect):
    target = table(dialect)
    stage = table(dialect, "_ingest_stage_run_1", primary_key=False)
    window = statements.window_condition(KeyBucket("id", 4, 3), dialect, target)

    delete = statements.delete_missing(target, stage, ("id", "code"), window)

    assert tsql(dialect, delete) == (
        "DELETE FROM sales.orders WHERE (((id % ?) + ?) % ?) = ? AND NOT (EXISTS (SELECT * "
        "FROM sales._ingest_stage_run_1 WHERE sales.orders.id = sales._ingest_stage_run_1.id "
        "AND sales.orders.code = sales._ingest_stage_run_1.code))")
    assert delete.compile(dialect=dialect).params == {"ingest_1": 4, "ingest_2": 3}


def test_a_row_filter_window_binds_its_bounds(dialect):
    window = statements.window_condition(RowFilter.half_open("day", date(2026, 3, 1), date(2026, 3, 2)),
                                         dialect, table(dialect))

    assert tsql(dialect, statements.delete_window(table(dialect), window)) == (
        "DELETE FROM sales.orders WHERE (day >= ? AND day < ?)")


def test_evolution_restates_nullability_and_swaps_with_sp_rename(dialect):
    target = table(dialect)

    assert [tsql(dialect, s) for s in ddl.add_column_statements(dialect, target, ("note",), TRAITS)] == [
        "ALTER TABLE sales.orders ADD note NVARCHAR(max)"]
    assert [tsql(dialect, s) for s in ddl.widen_statements(dialect, target, {"amount": True, "id": False}, TRAITS)] == [
        "ALTER TABLE sales.orders ALTER COLUMN amount NUMERIC(12, 2) NULL",
        "ALTER TABLE sales.orders ALTER COLUMN id BIGINT NOT NULL"]
    assert TRAITS.swap == "sp_rename"


def test_identifiers_are_bracket_quoted():
    dialect = sa.create_engine("mssql+pyodbc://").dialect
    odd = ddl.table_object(TableName("my schema", "odd]name"), pa.schema([("a b", pa.int32())]), dialect, TRAITS)

    assert tsql(dialect, CreateTable(odd)) == "CREATE TABLE [my schema].[odd]]name] ( [a b] INTEGER NULL )"
    assert table_name("db.sales.orders", TRAITS) == TableName("db.sales", "orders")


# ---- live: a real SQL Server, when INGEST_TEST_MSSQL_URL is set -----------------------------

live = pytest.mark.skipif(not LIVE_URL, reason="set INGEST_TEST_MSSQL_URL to an ODBC connection string to run")


@live
def test_live_upsert_merge_and_replace(monkeypatch: pytest.MonkeyPatch):
    resource = MssqlResource(url="${INGEST_TEST_MSSQL_URL}")
    store = SqlStore(resource)
    target = WriteSpec(table=f"dbo.ingest_store_{uuid.uuid4().hex[:12]}")
    schema = pa.schema([("id", pa.int64()), ("name", pa.string()), ("amount", pa.decimal128(12, 2))])

    def commit(mode: WriteMode, rows: list[dict], token: str):
        with store.writer(target, mode, TableLayout.new(schema), token, QualityRequest()) as writer:
            writer.write(pa.RecordBatch.from_pylist(rows, schema=schema))
            writer.finish_staging()
            writer.resolve_duplicate_keys()
            return writer.commit()

    engine = resource.engine()
    try:
        commit(WriteMode("upsert", keys=("id",)), [{"id": 1, "name": "a", "amount": Decimal("1.50")},
                                                   {"id": 2, "name": "b" * 9000, "amount": None}], "r1")
        merged = commit(WriteMode("merge", keys=("id",), delete_missing=True),
                        [{"id": 2, "name": "B", "amount": Decimal("2.25")}, {"id": 3, "name": "c", "amount": None}], "r2")
        with engine.connect() as connection:
            rows = connection.execute(sa.text(f"SELECT id, name, amount FROM {target.table} ORDER BY id")).all()
        assert (merged.rows_replaced, merged.rows_deleted, merged.rows_after) == (1, 1, 2)
        assert [tuple(r) for r in rows] == [(2, "B", Decimal("2.25")), (3, "c", None)]
        replaced = commit(WriteMode("replace"), [{"id": 9, "name": "z", "amount": None}], "r3")
        assert (replaced.rows_replaced, replaced.rows_after) == (2, 1)
        assert store.current_schema(target) == schema
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f"DROP TABLE IF EXISTS {target.table}"))
        engine.dispose()
