"""ingest_assets: YAML flows that become Dagster assets.

`build_definitions()` turns a `flows/` project into Dagster `Definitions`; the code location module
is `ingest_assets.definitions`.
"""

from ingest_assets.errors import ConfigError, IngestError

__all__ = ["ConfigError", "IngestError", "build_definitions"]


def build_definitions(*args, **kwargs):
    from ingest_assets.defs.factory import build_definitions as build

    return build(*args, **kwargs)
