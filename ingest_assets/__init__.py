"""ingest_assets: YAML flows that become Dagster assets.

`build_definitions()` turns a `flows/` project into Dagster `Definitions` (the code location module is
`ingest_assets.definitions`); subclass `IngestTranslator` to change how entities look in Dagster.
`IngestFlowsComponent` is the same as a Dagster Component (`type: ingest_assets.IngestFlowsComponent` in a
dg project's defs.yaml): this module is the package's `dagster_dg_cli.registry_modules` entry point.
"""

from ingest_assets.defs.component import IngestFlowsComponent
from ingest_assets.defs.factory import build_definitions
from ingest_assets.defs.translator import IngestTranslator
from ingest_assets.errors import ConfigError, IngestError

__all__ = ["ConfigError", "IngestError", "IngestFlowsComponent", "IngestTranslator", "build_definitions"]
