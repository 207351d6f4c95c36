"""YAML parsing that remembers where every mapping and key came from.

Error messages must name the file and line of the offending setting, so mappings are loaded as
`LocatedDict`s that carry the line of each key. Only the safe YAML subset is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Location:
    file: str
    line: int


class LocatedDict(dict[str, Any]):
    """A dict loaded from YAML, with the 1-based line of the mapping and of each of its keys.

    Its values are any YAML value (a `LocatedDict`, a `LocatedList`, text, a number...), which the
    models validate; its keys are text for every setting (another key fails validation).
    """

    location: Location
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.location.line)

    def location_of(self, key: str) -> Location:
        return Location(self.location.file, self.line_of(key))


class LocatedList(list[Any]):
    """A list loaded from YAML, with the line of each item."""

    location: Location
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        if 0 <= index < len(self.item_lines):
            return self.item_lines[index]
        return self.location.line


class FileTextError(Exception):
    """A project file that cannot be read as text (too large, not UTF-8), and where."""

    def __init__(self, location: Location, message: str):
        self.location = location
        super().__init__(message)


class YamlSyntaxError(FileTextError):
    pass


def _make_loader(base: type) -> type[yaml.SafeLoader]:
    """A loader class that builds located mappings and lists; each instance names its file in `display_name`.

    Built once per base (not per file: a class per file is a tenth of the parse time of a large project).
    """

    class _LocatingLoader(base):  # type: ignore[misc]  # a base chosen at run time: libyaml's loader, or PyYAML's
        display_name = ""

    def construct_mapping(loader: _LocatingLoader, node: yaml.MappingNode) -> LocatedDict:
        loader.flatten_mapping(node)
        result = LocatedDict()
        result.location = Location(loader.display_name, node.start_mark.line + 1)
        result.key_lines = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in result:
                raise YamlSyntaxError(
                    Location(loader.display_name, key_node.start_mark.line + 1),
                    f"duplicate key {key!r} -> each key may appear once in a mapping",
                )
            result[key] = loader.construct_object(value_node, deep=True)
            result.key_lines[str(key)] = key_node.start_mark.line + 1
        return result

    def construct_sequence(loader: _LocatingLoader, node: yaml.SequenceNode) -> LocatedList:
        result = LocatedList(loader.construct_object(child, deep=True) for child in node.value)
        result.location = Location(loader.display_name, node.start_mark.line + 1)
        result.item_lines = [child.start_mark.line + 1 for child in node.value]
        return result

    _LocatingLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    _LocatingLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence)
    return _LocatingLoader


# libyaml's parser when PyYAML has it: about 8x faster on thousands of entity files.
_FAST_LOADER = _make_loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader))
# The pure-Python parser explains syntax errors better ("but got ':'").
_EXPLAINING_LOADER = _make_loader(yaml.SafeLoader)


# The most values a file may hold once its aliases (`*name`) are expanded: a project file is far
# smaller, and nested aliases ("billion laughs") would otherwise expand past any memory.
MAX_EXPANDED_VALUES = 1_000_000


def _load(text: str, display_name: str, loader_class: type[yaml.SafeLoader]) -> Any:
    """`yaml.load` with a safe loader whose located values name `display_name`."""
    loader = loader_class(text)
    loader.display_name = display_name  # type: ignore[attr-defined]  # see _make_loader
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}) > MAX_EXPANDED_VALUES:
            raise YamlSyntaxError(Location(display_name, 1),
                                  f"the file expands to more than {MAX_EXPANDED_VALUES:,} values through its "
                                  "aliases (*name) -> write the settings out, or alias fewer nested ones")
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many values `node` holds with every alias expanded; an aliased node is counted once per use
    but measured once (`sizes`), so this is linear in the file however far its aliases expand."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    children: list[yaml.Node] = []
    if isinstance(node, yaml.MappingNode):
        children = [part for pair in node.value for part in pair]
    elif isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    size = 1
    for child in children:
        size += _expanded_size(child, sizes)
        if size > MAX_EXPANDED_VALUES:
            break
    sizes[id(node)] = size
    return size


# The largest settings file read: a project's files are kilobytes, and one of gigabytes would be
# parsed whole into memory before anything could say what is wrong with it.
MAX_FILE_BYTES = 10 * 1024 * 1024


def load_yaml(path: Path, display_name: str) -> Any:
    """Parse one YAML file; an empty file is an empty mapping."""
    text = read_text(path, display_name)
    try:
        data = _load(text, display_name, _FAST_LOADER)
    except YamlSyntaxError:
        raise
    except yaml.MarkedYAMLError:
        # Parse again with the pure-Python parser, which explains the error better.
        data = _parse_explaining_errors(text, display_name)
    if data is None:
        data = LocatedDict()
        data.location = Location(display_name, 1)
        data.key_lines = {}
    return data


def read_text(path: Path, display_name: str) -> str:
    """A project file's text (YAML, or SQL named by it): UTF-8, with or without a byte order mark.

    Raises `OSError` if it cannot be read, `FileTextError` if it is too large or not UTF-8.
    """
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise FileTextError(Location(display_name, 1),
                            f"the file holds {size:,} bytes, more than the {MAX_FILE_BYTES:,} a project file may "
                            "-> split it (an entity file per entity, under entities/)")
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise FileTextError(Location(display_name, line),
                            f"the file is not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start}) "
                            "-> save it as UTF-8") from error


def _parse_explaining_errors(text: str, display_name: str) -> Any:
    try:
        return _load(text, display_name, _EXPLAINING_LOADER)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        problem = error.problem or str(error)
        raise YamlSyntaxError(
            Location(display_name, line), f"invalid YAML: {problem} -> fix the YAML syntax"
        ) from error
