"""Entity transforms (SQL over `records`, Python per batch) materialized through Dagster on real files.

Each result is compared row by row with the same computation done independently in Python on the
SQLite source.
"""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path

import pytest

from ingest_assets_tests.conftest import Project, create_orders_db, insert_orders, read_parquet_table, sqlite_rows

CONNECTIONS = """
    connections:
      shop: {type: sqlite, path: source/shop.sqlite}
      lake: {type: parquet, path: lake}
    """
FLOW = """
    home: shop
    store: lake
    run_type: full_drop
    """
SOURCE_ROWS = 60


@pytest.fixture
def shop(project: Project) -> Project:
    project.write({"flows/ingest.yml": CONNECTIONS, "flows/shop/flow.yml": FLOW})
    create_orders_db(project.root / "source/shop.sqlite", SOURCE_ROWS)
    return project


def source_orders(project: Project) -> list[tuple]:
    """(id, customer, amount, updated_at) of every source row, as SQLite returns them."""
    return sqlite_rows(project.root / "source/shop.sqlite", "SELECT id, customer, amount, updated_at FROM orders "
                                                            "ORDER BY id")


def lake_rows(project: Project, entity: str, columns: list[str]) -> list[tuple]:
    table = read_parquet_table(project.root / f"lake/shop/{entity}").sort_by("id")
    return list(zip(*(table.column(name).to_pylist() for name in columns), strict=False))


