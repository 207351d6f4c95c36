"""Files a YAML setting names (`query_file`, a transform's or derived asset's `sql_file`, a transform's
Python file): read as the project's own files are (`yaml_source.read_text`), each problem located where
it is, in the file itself when its text is wrong, at the naming setting when it cannot be read."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ingest_assets.config.yaml_source import FileTextError, Location, read_text

# Records a problem at a location (the caller adds the entity or asset it belongs to).
Problem = Callable[[Location, str], None]


def shown(root: Path, path: Path) -> str:
    """`path` as messages and plans show it: relative to the project, when it is inside it."""
    try:
        return path.relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def read_named_file(root: Path, path: Path, setting: str, name: str, location: Location,
                    problem: Problem) -> str | None:
    """The text of a file a YAML setting names, or None with its problem recorded: where the YAML names
    it if it cannot be read, in the file itself if it is not text."""
    try:
        return read_text(path, shown(root, path))
    except FileTextError as error:
        problem(error.location, str(error))
        return None
    except OSError as error:
        problem(location, f"{setting} {name!r} cannot be read ({error.strerror}: {path}) -> give a path "
                "relative to this YAML file")
        return None
