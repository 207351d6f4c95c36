"""Where a target table lands: `WriteSpec.table` as a schema and a table name.

`schema.table` names a table in a schema (on MySQL / MariaDB a schema is a database) and a name
without a dot lands in the connection's default schema. SQLite has no schemas (a dotted prefix names
an attached database file), so there the parts are joined with `__`: `flow.entity` is the table
`flow__entity`. Every store call (writer, exists, current_schema, describe) resolves the name here,
so a table is always found where it was written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest_assets.stores.sql.dialects import DialectTraits

SQLITE_SEPARATOR = "__"
# Identifier length limits: PostgreSQL 63, MySQL 64; helper tables keep well below them.
_HELPER_TOKEN_CHARACTERS = 24
# A load's staging table, the new table a whole-table replace swaps in, and the one it retires.
HELPER_ROLES = ("stage", "new", "old")
_HELPER_TABLE = re.compile(rf"_ingest_({'|'.join(HELPER_ROLES)})_[0-9A-Za-z_]+")


def is_helper_table(name: str) -> bool:
    return _HELPER_TABLE.fullmatch(name) is not None


@dataclass(frozen=True)
class TableName:
    schema: str | None
    name: str

    def helper(self, role: str, token: str) -> TableName:
        """A table of this load next to the target (same schema): `_ingest_<role>_<token>`."""
        safe = re.sub(r"[^0-9A-Za-z]", "_", token)[-_HELPER_TOKEN_CHARACTERS:]
        return TableName(self.schema, f"_ingest_{role}_{safe}")

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name


def table_name(target: str, traits: DialectTraits) -> TableName:
    if not traits.schemas:
        return TableName(None, target.replace(".", SQLITE_SEPARATOR))
    schema, _, name = target.rpartition(".")
    return TableName(schema or None, name)
