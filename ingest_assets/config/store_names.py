"""Where a store writes, named in the YAML relative to its root: a Parquet dataset folder, an Open
Mirroring table or schema folder, a Delta or ADLS path. One rule for all: the name stays inside the root.
"""

from __future__ import annotations

from pathlib import PurePosixPath


def outside_the_store(name: str) -> str | None:
    """Why `name` leads out of its store's root (a '..' part, an absolute path, the root itself), else None.

    Checked when the project loads: a store joins the name to its root, so `../x` or `/x` would write
    (and a full load would delete) outside the folder the store was given.
    """
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if ".." in parts or PurePosixPath(name).is_absolute() or (parts and parts[0].endswith(":")):
        return (f"{name!r} leads outside the store's folder -> give a folder inside it, relative to the store's "
                "path, without '..' or a leading '/'")
    if not parts:
        return f"{name!r} is the store's folder itself -> give a folder inside it, e.g. sales/orders"
    return None
