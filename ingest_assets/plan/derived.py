"""The frozen plan of a derived asset: its query, its inputs, and its write side as an `EntityPlan`.

The write side is an ordinary entity plan whose "home" is the query (run by DuckDB), so staging,
commit, checks and reporting are exactly those of entities.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Literal

from ingest_assets.plan.model import EntityPlan


@dataclass(frozen=True)
class AutomationPlan:
    kind: Literal["eager", "on_cron", "none"]
    cron: str | None = None
    timezone: str = "UTC"

    def describe(self) -> str:
        if self.kind == "eager":
            return "eager: refreshed when an input was updated"
        if self.kind == "on_cron":
            return f"on_cron: refreshed at '{self.cron}' ({self.timezone}) once every input was updated"
        return "none: refreshed only when materialized by hand, a job or a schedule"


@dataclass(frozen=True)
class DerivedPlan:
    entity: EntityPlan  # the write side; `entity.read.query` is the SQL
    inputs: tuple[EntityPlan, ...]  # the plans of the assets read (entities, or derived assets' write sides)
    params: tuple[tuple[str, object], ...]
    automation: AutomationPlan

    @property
    def sql(self) -> str:
        assert self.entity.read.query is not None
        return self.entity.read.query

    @property
    def label(self) -> str:
        return self.entity.label

    def code_version(self) -> str:
        """The write side's version, the inputs and the bound values: what decides the rows."""
        data = {"entity": self.entity.code_version(), "inputs": [i.label for i in self.inputs],
                "params": [[name, value] for name, value in self.params]}
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]
