"""Entity transforms (SQL over `records`, Python per batch) materialized through Dagster on real files.

Each result is compared row by row with the same computation done independently in Python on the
SQLite source.
"""

from __future__ import annotations

import sqlite3
import textwrap
from decimal import Decimal
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
    return list(zip(*(table.column(name).to_pylist() for name in columns)))


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
