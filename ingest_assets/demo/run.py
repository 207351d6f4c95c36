"""`make demo`: build the demo source, materialize every demo asset with the Dagster CLI, add a day
of new rows, run the incremental flow again, and print what moved and where it landed.

Run from the repository root with DAGSTER_HOME set (the Makefile does both). The demo starts from a
clean slate each time: its source, its outputs and the instance's history in .dagster/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import dagster as dg

from ingest_assets.connectors import registry
from ingest_assets.connectors.duckdb import DuckDBFileResource
from ingest_assets.demo.source import DAYS, START, add_new_rows, build_source
from ingest_assets.plan.load import load_plan
from ingest_assets.sql.text import quote_qualified
from ingest_assets.storage.local import LocalStorage
from ingest_assets.stores.schema_changes import CHANGES_METADATA_KEY

DEMO_DIR = Path(os.environ.get("INGEST_DEMO_DIR", "data/demo"))


def _dagster(*arguments: str) -> None:
    command = [str(Path(sys.executable).with_name("dagster")), *arguments]
    print(f"\n$ dagster {' '.join(arguments)}", flush=True)
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        sys.stdout.write(completed.stdout[-4000:] + completed.stderr[-4000:])
        raise SystemExit(f"demo step failed: dagster {' '.join(arguments)}")
    print("  ok: run succeeded", flush=True)


def _materialize(selection: str, *extra: str) -> None:
    _dagster("asset", "materialize", "-m", "ingest_assets.definitions", "--select", selection, *extra)


def _reset(dagster_home: Path) -> None:
    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    shutil.rmtree(dagster_home / ".dagster", ignore_errors=True)


def _metadata(record: dg.EventLogRecord) -> Mapping[str, dg.MetadataValue]:
    materialization = record.asset_materialization
    assert materialization is not None, "fetch_materializations returns materializations only"
    return materialization.metadata


def _summary(instance: dg.DagsterInstance, flows_dir: Path) -> str:
    plan = load_plan(flows_dir)
    lines = [f"{'asset':<34} {'runs':>4} {'rows moved (per run)':<24} {'rows now':>9}  destination"]
    notes = []
    for entity in [*plan.entities, *(derived.entity for derived in plan.derived)]:
        key = dg.AssetKey(list(entity.key_path))
        records = instance.fetch_materializations(key, limit=1000).records
        # A run over a partition range records one materialization per partition: count runs.
        moved_by_run: dict[str, int] = {}
        for record in reversed(records):
            rows_written = _metadata(record)["ingest/rows_written"].value
            assert isinstance(rows_written, int), "recorded as a count by every store"
            moved_by_run[record.run_id] = rows_written
        latest: Mapping[str, dg.MetadataValue] = _metadata(records[0]) if records else {}
        # A landing zone cannot be counted (Fabric applies it): no row count is recorded.
        row_count = latest.get("dagster/row_count")
        rows_now = f"{row_count.value:,}" if row_count is not None else "-"
        destination = latest["ingest/destination"].value if latest else "-"
        moved_text = " + ".join(f"{m:,}" for m in moved_by_run.values()) or "-"
        lines.append(
            f"{key.to_user_string():<34} {len(moved_by_run):>4} {moved_text:<24} {rows_now:>9}  {destination}"
        )
        if latest:
            notes += _latest_load_notes(key.to_user_string(), latest)
    return "\n".join([*lines, "", *notes])


def _latest_load_notes(asset: str, metadata: Mapping[str, dg.MetadataValue]) -> list[str]:
    """What the latest load did beyond inserting rows: deletions and schema changes."""
    notes = []
    deleted = metadata["ingest/rows_deleted"].value
    if deleted:
        notes.append(f"{asset}: the latest load deleted {deleted:,} rows the source no longer has (merge)")
    changes = metadata[CHANGES_METADATA_KEY].value
    assert isinstance(changes, list), "recorded as a JSON list of changes"
    notes += [f"{asset}: {change['change']} column {change['column']} ({change['source_type']}): {change['action']}"
              for change in changes]
    return notes


def _derived_summary(instance: dg.DagsterInstance, flows_dir: Path) -> str:
    """Where each derived asset landed, what it reads, and (in DuckDB) its first rows."""
    import duckdb

    plan = load_plan(flows_dir)
    lines = []
    for derived in plan.derived:
        key = dg.AssetKey(list(derived.entity.key_path))
        event = instance.get_latest_materialization_event(key)
        if event is None or event.asset_materialization is None:
            lines.append(f"derived asset {key.to_user_string()}: not materialized")
            continue
        metadata = event.asset_materialization.metadata
        lines.append(f"derived asset {key.to_user_string()} (SQL over {', '.join(i.label for i in derived.inputs)}): "
                     f"{metadata['dagster/row_count'].value:,} rows in {metadata['ingest/destination'].value}")
        store = derived.entity.store
        if store.type == "duckdb" and derived.entity.write.table:
            resource = registry.connector(store.type).make_resource(store.settings, plan.root)
            assert isinstance(resource, DuckDBFileResource), "the resource of every duckdb connection"
            with duckdb.connect(str(resource.database()), read_only=True) as connection:
                relation = connection.sql(f"SELECT * FROM {quote_qualified(derived.entity.write.table)} LIMIT 3")
                lines.append("  " + " | ".join(relation.columns))
                lines += ["  " + " | ".join(map(str, row)) for row in relation.fetchall()]
    return "\n".join(lines)


def _mirror_summary(onelake: Path) -> str:
    """The landing zone's files, and the tables Fabric would show, replayed from them."""
    from ingest_assets.stores.open_mirroring.replay import replay_landing_zone

    zone = next(onelake.glob("*/Files/LandingZone"))
    lines = [f"Fabric landing zone {zone}:"]
    for folder in sorted(p for p in zone.glob("**/_metadata.json")):
        files = sorted(f.name for f in folder.parent.glob("0*.parquet"))
        lines.append(f"  {folder.parent.relative_to(zone)}/: _metadata.json + {len(files)} files "
                     f"({files[0]} .. {files[-1]})")
    for name, table in replay_landing_zone(LocalStorage(onelake), str(zone.relative_to(onelake))).items():
        lines.append(f"  replayed as Fabric would show it: {name}, {table.num_rows:,} rows")
    return "\n".join(lines)


