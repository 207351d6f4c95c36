"""`ingest init NAME`: a new project folder whose example flow runs at once (files only, no server)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ingest_assets.cli.init_template import project_files


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "init", help="create a new project folder with an example flow",
        description="Create a project folder: pyproject.toml, workspace.yaml, dagster.yaml, definitions.py "
                    "and flows/ with an example flow that runs on a sample file shipped with it.")
    parser.add_argument("name", type=Path, help="the folder to create (its name names the project)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    folder: Path = args.name
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        print(f"ingest init: {folder} already exists and is not an empty folder -> choose another name, "
              "or empty it first (nothing was written)", file=sys.stderr)
        return 1
    name = folder.resolve().name
    for relative, text in project_files(name).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    print(f"created project {name} in {folder}\n"
          f"next: cd {folder} && export DAGSTER_HOME=$PWD && ingest check && "
          "dagster asset materialize -f definitions.py --select '*'")
    return 0
