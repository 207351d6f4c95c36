"""What each measured child process does; run as `python _workloads.py <workload> --result FILE ...`.

The clock starts before any heavy import, so import time is part of every figure. Heavy modules
(dagster, ingest_assets, polars, the database clients) are imported inside the workloads for the
same reason. Each workload writes its phase timings and counts as JSON to --result; the parent
measures wall time and peak RSS from outside.
"""

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402  (stdlib only before the clock matters)
import json  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402


class Phases:
    """Consecutive phase durations, measured from the previous mark (the first from process start)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = STARTED

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = now - self._last
        self._last = now


def load_definitions(args: argparse.Namespace) -> dict[str, Any]:
    """The code-location load a webserver or daemon performs: import, build, validate."""
    phases = Phases()
    import dagster as dg

    from ingest_assets.defs.factory import build_definitions

    phases.mark("import")
    defs = build_definitions(args.flows_dir)
    phases.mark("build")
    dg.Definitions.validate_loadable(defs)
    phases.mark("validate")
    return {
        "phases": phases.seconds,
        "assets": len(list(defs.assets or [])),
        "jobs": len(list(defs.jobs or [])),
        "schedules": len(list(defs.schedules or [])),
        "sensors": len(list(defs.sensors or [])),
    }


def ingest(args: argparse.Namespace, execute: bool = True) -> dict[str, Any]:
    """Materialize every asset of the project in process, as one run on an ephemeral instance."""
    phases = Phases()
    import dagster as dg

    from ingest_assets.defs.factory import build_definitions

    phases.mark("import")
    defs = build_definitions(args.flows_dir)
    job = defs.resolve_implicit_global_asset_job_def()
    phases.mark("build")
    if not execute:
        return {"phases": phases.seconds}
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral())
    phases.mark("run")
    if not result.success:
        raise SystemExit("the ingest run failed")
    written = [
        event.materialization.metadata["ingest/rows_written"].value
        for event in result.get_asset_materialization_events()
    ]
    return {"phases": phases.seconds, "rows_written": sum(written)}


def ingest_idle(args: argparse.Namespace) -> dict[str, Any]:
    """The ingest child without the run: the floor of the stack, with every module the run imports."""
    import duckdb  # noqa: F401  (the store's commit imports it)

    import ingest_assets.homes.files
    import ingest_assets.stores.parquet  # noqa: F401

    return ingest(args, execute=False)


def polars_copy(args: argparse.Namespace) -> dict[str, Any]:
    """The baseline: a streaming Parquet -> Parquet copy with no orchestration around it."""
    phases = Phases()
    import polars as pl

    phases.mark("import")
    pl.scan_parquet(args.source).sink_parquet(args.destination)
    phases.mark("run")
    return {"phases": phases.seconds}


def polars_idle(args: argparse.Namespace) -> dict[str, Any]:
    phases = Phases()
    import polars  # noqa: F401

    phases.mark("import")
    return {"phases": phases.seconds}


ROW_GROUP_ROWS = 262_144  # as the product's staged writer and the reference measurements


def postgres_copy(args: argparse.Namespace) -> dict[str, Any]:
    """The yardstick: the table's binary COPY stream read and dropped, with no decoding or writing."""
    phases = Phases()
    import psycopg

    phases.mark("import")
    received = 0
    with psycopg.connect(args.uri) as connection, connection.cursor() as cursor:
        with cursor.copy(f"COPY (SELECT * FROM {args.table}) TO STDOUT (FORMAT binary)") as copy:
            for block in copy:
                received += len(block)
    phases.mark("run")
    return {"phases": phases.seconds, "copy_bytes": received}


def connectorx_parquet(args: argparse.Namespace) -> dict[str, Any]:
    """connectorx's Arrow stream into a pyarrow ParquetWriter, one row group per batch (zstd-3)."""
    phases = Phases()
    import connectorx as cx
    import pyarrow.parquet as pq

    phases.mark("import")
    reader = cx.read_sql(args.url, f"SELECT * FROM {args.table}", return_type="arrow_stream",
                         batch_size=ROW_GROUP_ROWS)
    with pq.ParquetWriter(args.destination, reader.schema, compression="zstd", compression_level=3) as writer:
        for batch in reader:
            writer.write_batch(batch)
    phases.mark("run")
    return {"phases": phases.seconds}


