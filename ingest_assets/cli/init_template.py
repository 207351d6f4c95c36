"""The files of a new project (`ingest init`): a flow that runs at once, on files only, no server.

The sample is a CSV file written by `sample_orders()`, loaded into a DuckDB file; paths in the YAML
are relative to the project folder, whatever the working directory.
"""

from __future__ import annotations

from datetime import date, timedelta

SAMPLE_ROWS = 20
# What the first load creates next to the flows: git ignores it (the project's .gitignore, or the component's).
DATA_IGNORES = "data/warehouse.duckdb*\n"


def sample_orders() -> str:
    start = date(2026, 1, 1)
    lines = ["order_id,customer,amount,ordered_on"]
    lines += [f"{i},customer-{i % 5},{i * 12.5:.2f},{(start + timedelta(days=i // 3)).isoformat()}"
              for i in range(1, SAMPLE_ROWS + 1)]
    return "\n".join(lines) + "\n"


def flows_files(name: str) -> dict[str, str]:
    """A project's flows and the sample they read: `ingest init` writes them into a new project folder,
    `dg scaffold defs ingest_assets.IngestFlowsComponent` next to the component's defs.yaml."""
    return {
        "flows/ingest.yml": f"""\
# The project: its connections (one Dagster resource each), options and environments.
# Paths are relative to the project folder; secrets are ${{VAR}} references, never text.
name: {name}

connections:
  samples:            # CSV files shipped with the project (a home)
    type: csv
    path: data/samples
  warehouse:          # a DuckDB file (a store), created by the first load
    type: duckdb
    path: data/warehouse.duckdb
  # lake:             # a lake of Delta tables (a store) that Spark, Fabric, DuckDB and Polars read;
  #   type: delta     # for ADLS Gen2 or a OneLake Lakehouse see the README's Delta store
  #   path: data/lake

options:
  concurrency: 2
""",
        "flows/example/flow.yml": """\
# A flow: where its entities read (home) and write (store), and settings they share.
description: Sample orders, from a CSV file into DuckDB.
home: samples
store: warehouse
run_type: full_drop
entities:
  - name: orders          # the asset example/orders; the table example.orders
    home:
      path: orders.csv
    keys: [order_id]
    checks:
      min_rows: 1
      not_null: [customer]
""",
        "data/samples/orders.csv": sample_orders(),
    }


def project_files(name: str) -> dict[str, str]:
    """`ingest init`: the flows (`flows_files`) and what runs them as a Dagster project."""
    return {
        "pyproject.toml": f"""\
[project]
name = "{name}"
version = "0.1.0"
description = "Data ingestion with ingest_assets: YAML flows that become Dagster assets."
requires-python = ">=3.11"
dependencies = ["ingest_assets"]

# `dagster dev` and the other Dagster commands find the code location here.
[tool.dagster]
python_file = "definitions.py"
""",
        "definitions.py": '''\
"""The code location: one Dagster asset per entity of this project's flows/ folder."""

from pathlib import Path

from ingest_assets.defs.factory import build_definitions

# The flows next to this file, whatever the working directory; INGEST_ENV selects the environment.
defs = build_definitions(Path(__file__).resolve().parent / "flows")
''',
        "workspace.yaml": """\
# `dagster dev -w workspace.yaml` (or dagster-webserver) loads this project's code location.
load_from:
  - python_file:
      relative_path: definitions.py
      location_name: ingest
      working_directory: .
""",
        "dagster.yaml": """\
# Instance settings: run Dagster from this folder with DAGSTER_HOME set to it (see README.md).
# Run history, event log and schedules live in .dagster/, which git ignores.
storage:
  sqlite:
    base_dir: .dagster/storage
local_artifact_storage:
  module: dagster._core.storage.root
  class: LocalArtifactStorage
  config:
    base_dir: .dagster/artifacts
compute_logs:
  module: dagster._core.storage.local_compute_log_manager
  class: LocalComputeLogManager
  config:
    base_dir: .dagster/logs
concurrency:
  runs:
    max_concurrent_runs: 4
# With dagster-daemon running: fail runs stuck STARTING or CANCELING, and runs past dagster/max_runtime.
run_monitoring:
  enabled: true
telemetry:
  enabled: false
""",
        "README.md": f"""\
# {name}

Data ingestion with [ingest_assets](https://pypi.org/project/ingest_assets/): each entity of the YAML
flows in `flows/` becomes a Dagster asset.

```bash
pip install -e .                 # ingest_assets and Dagster
export DAGSTER_HOME=$PWD         # run history lives in .dagster/
ingest check                     # validate flows/ and test every connection
dagster asset materialize -f definitions.py --select '*'
dagster dev                      # the UI at http://127.0.0.1:3000
```

The example flow loads `data/samples/orders.csv` into the table `example.orders` of
`data/warehouse.duckdb`. Add connections to `flows/ingest.yml` and flows under `flows/<flow>/`.
""",
        ".gitignore": """\
.dagster/
__pycache__/
*.egg-info/
.venv/
""" + DATA_IGNORES,
        **flows_files(name),
    }
