"""The code location's definitions, loaded once per process and ready for the processes forked from it.

Every process that loads the code location asks first for the repository and its implicit asset
job (`dagster asset materialize`, a run's steps, the webserver's code server), and a step process
is forked from the executor's forkserver, which has imported this module. Resolving both here, once,
means each step inherits them instead of resolving them against every asset again.
"""

from __future__ import annotations

import dagster as dg

from ingest_assets.defs.collector import collector_paused, freeze_loaded
from ingest_assets.defs.factory import build_definitions


def code_location_definitions() -> dg.Definitions:
    """The project's definitions (see `build_definitions`), with the repository and asset job resolved."""
    with collector_paused():
        defs = build_definitions()
        defs.get_repository_def().get_implicit_global_asset_job_def()
    freeze_loaded()
    return defs
