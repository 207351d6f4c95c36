"""PostgreSQL numerics through ADBC: up to 18 digits read as scaled bigints, wider ones as text, all exact."""

from __future__ import annotations

from decimal import Decimal

import pyarrow.parquet as pq

from ingest_assets_tests.conftest import Project

DDL = """
CREATE TABLE public.numbers (
    id bigint PRIMARY KEY,
    cents numeric(12, 2),
    widest_scaled numeric(18, 4),
    whole numeric(18, 0),
    too_wide numeric(19, 2),
    free numeric
)
"""
ROWS = [
    (1, Decimal("1234567890.12"), Decimal("99999999999999.9999"), Decimal("999999999999999999"),
     Decimal("99999999999999999.99"), Decimal("3.14159265358979323846")),
    (2, Decimal("-0.01"), Decimal("-99999999999999.9999"), Decimal("-999999999999999999"),
     Decimal("-0.01"), Decimal("-1")),
    (3, None, None, None, None, None),
    (4, Decimal("0.00"), Decimal("0.0001"), Decimal("0"), Decimal("0.00"), Decimal("0")),
]


def test_numerics_of_every_width_are_exact(project: Project, postgres_server, pg_database):
    postgres_server.execute(pg_database, DDL)
    with postgres_server.connect(pg_database) as connection, connection.cursor() as cursor:
        cursor.executemany("INSERT INTO numbers VALUES (%s, %s, %s, %s, %s, %s)", ROWS)
    project.write({
        "flows/ingest.yml": "connections:\n  pg:\n" + postgres_server.connection_yaml(pg_database) + """
  lake:
    type: parquet
    path: lake
""",
        "flows/copy/flow.yml": """
        home: pg
        store: lake
        entities:
          - name: numbers
            home: {table: public.numbers}
          - name: from_query
            home: {query: "SELECT id, cents, whole FROM public.numbers WHERE id >= 2"}
        """,
    })
    project.materialize("*")

    folder = project.root / "lake/copy/numbers"
    table = pq.read_table(sorted(folder.glob("*.parquet"))).sort_by("id")
    # An unconstrained numeric stays exact as its text.
    expected = [(*row[:-1], None if row[-1] is None else str(row[-1])) for row in ROWS]
    assert [tuple(row.values()) for row in table.to_pylist()] == expected
    types = {field.name: str(field.type) for field in pq.read_schema(next(folder.glob("*.parquet")))}
    assert types == {"id": "int64", "cents": "decimal128(12, 2)", "widest_scaled": "decimal128(18, 4)",
                     "whole": "decimal128(18, 0)", "too_wide": "decimal128(19, 2)", "free": "string"}

    queried = pq.read_table(sorted((project.root / "lake/copy/from_query").glob("*.parquet"))).sort_by("id")
    assert [tuple(row.values()) for row in queried.to_pylist()] == [(r[0], r[1], r[3]) for r in ROWS[1:]]
    assert str(queried.schema.field("cents").type) == "decimal128(12, 2)"
