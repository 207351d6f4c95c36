"""A deterministic demo source: a small shop, in the formats the demo flows read.

- `shop.sqlite`   customers and orders (the operational database, read through SQLAlchemy)
- `catalog.duckdb` products (a DuckDB database)
- `exports/stores.csv` the shop's stores (a CSV export)
- `order_lines/*.parquet` order lines, one file per month (Parquet files)
- `page_views/*.parquet` web page views, one file per day (the partitioned entity)

`add_new_rows` appends and updates rows the way a day of business would, so that a second run of
the incremental flow has something to pick up.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

START = datetime(2026, 1, 1)
DAYS = 30
CUSTOMERS = 20_000
PRODUCTS = 2_000
ORDERS = 150_000
LINES_PER_ORDER = (1, 4)
PAGE_VIEWS_PER_DAY = 4_000
STATUSES = ("placed", "paid", "shipped", "delivered", "returned")


def _timestamp(rng: random.Random, day_offset: float) -> datetime:
    return (START + timedelta(days=day_offset, seconds=rng.randrange(86_400))).replace(microsecond=0)


def build_source(folder: Path, seed: int = 7) -> dict[str, int]:
    """Write the whole demo source into `folder` (replacing it); returns row counts."""
    import duckdb

    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}

    database = folder / "shop.sqlite"
    database.unlink(missing_ok=True)
    with sqlite3.connect(database) as connection:
        connection.execute(
            "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT, "
            "country TEXT, signed_up_at DATETIME NOT NULL)"
        )
        connection.executemany(
            "INSERT INTO customers VALUES (?, ?, ?, ?, ?)",
            ((i, f"Customer {i}", f"customer{i}@example.com" if i % 9 else None,
              rng.choice(("NL", "BE", "DE", "FR", "DK")), _timestamp(rng, -rng.randrange(365)).isoformat(" "))
             for i in range(1, CUSTOMERS + 1)),
        )
        connection.execute(
            "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, "
            "status TEXT NOT NULL, amount NUMERIC(12, 2) NOT NULL, ordered_at DATETIME NOT NULL, "
            "updated_at DATETIME NOT NULL)"
        )
        orders = []
        for order_id in range(1, ORDERS + 1):
            ordered_at = _timestamp(rng, DAYS * order_id / ORDERS - 1)
            orders.append((order_id, rng.randrange(1, CUSTOMERS + 1), rng.choice(STATUSES),
                           round(rng.uniform(5, 500), 2), ordered_at.isoformat(" "), ordered_at.isoformat(" ")))
        connection.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?)", orders)
        counts["customers"], counts["orders"] = CUSTOMERS, ORDERS

    catalog = folder / "catalog.duckdb"
    catalog.unlink(missing_ok=True)
    with duckdb.connect(str(catalog)) as connection:
        products = pa.table({
            "product_id": pa.array(range(1, PRODUCTS + 1), pa.int32()),
            "name": [f"Product {i}" for i in range(1, PRODUCTS + 1)],
            "category": [rng.choice(("books", "games", "garden", "kitchen")) for _ in range(PRODUCTS)],
            "price": pa.array([round(rng.uniform(1, 300), 2) for _ in range(PRODUCTS)]).cast(pa.decimal128(10, 2)),
        })
        connection.register("products_source", products)
        connection.execute("CREATE TABLE products AS SELECT * FROM products_source")
        counts["products"] = PRODUCTS

    exports = folder / "exports"
    exports.mkdir(exist_ok=True)
    (exports / "stores.csv").write_text(
        "store_id,city,opened_on\n" + "".join(f"{i},{city},2020-0{i}-01\n" for i, city in
                                            enumerate(("Amsterdam", "Antwerp", "Berlin", "Paris", "Aarhus"), 1))
    )
    counts["stores"] = 5

    lines_folder = folder / "order_lines"
    lines_folder.mkdir(exist_ok=True)
    line_id, lines = 0, []
    for order in orders:
        for _ in range(rng.randint(*LINES_PER_ORDER)):
            line_id += 1
            lines.append((line_id, order[0], rng.randrange(1, PRODUCTS + 1), rng.randint(1, 5)))
    counts["order_lines"] = _write_order_lines(lines_folder / "lines-0001.parquet", lines)

    views_folder = folder / "page_views"
    views_folder.mkdir(exist_ok=True)
    total = 0
    for day in range(DAYS):
        total += _write_page_views(views_folder, rng, day)
    counts["page_views"] = total
    return counts


def _write_order_lines(path: Path, lines: list[tuple[int, int, int, int]]) -> int:
    table = pa.table({
        "line_id": pa.array([line[0] for line in lines], pa.int64()),
        "order_id": pa.array([line[1] for line in lines], pa.int64()),
        "product_id": pa.array([line[2] for line in lines], pa.int32()),
        "quantity": pa.array([line[3] for line in lines], pa.int16()),
    })
    pq.write_table(table, path)
    return table.num_rows


def _write_page_views(folder: Path, rng: random.Random, day: int) -> int:
    viewed = sorted(_timestamp(rng, day) for _ in range(PAGE_VIEWS_PER_DAY))
    table = pa.table({
        "view_id": pa.array(range(day * PAGE_VIEWS_PER_DAY + 1, (day + 1) * PAGE_VIEWS_PER_DAY + 1), pa.int64()),
        "customer_id": pa.array([rng.randrange(1, CUSTOMERS + 1) for _ in viewed], pa.int64()),
        "path": [rng.choice(("/", "/books", "/games", "/garden", "/kitchen", "/cart")) for _ in viewed],
        "viewed_at": pa.array(viewed, pa.timestamp("us")),
    })
    pq.write_table(table, folder / f"{(START + timedelta(days=day)):%Y-%m-%d}.parquet")
    return table.num_rows


def add_new_rows(folder: Path, seed: int = 11) -> dict[str, int]:
    """A day of business: new orders (with a new `channel` column) and their lines, status updates to
    existing orders, and customers who left or signed up."""
    rng = random.Random(seed)
    new_orders, updated, left, signed_up = 5_000, 1_000, 40, 60
    now = START + timedelta(days=DAYS)
    with sqlite3.connect(folder / "shop.sqlite") as connection:
        # The application starts recording the sales channel: a new source column.
        connection.execute("ALTER TABLE orders ADD COLUMN channel TEXT")
        first = connection.execute("SELECT max(order_id) FROM orders").fetchone()[0] + 1
        rows = []
        for order_id in range(first, first + new_orders):
            ordered_at = (now + timedelta(seconds=rng.randrange(86_400))).replace(microsecond=0)
            rows.append((order_id, rng.randrange(1, CUSTOMERS + 1), "placed", round(rng.uniform(5, 500), 2),
                         ordered_at.isoformat(" "), ordered_at.isoformat(" "), rng.choice(("web", "store", "app"))))
        connection.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        connection.executemany("DELETE FROM customers WHERE customer_id = ?",
                               [(i,) for i in rng.sample(range(1, CUSTOMERS + 1), left)])
        connection.executemany(
            "INSERT INTO customers VALUES (?, ?, ?, ?, ?)",
            ((i, f"Customer {i}", f"customer{i}@example.com", rng.choice(("NL", "BE", "DE")), now.isoformat(" "))
             for i in range(CUSTOMERS + 1, CUSTOMERS + 1 + signed_up)),
        )
        for order_id in rng.sample(range(1, first), updated):
            changed = (now + timedelta(seconds=rng.randrange(86_400))).replace(microsecond=0)
            connection.execute("UPDATE orders SET status = 'delivered', updated_at = ? WHERE order_id = ?",
                               (changed.isoformat(" "), order_id))
    last_line = pq.read_metadata(folder / "order_lines" / "lines-0001.parquet").num_rows
    lines = [(last_line + i + 1, order[0], rng.randrange(1, PRODUCTS + 1), rng.randint(1, 5))
             for i, order in enumerate(rows)]
    _write_order_lines(folder / "order_lines" / "lines-0002.parquet", lines)
    return {"new_orders": new_orders, "updated_orders": updated, "new_order_lines": len(lines),
            "customers_left": left, "customers_signed_up": signed_up}
