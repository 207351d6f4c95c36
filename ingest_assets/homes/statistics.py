"""Row estimates of SQLAlchemy homes, from what each database keeps anyway (never a count(*)).

| database   | a whole table                             | a query or a window                      |
| PostgreSQL | pg_class.reltuples (once ANALYZEd)        | EXPLAIN (FORMAT JSON) plan rows          |
| SQLite     | sqlite_stat1 (once ANALYZEd)              | the table's count before the window      |
| MySQL      | information_schema.TABLES.TABLE_ROWS      | EXPLAIN rows (x filtered %)              |
| SQL Server | sys.partitions.rows (heap or clustered)   | the table's count before the window      |
Other dialects say "unknown". SQL Server's path runs in no test here (no server): see the README.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import sqlalchemy as sa

from ingest_assets.homes.explain import RowEstimate
from ingest_assets.plan.model import ReadSpec
from ingest_assets.sql.text import quote_qualified

# An EXPLAIN statement of the read: the given prefix ("EXPLAIN ...") before the read's own SQL.
Explain = Callable[[str], sa.TextClause]


def estimate(connection: sa.Connection, spec: ReadSpec, filtered: bool, explain: Explain) -> RowEstimate:
    by_dialect = _ESTIMATES.get(connection.dialect.name)
    if by_dialect is None:
        return RowEstimate.unknown(f"no statistics are read for {connection.dialect.name}")
    return by_dialect(connection, spec, filtered, explain)


def postgres_plan_rows(plan_json: object) -> int:
    """The top node's `Plan Rows` of `EXPLAIN (FORMAT JSON)` (text or parsed, as drivers return it)."""
    plan = json.loads(plan_json) if isinstance(plan_json, (str, bytes)) else plan_json
    assert isinstance(plan, list), "EXPLAIN (FORMAT JSON) is a list of plans"
    return int(plan[0]["Plan"]["Plan Rows"])


POSTGRES_RELTUPLES = "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass({name})"


def postgres_table_name(spec: ReadSpec) -> str:
    """The table as `to_regclass` reads it: each part quoted, so names keep their case."""
    assert spec.table is not None
    return quote_qualified(spec.table)


def _postgres(connection: sa.Connection, spec: ReadSpec, filtered: bool, explain: Explain) -> RowEstimate:
    if spec.table is not None and not filtered:
        reltuples = connection.execute(sa.text(POSTGRES_RELTUPLES.format(name=":name")),
                                       {"name": postgres_table_name(spec)}).scalar()
        if reltuples is not None and reltuples >= 0:  # -1: never analyzed (nor vacuumed)
            return RowEstimate(int(reltuples), "pg_class.reltuples")
    plan = connection.execute(explain("EXPLAIN (FORMAT JSON)")).scalar()
    return RowEstimate(postgres_plan_rows(plan), "EXPLAIN (FORMAT JSON) plan rows")


def _sqlite(connection: sa.Connection, spec: ReadSpec, filtered: bool, explain: Explain) -> RowEstimate:
    if spec.table is None:
        return RowEstimate.unknown("SQLite keeps no estimate for a query")
    analyzed = connection.execute(sa.text(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")).scalar()
    if not analyzed:
        return RowEstimate.unknown("SQLite has no statistics until ANALYZE runs (no sqlite_stat1)")
    stat = connection.execute(sa.text("SELECT stat FROM sqlite_stat1 WHERE tbl = :name LIMIT 1"),
                              {"name": spec.table.rpartition(".")[2]}).scalar()
    if stat is None:
        return RowEstimate.unknown(f"sqlite_stat1 has no row for {spec.table} (run ANALYZE)")
    rows = int(str(stat).split()[0])  # the first number of `stat` is the table's row count
    if filtered:
        return RowEstimate(rows, "sqlite_stat1, before the window", upper_bound=True)
    return RowEstimate(rows, "sqlite_stat1")


def _mysql(connection: sa.Connection, spec: ReadSpec, filtered: bool, explain: Explain) -> RowEstimate:
    if spec.table is not None and not filtered:
        schema, _, name = spec.table.rpartition(".")
        rows = connection.execute(sa.text(
            "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = COALESCE(:schema, DATABASE()) "
            "AND TABLE_NAME = :name"), {"schema": schema or None, "name": name}).scalar()
        if rows is not None:
            return RowEstimate(int(rows), "information_schema.TABLES.TABLE_ROWS")
    steps = connection.execute(explain("EXPLAIN")).mappings().all()
    scans = [step for step in steps if step.get("rows") is not None]
    if not scans:
        return RowEstimate.unknown("MySQL's EXPLAIN names no rows")
    first = scans[0]
    filtered_percent = first.get("filtered")
    rows = int(first["rows"]) if filtered_percent is None else round(int(first["rows"]) * float(filtered_percent) / 100)
    return RowEstimate(rows, "EXPLAIN rows" + (" x filtered" if filtered_percent is not None else ""))


def _mssql(connection: sa.Connection, spec: ReadSpec, filtered: bool, explain: Explain) -> RowEstimate:
    if spec.table is None:
        return RowEstimate.unknown("SQL Server's estimate of a query needs SHOWPLAN, which is not read")
    rows = connection.execute(sa.text(
        "SELECT SUM(rows) FROM sys.partitions WHERE object_id = OBJECT_ID(:name) AND index_id IN (0, 1)"),
        {"name": spec.table}).scalar()
    if rows is None:
        return RowEstimate.unknown(f"sys.partitions has no rows for {spec.table}")
    if filtered:
        return RowEstimate(int(rows), "sys.partitions, before the window", upper_bound=True)
    return RowEstimate(int(rows), "sys.partitions", exact=False)


_ESTIMATES: dict[str, Callable[[sa.Connection, ReadSpec, bool, Explain], RowEstimate]] = {
    "postgresql": _postgres,
    "sqlite": _sqlite,
    "mysql": _mysql,
    "mariadb": _mysql,
    "mssql": _mssql,
}