def _delta_summary(lake: Path) -> str:
    """Each Delta table's version, rows and commits, read back as any Delta reader would."""
    from deltalake import DeltaTable

    lines = [f"Delta lake {lake}:"]
    for log in sorted(lake.glob("**/_delta_log")):
        table = DeltaTable(str(log.parent))
        operations = [str(entry.get("operation")) for entry in reversed(table.history())]
        lines.append(f"  {log.parent.relative_to(lake)}: version {table.version()}, "
                     f"{table.to_pyarrow_dataset().count_rows():,} rows; commits: {', '.join(operations)}")
    return "\n".join(lines)


def main() -> None:
    dagster_home = Path(os.environ.get("DAGSTER_HOME", "."))
    flows_dir = Path(os.environ.get("INGEST_FLOWS_DIR", "flows"))
    _reset(dagster_home)
    counts = build_source(DEMO_DIR / "source")
    print(f"demo source written to {DEMO_DIR / 'source'}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))

    # group:shop_sales holds the derived asset shop_sales/revenue_per_customer; Dagster runs it after
    # its inputs (shop_sales/orders, shop_catalog/customers), which this run materializes first.
    _materialize("group:shop_catalog or group:shop_sales or group:fabric_mirror or group:shop_lakehouse")
    last_day = (START.replace(day=1)).strftime("%Y-%m-%d")
    end_day = f"{START.year}-{START.month:02d}-{DAYS:02d}"
    _materialize("key:web_traffic/page_views", "--partition-range", f"{last_day}...{end_day}")

    added = add_new_rows(DEMO_DIR / "source")
    print("\na day of business at the source: " + ", ".join(f"{k} {v:,}" for k, v in added.items()))
    # Tag selection works across flows (every asset tagged domain=sales, the derived revenue too), plus
    # the customers snapshot the revenue reads; the revenue is recomputed after both.
    _materialize("tag:domain=sales or key:shop_catalog/customers or group:fabric_mirror or group:shop_lakehouse")

    with dg.DagsterInstance.get() as instance:
        print("\n" + _summary(instance, flows_dir))
        print("\n" + _derived_summary(instance, flows_dir))
    print("\n" + _delta_summary(DEMO_DIR / "delta"))
    print("\n" + _mirror_summary(DEMO_DIR / "onelake"))
    print(
        f"\nOutputs: Parquet lake in {DEMO_DIR / 'lake'} (one folder per table), Delta lake in {DEMO_DIR / 'delta'} "
        f"(one Delta table per folder), DuckDB warehouse in "
        f"{DEMO_DIR / 'warehouse.duckdb'}, Fabric landing zone in {DEMO_DIR / 'onelake'}; run history in "
        ".dagster/.\n"
        "Browse assets, checks and runs with `make ui` (http://127.0.0.1:3000)."
    )


if __name__ == "__main__":
    main()