def write_python(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def failure_description(result) -> str:
    assert not result.success
    return result.get_step_failure_events()[0].step_failure_data.user_failure_data.description


def check_passed(result, name: str) -> dict:
    [evaluation] = [e for e in result.get_asset_check_evaluations() if e.check_name == name]
    assert evaluation.passed
    return {k: v.value for k, v in evaluation.metadata.items()}


# ---- SQL ----------------------------------------------------------------------------------------


def test_sql_with_params_filters_and_adds_a_computed_column(shop: Project):
    shop.write({"flows/shop/entities/orders.yml": """
        keys: [id]
        batch_size: 8
        transform:
          sql: |
            SELECT id, customer, amount * $factor AS amount_x3, upper(customer) || $suffix AS label
            FROM records
            WHERE customer <> $skipped
          params:
            factor: 3
            suffix: "-eu"
            skipped: customer-3
        """})

    result = shop.materialize("shop/orders")

    expected = [(i, c, a * 3, c.upper() + "-eu") for i, c, a, _ in source_orders(shop) if c != "customer-3"]
    assert lake_rows(shop, "orders", ["id", "customer", "amount_x3", "label"]) == expected
    metadata = shop.latest_metadata("shop/orders")
    assert metadata["ingest/rows_read"] == SOURCE_ROWS
    assert metadata["ingest/rows_transformed"] == len(expected) < SOURCE_ROWS
    assert metadata["ingest/rows_written"] == len(expected)
    assert metadata["ingest/transform"] == "sql transform at flows/shop/entities/orders.yml:4"
    assert check_passed(result, "rows_read_equal_written") == {
        "rows_read": SOURCE_ROWS, "rows_after_transform": len(expected), "rows_written": len(expected),
        "duplicate_key_rows_dropped": 0,
    }


def test_sql_file_next_to_the_yaml(shop: Project):
    shop.write({
        "flows/shop/entities/orders.yml": """
            transform:
              sql_file: sql/big_orders.sql
              params: {minimum: 40}
            """,
        "flows/shop/entities/sql/big_orders.sql": """
            -- orders of at least $minimum, with their customer's number
            SELECT id, CAST(split_part(customer, '-', 2) AS INTEGER) AS customer_number, amount
            FROM records
            WHERE amount >= $minimum;
            """,
    })

    shop.materialize("shop/orders")

    expected = [(i, int(c.split("-")[1]), a) for i, c, a, _ in source_orders(shop) if a >= 40]
    assert lake_rows(shop, "orders", ["id", "customer_number", "amount"]) == expected
    assert shop.latest_metadata("shop/orders")["ingest/transform"] == (
        "sql transform flows/shop/entities/sql/big_orders.sql")


def test_a_param_that_looks_like_sql_stays_a_literal(shop: Project):
    injection = "customer-1' OR '1'='1"
    shop.write({"flows/shop/entities/orders.yml": f"""
        transform:
          sql: SELECT id, customer, $note AS note FROM records WHERE customer = $name
          params:
            name: "{injection}"
            note: "'); DROP TABLE records; --"
        """})
    shop.materialize("shop/orders")
    assert lake_rows(shop, "orders", ["id"]) == []  # formatted into the SQL, the OR would keep every row

    shop.write({"flows/shop/entities/orders.yml": """
        transform:
          sql: SELECT id, customer, $note AS note FROM records WHERE customer = $name
          params:
            name: customer-1
            note: "'); DROP TABLE records; --"
        """})
    shop.materialize("shop/orders")
    expected = [(i, c, "'); DROP TABLE records; --") for i, c, _, _ in source_orders(shop) if c == "customer-1"]
    assert lake_rows(shop, "orders", ["id", "customer", "note"]) == expected


def test_steps_run_in_order(shop: Project):
    shop.write({
        "flows/shop/entities/orders.yml": """
            transform:
              steps:
                - sql: SELECT id, amount FROM records WHERE id % $every = 0
                  params: {every: 2}
                - python: double.py:double_amount
                - sql: SELECT id, amount + $plus AS amount FROM records
                  params: {plus: 1}
            """,
        "flows/shop/entities/double.py": """
            import pyarrow as pa
            import pyarrow.compute as pc

            def double_amount(batch: pa.RecordBatch) -> pa.RecordBatch:
                return batch.set_column(1, "amount", pc.multiply(batch.column("amount"), 2))
            """,
    })
    shop.materialize("shop/orders")
    expected = [(i, a * 2 + 1) for i, _, a, _ in source_orders(shop) if i % 2 == 0]
    assert lake_rows(shop, "orders", ["id", "amount"]) == expected


# ---- Python -------------------------------------------------------------------------------------


def test_python_module_function_with_pyarrow(shop: Project, monkeypatch: pytest.MonkeyPatch):
    write_python(shop.root / "pkg_arrow_transforms/cleaning.py", """
        import pyarrow as pa
        import pyarrow.compute as pc


        def add_tax(batch: pa.RecordBatch, rate: float, currency: str) -> pa.Table:
            table = pa.Table.from_batches([batch])
            taxed = pc.multiply(table.column("amount"), rate)
            return table.append_column("with_tax", taxed).append_column(
                "currency", pa.array([currency] * table.num_rows, pa.string()))
        """)
    (shop.root / "pkg_arrow_transforms/__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(shop.root))
    shop.write({"flows/shop/entities/orders.yml": """
        batch_size: 9
        transform:
          python: pkg_arrow_transforms.cleaning:add_tax
          params: {rate: 2, currency: EUR}
        """})

    shop.materialize("shop/orders")

    expected = [(i, a, a * 2, "EUR") for i, _, a, _ in source_orders(shop)]
    assert lake_rows(shop, "orders", ["id", "amount", "with_tax", "currency"]) == expected


def test_python_file_function_with_polars(shop: Project):
    shop.write({
        "flows/shop/entities/orders.yml": """
            batch_size: 11
            transform:
              python: ../transforms/frames.py:big_spenders
              params: {threshold: 30}
            """,
        "flows/shop/transforms/frames.py": """
            import polars as pl


            def big_spenders(frame: pl.DataFrame, threshold: int) -> pl.DataFrame:
                return (frame.filter(pl.col("amount") > threshold)
                        .with_columns(pl.col("customer").str.to_uppercase().alias("customer"),
                                      (pl.col("id") * 10).alias("id_x10")))
            """,
    })

    shop.materialize("shop/orders")

    expected = [(i, c.upper(), a, i * 10) for i, c, a, _ in source_orders(shop) if a > 30]
    assert lake_rows(shop, "orders", ["id", "customer", "amount", "id_x10"]) == expected
    metadata = shop.latest_metadata("shop/orders")
    assert metadata["ingest/transform"] == "python transform flows/shop/transforms/frames.py:big_spenders"
    assert (metadata["ingest/rows_read"], metadata["ingest/rows_transformed"]) == (SOURCE_ROWS, len(expected))


def test_python_with_a_duckdb_relation(shop: Project):
    shop.write({
        "flows/shop/entities/orders.yml": """
            transform:
              python: relations.py:first_customers
            """,
        "flows/shop/entities/relations.py": """
            import duckdb


            def first_customers(records: duckdb.DuckDBPyRelation) -> duckdb.DuckDBPyRelation:
                return records.filter("customer IN ('customer-1', 'customer-2')").select("id, customer")
            """,
    })
    shop.materialize("shop/orders")
    expected = [(i, c) for i, c, _, _ in source_orders(shop) if c in ("customer-1", "customer-2")]
    assert lake_rows(shop, "orders", ["id", "customer"]) == expected


@pytest.mark.parametrize("transform", [
    "sql: SELECT id, customer, amount * 2 AS doubled FROM records WHERE id % 3 <> 0",
    "python: per_batch.py:doubled",
])
def test_many_small_batches_give_the_whole_table_result(shop: Project, transform: str):
    entity = f"""
        transform:
          {transform}
        """
    shop.write({
        "flows/shop/entities/small.yml": "home: {table: orders}\nbatch_size: 4\n" + textwrap.dedent(entity),
        "flows/shop/entities/whole.yml": "home: {table: orders}\nbatch_size: 100000\n" + textwrap.dedent(entity),
        "flows/shop/entities/per_batch.py": """
            import pyarrow as pa
            import pyarrow.compute as pc


            def doubled(batch: pa.RecordBatch) -> pa.RecordBatch:
                kept = batch.filter(pa.array([i % 3 != 0 for i in batch.column("id").to_pylist()], pa.bool_()))
                return pa.RecordBatch.from_arrays(
                    [kept.column("id"), kept.column("customer"), pc.multiply(kept.column("amount"), 2)],
                    names=["id", "customer", "doubled"])
            """,
    })

    shop.materialize("shop/small")
    shop.materialize("shop/whole")

    expected = [(i, c, a * 2) for i, c, a, _ in source_orders(shop) if i % 3 != 0]
    assert lake_rows(shop, "small", ["id", "customer", "doubled"]) == expected
    assert lake_rows(shop, "whole", ["id", "customer", "doubled"]) == expected
    small = read_parquet_table(shop.root / "lake/shop/small").sort_by("id")
    assert small.schema == read_parquet_table(shop.root / "lake/shop/whole").sort_by("id").schema
    assert shop.latest_metadata("shop/small")["ingest/rows_written"] == len(expected)


# ---- errors -------------------------------------------------------------------------------------


def test_bad_sql_names_the_file_and_duckdbs_line(shop: Project):
    shop.write({
        "flows/shop/entities/orders.yml": "transform: {sql_file: broken.sql}\n",
        "flows/shop/entities/broken.sql": "SELECT id,\n       amount\nFROM records\nWHER amount > 3\n",
    })
    description = failure_description(shop.materialize("shop/orders", raise_on_error=False))
    assert description == (
        "shop.orders (declared at flows/shop/entities/orders.yml:1): sql transform "
        "flows/shop/entities/broken.sql failed: Parser Error: syntax error at or near \"amount\"\n\n"
        "LINE 4: WHER amount > 3\n             ^^^^^^ -> fix the query; nothing was committed"
    )
    assert not (shop.root / "lake/shop/orders").exists()


def test_sql_failing_mid_stream_names_the_query(shop: Project):
    shop.write({"flows/shop/entities/orders.yml": """
        batch_size: 5
        transform:
          sql: SELECT id, CAST(CASE WHEN id = 30 THEN 'not a number' ELSE '1' END AS INTEGER) AS n FROM records
        """})
    description = failure_description(shop.materialize("shop/orders", raise_on_error=False))
    assert description.startswith(
        "shop.orders (declared at flows/shop/entities/orders.yml:1): sql transform at "
        "flows/shop/entities/orders.yml:3 failed: Conversion Error: Could not convert string 'not a number' to INT32")
    assert description.endswith("-> fix the query; nothing was committed")


def test_python_exception_names_the_users_line(shop: Project):
    shop.write({
        "flows/shop/entities/orders.yml": "batch_size: 10\ntransform: {python: failing.py:ratio}\n",
        "flows/shop/entities/failing.py": """
            import pyarrow as pa


            def ratio(batch: pa.RecordBatch) -> pa.RecordBatch:
                ids = batch.column("id").to_pylist()
                return pa.RecordBatch.from_pydict(
                    {"id": pa.array(ids, pa.int64()), "r": pa.array([1 / (i - 25) for i in ids], pa.float64())})
            """,
    })
    description = failure_description(shop.materialize("shop/orders", raise_on_error=False))
    assert description == (
        "shop.orders (declared at flows/shop/entities/orders.yml:1): python transform "
        "flows/shop/entities/failing.py:ratio failed on batch 3 at flows/shop/entities/failing.py:7: "
        "ZeroDivisionError: division by zero -> fix the function; nothing was committed"
    )


def test_python_schema_drift_between_batches(shop: Project):
    shop.write({
        "flows/shop/entities/orders.yml": "batch_size: 10\ntransform: {python: drifting.py:label}\n",
        "flows/shop/entities/drifting.py": """
            import pyarrow as pa


            def label(batch: pa.RecordBatch) -> pa.RecordBatch:
                ids = batch.column("id").to_pylist()
                labels = [str(i) if i <= 20 else i for i in ids]  # numbers after id 20
                return pa.RecordBatch.from_pydict({"id": pa.array(ids, pa.int64()), "label": labels})
            """,
    })
    description = failure_description(shop.materialize("shop/orders", raise_on_error=False))
    assert description == (
        "shop.orders (declared at flows/shop/entities/orders.yml:1): python transform "
        "flows/shop/entities/drifting.py:label returned other columns for batch 1 than for an empty batch: "
        "label is string, was null -> return the same columns and types for every batch (give computed columns "
        "an explicit type); nothing was committed"
    )


def test_python_returning_something_else(shop: Project):
    shop.write({
        "flows/shop/entities/orders.yml": "transform: {python: rows.py:as_rows}\n",
        "flows/shop/entities/rows.py": "def as_rows(batch):\n    return batch.to_pylist()\n",
    })
    description = failure_description(shop.materialize("shop/orders", raise_on_error=False))
    assert description == (
        "shop.orders (declared at flows/shop/entities/orders.yml:1): python transform flows/shop/entities/rows.py:"
        "as_rows returned list for an empty batch (to learn the output's columns) -> return a pyarrow RecordBatch "
        "or Table, a polars DataFrame or a DuckDB relation; nothing was committed"
    )


def test_keys_must_be_in_the_transforms_output(shop: Project):
    shop.write({"flows/shop/entities/orders.yml": """
        keys: [id]
        transform:
          sql: SELECT customer, amount FROM records
        """})
    description = failure_description(shop.materialize("shop/orders", raise_on_error=False))
    assert description == (
        "shop.orders (declared at flows/shop/entities/orders.yml:1): columns ['id'] named in the entity's settings "
        "are not in the transform's output -> keep or compute them in the transform (its columns: customer, amount)"
    )


def test_failing_transform_leaves_destination_and_watermark_unchanged(shop: Project):
    shop.write({
        "flows/shop/entities/orders.yml": """
            run_type: incremental
            keys: [id]
            watermark: updated_at
            batch_size: 5
            transform:
              python: guarded.py:checked
              params: {limit: 1000}
            """,
        "flows/shop/entities/guarded.py": """
            import pyarrow as pa
            import pyarrow.compute as pc


            def checked(batch: pa.RecordBatch, limit: int) -> pa.RecordBatch:
                if batch.num_rows and pc.max(batch.column("id")).as_py() > limit:
                    raise ValueError(f"id above {limit}")
                return batch.append_column("doubled", pc.multiply(batch.column("amount"), 2))
            """,
    })
    shop.materialize("shop/orders")
    folder = shop.root / "lake/shop/orders"
    files_before = {path.name: path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}
    metadata_before = shop.latest_metadata("shop/orders")
    assert lake_rows(shop, "orders", ["id", "doubled"]) == [(i, a * 2) for i, _, a, _ in source_orders(shop)]

    # Run 2 reads 20 new rows in 4 batches; the third one fails after two were staged.
    with sqlite3.connect(shop.root / "source/shop.sqlite") as connection:
        insert_orders(connection, range(SOURCE_ROWS + 1, SOURCE_ROWS + 21))
    shop.write({"flows/shop/entities/orders.yml": """
        run_type: incremental
        keys: [id]
        watermark: updated_at
        batch_size: 5
        transform:
          python: guarded.py:checked
          params: {limit: 70}
        """})
    description = failure_description(shop.materialize("shop/orders", raise_on_error=False))

    assert description == (
        "shop.orders (declared at flows/shop/entities/orders.yml:1): python transform "
        "flows/shop/entities/guarded.py:checked failed on batch 3 at flows/shop/entities/guarded.py:7: "
        "ValueError: id above 70 -> fix the function; nothing was committed"
    )
    assert {path.name: path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()} == files_before
    assert shop.materialization_count("shop/orders") == 1
    assert shop.latest_metadata("shop/orders")["ingest/cursor"] == metadata_before["ingest/cursor"]

    # With the transform fixed, the next run loads exactly the rows the failed one did not.
    shop.write({"flows/shop/entities/orders.yml": """
        run_type: incremental
        keys: [id]
        watermark: updated_at
        batch_size: 5
        transform:
          python: guarded.py:checked
          params: {limit: 1000}
        """})
    shop.materialize("shop/orders")
    assert shop.latest_metadata("shop/orders")["ingest/rows_read"] == 20
    assert lake_rows(shop, "orders", ["id", "doubled"]) == [(i, a * 2) for i, _, a, _ in source_orders(shop)]


def test_a_source_failure_under_a_sql_step_stays_the_sources_own_error():
    """DuckDB reports a failing input stream as its own error; the run must still see the source's
    TransientError (retried), not a transform failure."""
    import pyarrow as pa

    from ingest_assets.errors import TransientError
    from ingest_assets.transforms.spec import SqlStep
    from ingest_assets.transforms.stream import transformed

    schema = pa.schema([("a", pa.int64())])

    def batches():
        yield pa.record_batch([pa.array([1, 2])], schema=schema)
        raise TransientError("the connection dropped")

    step = SqlStep("SELECT a * 2 AS a FROM records", "at test:1")
    # DuckDB may meet the failure while it prepares the query or while the store reads: either way.
    with pytest.raises(TransientError, match="^the connection dropped$"):
        with transformed((step,), pa.RecordBatchReader.from_batches(schema, batches()), 1, "25%") as stream:
            list(stream)
