"""The code location: `dagster ... -m ingest_assets.definitions` (see workspace.yaml).

The project is the `flows/` folder of the working directory, or $INGEST_FLOWS_DIR.
"""

from ingest_assets.defs.location import code_location_definitions

defs = code_location_definitions()
