"""ingest_assets: YAML flows that become Dagster assets.

`build_definitions()` turns a `flows/` project into Dagster `Definitions` (the code location module is
`ingest_assets.definitions`); subclass `IngestTranslator` to change how entities look in Dagster.
"""

from ingest_assets.defs.factory import build_definitions
from ingest_assets.defs.translator import IngestTranslator
from ingest_assets.errors import ConfigError, IngestError

__all__ = ["ConfigError", "IngestError", "IngestTranslator", "build_definitions"]
