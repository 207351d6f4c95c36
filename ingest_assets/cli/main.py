"""`ingest <command>`: one module per command, each with `register(subparsers)` and `run(args) -> int`.

Each `register` sets the parser's `run` default to its command's `run`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib import import_module

COMMANDS = ("init", "check", "plan")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="ingest",
        description="Start, check and preview an ingest_assets project. Runs are Dagster's: "
                    "`dagster asset materialize`, the UI, schedules and sensors.",
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        import_module(f"ingest_assets.cli.{name}").register(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run  # set by the command's `register`
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