def dlt_table(args: argparse.Namespace) -> dict[str, Any]:
    """dlt's `sql_table` on the connectorx backend into a filesystem destination as Parquet.

    `stream` is its fastest set-up (connectorx's Arrow stream in chunks), `whole` the backend's
    default (one Arrow table of the whole result).
    """
    phases = Phases()
    import dlt
    from dlt.sources.sql_database import sql_table

    phases.mark("import")
    backend_kwargs = {"conn": args.connectorx_url}  # the SQLAlchemy URL is for reflection only
    if args.mode == "stream":
        backend_kwargs["return_type"] = "arrow_stream"
    schema, table = args.table.split(".")
    source = sql_table(credentials=args.sqlalchemy_url, schema=schema, table=table, backend="connectorx",
                       backend_kwargs=backend_kwargs)
    destination = dlt.destinations.filesystem(bucket_url=Path(args.destination).as_uri())
    pipeline = dlt.pipeline("bench_postgres", destination=destination, dataset_name="bench",
                            pipelines_dir=args.pipelines_dir)
    pipeline.run(source, loader_file_format="parquet", write_disposition="replace")
    phases.mark("run")
    return {"phases": phases.seconds}


def hygge_mirror(args: argparse.Namespace) -> dict[str, Any]:
    """BASELINE (open_mirroring.py): the data path of hygge's Open Mirroring store, on a local folder."""
    import open_mirroring  # stdlib-only at import; the script's folder is sys.path[0]

    return open_mirroring.hygge_style_mirror(args, Phases())


def blob_baseline(args: argparse.Namespace) -> dict[str, Any]:
    """BASELINE (open_mirroring.py): Polars write_parquet per batch + azure-storage-blob upload."""
    import open_mirroring

    return open_mirroring.blob_baseline(args, Phases())


def dlt_database(args: argparse.Namespace) -> dict[str, Any]:
    """many_tables.py: one dlt `sql_database` source of every table into a filesystem destination (Parquet).

    `spec` is a JSON file: credentials (a SQLAlchemy URL), schema, table_names, backend, backend_kwargs,
    destination (a folder), pipelines_dir.
    """
    phases = Phases()
    import dlt
    from dlt.sources.sql_database import sql_database

    phases.mark("import")
    spec = json.loads(Path(args.spec).read_text())
    source = sql_database(credentials=spec["credentials"], schema=spec["schema"], table_names=spec["table_names"],
                          backend=spec["backend"], backend_kwargs=spec["backend_kwargs"])
    destination = dlt.destinations.filesystem(bucket_url=Path(spec["destination"]).as_uri())
    pipeline = dlt.pipeline("bench_many_tables", destination=destination, dataset_name="many",
                            pipelines_dir=spec["pipelines_dir"])
    pipeline.run(source, loader_file_format="parquet", write_disposition="replace")
    phases.mark("run")
    return {"phases": phases.seconds}


def polars_loop(args: argparse.Namespace) -> dict[str, Any]:
    """many_tables.py: the plain loop, `pl.read_database_uri` -> `write_parquet`, one table after the other.

    `spec` is a JSON file: uri, tables ({name: qualified name}), destination (a folder). The engine is
    whatever polars picks (connectorx when it is installed, else ADBC).
    """
    phases = Phases()
    import polars as pl

    phases.mark("import")
    spec = json.loads(Path(args.spec).read_text())
    destination = Path(spec["destination"])
    rows = 0
    for name, qualified in spec["tables"].items():
        frame = pl.read_database_uri(f"SELECT * FROM {qualified}", spec["uri"])
        frame.write_parquet(destination / f"{name}.parquet")
        rows += frame.height
    phases.mark("run")
    return {"phases": phases.seconds, "rows": rows}


WORKLOADS: dict[str, tuple[Callable[[argparse.Namespace], dict[str, Any]], tuple[str, ...]]] = {
    "load": (load_definitions, ("flows_dir",)),
    "ingest": (ingest, ("flows_dir",)),
    "ingest-idle": (ingest_idle, ("flows_dir",)),
    "polars": (polars_copy, ("source", "destination")),
    "polars-idle": (polars_idle, ()),
    "postgres-copy": (postgres_copy, ("uri", "table")),
    "connectorx": (connectorx_parquet, ("url", "table", "destination")),
    "hygge-mirror": (hygge_mirror, ("source", "zone_root", "mirror", "table", "key", "mode")),
    "blob-baseline": (blob_baseline, ("source", "account_url", "container", "prefix")),
    "dlt": (dlt_table, ("mode", "sqlalchemy_url", "connectorx_url", "table", "destination", "pipelines_dir")),
    "dlt-database": (dlt_database, ("spec",)),
    "polars-loop": (polars_loop, ("spec",)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="workload", required=True)
    for name, (_, positionals) in WORKLOADS.items():
        command = commands.add_parser(name)
        command.add_argument("--result", type=Path, required=True)
        for positional in positionals:
            command.add_argument(positional)
    args = parser.parse_args()
    report = WORKLOADS[args.workload][0](args)
    report["total_seconds"] = time.perf_counter() - STARTED
    args.result.write_text(json.dumps(report))


if __name__ == "__main__":
    main()
