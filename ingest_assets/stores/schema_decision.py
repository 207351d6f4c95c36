"""What the schema policy decides for one load: the table layout a store writes, and each column change.

Values only, shared by the policy that decides them (`schema_changes`), the stores that follow them
(`base.Store`) and the reports; pyarrow is needed only by whoever builds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pyarrow as pa

ChangeKind = Literal["added", "removed", "changed"]
# A change's column, kind and the destination's and source's types.
ChangeIdentity = tuple[str, str, str | None, str | None]


@dataclass(frozen=True)
class TableLayout:
    """The destination's columns after the commit, and the columns this load stages.

    - `table`: every column of the destination after the commit. A store creates a missing table
      with these columns, and a `replace` of the whole table re-creates it with them.
    - `staged`: the columns this load writes, a subset of `table` with the same types; the other
      table columns are NULL in the rows this load writes.
    - `added`: columns an existing table gains (ALTER TABLE ... ADD), in `table`'s order.
    - `widened`: columns of an existing table whose type becomes `table`'s (only safe widenings,
      decided in `ingest_assets.stores.schema_changes`, reach a store).
    """

    table: pa.Schema
    staged: pa.Schema
    added: tuple[str, ...] = ()
    widened: tuple[str, ...] = ()

    @classmethod
    def new(cls, schema: pa.Schema) -> TableLayout:
        """A table whose columns are exactly the staged ones (a first load, or tests)."""
        return cls(table=schema, staged=schema)


@dataclass(frozen=True)
class ColumnChange:
    column: str
    kind: ChangeKind
    before: str | None  # the destination's type
    after: str | None  # the source's type
    action: str  # what this load does about it
    refused: bool = False

    def describe(self) -> str:
        if self.kind == "added":
            text = f"+{self.column} {self.after}"
        elif self.kind == "removed":
            text = f"-{self.column} {self.before}"
        else:
            text = f"{self.column} {self.before} -> {self.after}"
        return f"{text} ({self.action})"

    def as_json(self) -> dict[str, object]:
        return {"column": self.column, "change": self.kind, "destination_type": self.before,
                "source_type": self.after, "action": self.action}

    @property
    def identity(self) -> ChangeIdentity:
        """What the change is, without what a load did about it: the same change on the next load."""
        return (self.column, self.kind, self.before, self.after)

    @staticmethod
    def identity_in(recorded: Mapping[str, object]) -> ChangeIdentity:
        """The identity of a change as `as_json` recorded it."""
        return (str(recorded["column"]), str(recorded["change"]), _text(recorded["destination_type"]),
                _text(recorded["source_type"]))


def _text(value: object) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class SchemaDecision:
    layout: TableLayout
    changes: tuple[ColumnChange, ...]

    @property
    def refused(self) -> tuple[ColumnChange, ...]:
        return tuple(change for change in self.changes if change.refused)
