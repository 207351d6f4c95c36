"""The code location: `dagster ... -m ingest_assets.definitions` (see workspace.yaml).

The project is the `flows/` folder of the working directory, or $INGEST_FLOWS_DIR.
"""

from ingest_assets.defs.factory import build_definitions

defs = build_definitions()
