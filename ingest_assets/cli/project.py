"""Arguments every project command shares: where the flows are and which environment to use."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ingest_assets.config.loader import ENVIRONMENT_VARIABLE, FLOWS_DIR_VARIABLE


def add_project_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--flows-dir", type=Path, default=None,
                        help=f"the project's flows folder (default: ${FLOWS_DIR_VARIABLE}, else ./flows)")
    parser.add_argument("--env", dest="environment", default=None,
                        help=f"the environment of flows/ingest.yml to use (default: ${ENVIRONMENT_VARIABLE}, "
                             "else the project's default_environment)")


def flows_dir(args: argparse.Namespace) -> Path:
    return args.flows_dir or Path(os.environ.get(FLOWS_DIR_VARIABLE, "flows"))
