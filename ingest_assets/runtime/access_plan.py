"""The access plan of one entity's load: what it reads, which rows, how it writes, and how much.

`build_access_plan` is pure (what `ingest plan` prints and each run logs first); `explain` asks the
home for its statement and estimate. Neither reads rows nor writes anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ingest_assets.errors import IngestError
from ingest_assets.homes.explain import RowEstimate, SourceQuery, estimate_rows, source_query

if TYPE_CHECKING:
    from ingest_assets.config.project_files import RunType
    from ingest_assets.homes.base import ReadRequest
    from ingest_assets.plan.cursor import Cursor
    from ingest_assets.plan.derived import DerivedPlan
    from ingest_assets.plan.model import EntityPlan
    from ingest_assets.runtime.decide import LoadDecision


@dataclass(frozen=True)
class AccessPlan:
    asset_key: str
    declared_at: str
    home: str
    source: SourceQuery
    window: str
    load: str
    run_type: str
    read: str
    write: str
    destination: str
    committed_cursor: str | None
    source_max: object | None
    estimate: RowEstimate
    sample_rows: int | None = None
    refused: str | None = None  # why a run would refuse this load (it moves nothing then)

    def as_json(self) -> dict[str, Any]:
        return {
            "asset_key": self.asset_key,
            "declared_at": self.declared_at,
            "home": self.home,
            "source": {"language": self.source.language, "text": self.source.text,
                       "parameters": {name: _json_value(v) for name, v in self.source.parameters.items()},
                       "notes": list(self.source.notes)},
            "window": self.window,
            "load": self.load,
            "run_type": self.run_type,
            "read": self.read,
            "write": self.write,
            "destination": self.destination,
            "committed_cursor": self.committed_cursor,
            "source_max": _json_value(self.source_max),
            "estimate": {"rows": self.estimate.rows, "method": self.estimate.method, "exact": self.estimate.exact,
                         "upper_bound": self.estimate.upper_bound},
            "sample_rows": self.sample_rows,
            "refused": self.refused,
        }


def build_access_plan(
    plan: EntityPlan,
    asset_key: str,
    decision: LoadDecision | None,
    source: SourceQuery,
    estimate: RowEstimate,
    destination: str,
    committed: Cursor | None,
    source_max: object | None,
    window: str | None = None,
    run_type: RunType | None = None,
    refused: str | None = None,
) -> AccessPlan:
    """Pure. Without a decision (a partitioned entity planned without a partition, or a refused load),
    `window` says which rows a run reads."""
    mode = decision.mode if decision is not None else plan.mode(run_type)
    if window is None:
        assert decision is not None
        conditions = [c.describe() for c in (decision.row_filter, decision.bucket) if c is not None]
        window = " and ".join(conditions) or "all rows"
    return AccessPlan(
        asset_key=asset_key,
        declared_at=str(plan.declared_at),
        home=f"{plan.home.name} ({plan.home.type})",
        source=source,
        window=window,
        load=decision.note if decision is not None else mode.describe(),
        run_type=run_type or plan.run_type,
        read=mode.read,
        write=decision.write_mode.kind if decision is not None else mode.write,
        destination=f"{plan.store.name} ({plan.store.type}) {destination}",
        committed_cursor=None if committed is None else f"{committed.column} = {committed.value}",
        source_max=source_max,
        estimate=estimate,
        sample_rows=decision.sample_rows if decision is not None else None,
        refused=refused,
    )


def explain(plan: EntityPlan, asset_key: str, decision: LoadDecision, home: object, request: ReadRequest,
            destination: str, committed: Cursor | None, source_max: object | None,
            run_type: RunType | None = None) -> AccessPlan:
    """The access plan of a run's decided load, with the home's statement and estimate (no rows read).

    The estimate only informs: a statistics query the database refuses (a missing permission on SQL
    Server's catalog, say) is shown as the reason the estimate is unknown, and the load goes on.
    """
    try:
        estimate = estimate_rows(home, request)
    except IngestError as error:
        estimate = RowEstimate.unknown(f"the statistics query failed: {error}")
    return build_access_plan(plan, asset_key, decision, source_query(home, request), estimate,
                             destination, committed, source_max, run_type=run_type)


def render_text(access: AccessPlan) -> str:
    lines = [f"{access.asset_key}  ({access.declared_at})"]

    def row(label: str, value: object) -> None:
        lines.append(f"  {label + ':':<13}{value}")

    row("home", access.home)
    row("source", _indented(access.source.text))
    if access.source.parameters:
        row("parameters", ", ".join(f"{n} = {_shown(v)}" for n, v in access.source.parameters.items()))
    for note in access.source.notes:
        row("note", note)
    row("window", access.window)
    row("load", access.load)
    row("run type", f"{access.run_type} ({access.read} read, {access.write})")
    if access.committed_cursor is not None:
        row("cursor", access.committed_cursor)
    if access.source_max is not None:
        row("source max", _shown(access.source_max))
    if access.sample_rows is not None:
        row("sample", f"at most {access.sample_rows:,} rows; no watermark recorded")
    row("destination", access.destination)
    row("estimate", access.estimate.describe())
    if access.refused is not None:
        row("refused", access.refused)
    return "\n".join(lines)


def derived_json(asset: DerivedPlan) -> dict[str, object]:
    """What a derived asset's run does: no window and no estimate, its SQL over its inputs as their stores
    hold them, replacing its table."""
    write = asset.entity
    return {
        "declared_at": str(write.declared_at),
        "inputs": [source.label for source in asset.inputs],
        "sql": asset.sql,
        "parameters": dict(asset.params),
        "destination": f"{write.store.name} ({write.store.type}) {write.write.describe()}",
        "load": "the query's whole result replaces the table, every run",
    }


def render_derived(asset_key: str, asset: DerivedPlan) -> str:
    facts = derived_json(asset)
    lines = [f"{asset_key}  ({facts['declared_at']})  derived: SQL over other assets"]
    lines.append(f"  {'inputs:':<13}{', '.join(source.label for source in asset.inputs)} (as their stores hold them)")
    lines.append(f"  {'sql:':<13}{_indented(asset.sql)}")
    if asset.params:
        lines.append(f"  {'parameters:':<13}{', '.join(f'{n} = {_shown(v)}' for n, v in asset.params)}")
    lines.append(f"  {'load:':<13}{facts['load']}")
    lines.append(f"  {'destination:':<13}{facts['destination']}")
    return "\n".join(lines)


def _indented(text: str) -> str:
    return "\n".join(text.strip().splitlines()).replace("\n", "\n" + " " * 15)


def _shown(value: object) -> str:
    return value.isoformat(sep=" ") if isinstance(value, datetime) else str(value)


def _json_value(value: object) -> object:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)
