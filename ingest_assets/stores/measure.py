"""What the DuckDB-run stores share: which rows a load removes, row counts and key quality.

Every condition here is DuckDB SQL over an existing row aliased `t`, its values kept apart until the
statement that holds it is rendered (`sql.statement`), so values are bound and never collide.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ingest_assets.errors import CommitBeforeStaging, StagedLayoutMismatch, TableChangedDuringLoad
from ingest_assets.plan.window import KeyBucket, RowFilter
from ingest_assets.sql.statement import Sql, duckdb_text
from ingest_assets.sql.text import quote_identifier
from ingest_assets.sql.window import condition
from ingest_assets.stores.base import QualityRequest, WriteMode
from ingest_assets.stores.schema_decision import TableLayout

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa


class Queries(Protocol):
    """What measuring needs of a DuckDB connection (the Parquet store's starts only when queried)."""

    def sql(self, query: str, *, params: object = None) -> duckdb.DuckDBPyRelation: ...


# A null-safe boolean over an existing row `t` that no row satisfies.
NEVER = Sql.of("false")


@dataclass(frozen=True)
class Removal:
    """Which existing rows a load takes out: `replaced` by its rows, or `deleted` as missing from it.

    Never both for one row.
    """

    replaced: Sql
    deleted: Sql

    @property
    def removes_nothing(self) -> bool:
        return self.replaced == NEVER and self.deleted == NEVER

    def either(self) -> Sql:
        """Rows removed for either reason."""
        return Sql.of("(", self.replaced, ") OR (", self.deleted, ")")


def removal(mode: WriteMode, load_keys: str) -> Removal:
    """The rows `mode` removes; `load_keys` is a relation holding the write keys of this load.

    A key match is an EXISTS (a hash semi-join), not `(k) IN (...)`: an existing row whose key is
    null matches no key of the load, so it is kept by an upsert and deleted as missing by a merge.
    """
    if mode.kind == "append":
        return Removal(NEVER, NEVER)
    if mode.kind == "replace":
        return Removal(_in_window(mode.window), NEVER)
    pairs = " AND ".join(f"k.{quote_identifier(c)} = t.{quote_identifier(c)}" for c in mode.keys)
    matched = Sql.of(f"EXISTS (SELECT 1 FROM {load_keys} AS k WHERE {pairs})")
    if not (mode.kind == "merge" and mode.delete_missing):
        return Removal(matched, NEVER)
    return Removal(matched, Sql.of(_in_window(mode.window), " AND NOT ", matched))


def _in_window(window: RowFilter | KeyBucket | None) -> Sql:
    """The rows of `window` (every row without one); a null window column is outside it."""
    if window is None:
        return Sql.of("true")
    return Sql.of("coalesce(", condition(window) or "true", ", false)")


def count_rows(connection: Queries, relation: str, window: RowFilter | KeyBucket | None = None) -> int:
    where = condition(window) if window is not None else Sql()
    sql, params = duckdb_text(Sql.of(f"SELECT count(*) FROM {relation}", *((" WHERE ", where) if where else ())))
    return int(connection.sql(sql, params=params or None).fetchall()[0][0])


def measure_quality(
    connection: Queries, relation: str, quality: QualityRequest
) -> tuple[dict[str, int], dict[tuple[str, ...], int]]:
    """Nulls per checked column, and extra rows per unique column set (0 when every key is unique)."""
    nulls: dict[str, int] = {}
    if quality.not_null:
        expressions = ", ".join(f"count(*) - count({quote_identifier(c)})" for c in quality.not_null)
        values = connection.sql(f"SELECT {expressions} FROM {relation}").fetchall()[0]
        nulls = dict(zip(quality.not_null, values, strict=True))
    duplicates: dict[tuple[str, ...], int] = {}
    for columns in quality.unique_sets:
        group = ", ".join(quote_identifier(c) for c in columns)
        sql = (f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {relation} "
               f"GROUP BY {group} HAVING count(*) > 1)")
        duplicates[columns] = int(connection.sql(sql).fetchall()[0][0])
    return nulls, duplicates


def require_staged_layout(files: list[Path], holds: pa.Schema, layout: TableLayout, label: str) -> None:
    """The staged files hold `holds` (the store's stage schema, from the layout), and `layout.staged`
    is a subset of `layout.table` with the same types.

    The schema policy guarantees this before a store runs; checked again because a store that
    trusted a wrong layout would write values into the wrong columns.
    """
    import pyarrow.parquet as pq

    if not files:
        raise CommitBeforeStaging(label=label)
    staged = pq.read_schema(files[0])
    problems = [] if same_columns(staged, holds) else [
        f"the staged files hold {describe_columns(staged)}, expected {describe_columns(holds)}"]
    table_types = dict(zip(layout.table.names, layout.table.types, strict=True))
    problems += [f"staged column {f.name} {f.type} is not a table column of that type"
                 for f in layout.staged if table_types.get(f.name) != f.type]
    if problems:
        raise StagedLayoutMismatch(label=label, problems=problems)


def require_table_fits(current: dict[str, str], table: dict[str, str], layout: TableLayout, label: str) -> None:
    """An existing table's columns (name -> type) are the ones `layout` was planned against.

    They differ when another run changed the table after this one read its schema: a retry plans
    the layout again.
    """
    problems = [f"{name} {kind} is not in the layout" for name, kind in current.items() if name not in table]
    for name, kind in table.items():
        if name not in current and name not in layout.added:
            problems.append(f"{name} is missing and the layout does not add it")
        elif name in current and name in layout.added:
            problems.append(f"{name} exists and the layout adds it")
        elif name in current and current[name] != kind and name not in layout.widened:
            problems.append(f"{name} is {current[name]}, the layout has {kind} without widening it")
    if problems:
        raise TableChangedDuringLoad(label=label, problems=problems)


def same_columns(a: pa.Schema, b: pa.Schema) -> bool:
    """Same names and types in the same order (nullability and metadata aside)."""
    return a.names == b.names and a.types == b.types


def describe_columns(schema: pa.Schema) -> str:
    return "(" + ", ".join(f"{f.name} {f.type}" for f in schema) + ")"
