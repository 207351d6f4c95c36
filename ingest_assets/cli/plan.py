"""`ingest plan`: scaffolding until the command lands (it is built on its own branch)."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("plan", help="not built yet")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError("ingest plan")
