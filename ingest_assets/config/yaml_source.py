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

# The deepest a file may nest lists and mappings: a project file needs a handful of levels, and the
# parsers recurse once per level (libyaml refuses 1,000; Python's stack overflows sooner).
MAX_NESTING = 100


def _load(text: str, display_name: str, loader_class: type[yaml.SafeLoader]) -> Any:
    """`yaml.load` with a safe loader whose located values name `display_name`."""
    loader = loader_class(text)
    loader.display_name = display_name  # type: ignore[attr-defined]  # see _make_loader
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}, 1, display_name) > MAX_EXPANDED_VALUES:
            raise YamlSyntaxError(Location(display_name, 1),
                                  f"the file expands to more than {MAX_EXPANDED_VALUES:,} values through its "
                                  "aliases (*name) -> write the settings out, or alias fewer nested ones")
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded_size(node: yaml.Node, sizes: dict[int, int], depth: int, display_name: str) -> int:
    """How many values `node` holds with every alias expanded; an aliased node is counted once per use
    but measured once (`sizes`), so this is linear in the file however far its aliases expand.

    `depth` counts the lists and mappings `node` is in (itself included): one nested past MAX_NESTING is
    refused here, before the recursive constructor would overflow Python's stack on it."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    children: list[yaml.Node] = []
    if isinstance(node, yaml.MappingNode):
        children = [part for pair in node.value for part in pair]
    elif isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    if isinstance(node, yaml.CollectionNode) and depth > MAX_NESTING:
        raise _too_deep(display_name, node.start_mark.line + 1)
    size = 1
    for child in children:
        size += _expanded_size(child, sizes, depth + 1, display_name)
        if size > MAX_EXPANDED_VALUES:
            break
    sizes[id(node)] = size
    return size


def _too_deep(display_name: str, line: int) -> YamlSyntaxError:
    return YamlSyntaxError(Location(display_name, line),
                           f"lists and mappings nest more than {MAX_NESTING} levels deep here -> write the settings "
                           "with the few levels they need")


def _refuse_deep_nesting(text: str, display_name: str) -> None:
    """Raise at the first list or mapping nested past MAX_NESTING; measured over the parser's events,
    which (unlike building the nodes) needs no recursion. A syntax error raises as the parser finds it."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_NESTING:
                raise _too_deep(display_name, event.start_mark.line + 1 if event.start_mark else 1)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


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
    except (yaml.YAMLError, RecursionError):
        # Parse again with the pure-Python parser, which explains the error better (and measures nesting
        # without recursion: the fast loader refuses, or overflows on, a file nested too deep).
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
        _refuse_deep_nesting(text, display_name)
        return _load(text, display_name, _EXPLAINING_LOADER)
    except yaml.reader.ReaderError as error:  # a character YAML refuses anywhere in the text
        before = text[:error.position]
        line, column = before.count("\n") + 1, error.position - (before.rfind("\n") + 1) + 1
        raise YamlSyntaxError(Location(display_name, line), _refused_character(error.character, column)) from error
    except yaml.MarkedYAMLError as error:
        raise _syntax_error(error, display_name) from error


def _syntax_error(error: yaml.MarkedYAMLError, display_name: str) -> YamlSyntaxError:
    """PyYAML's error at the line to fix. The scanner's and the parser's context is the construct they
    were reading ("while scanning a quoted scalar", "while parsing a flow sequence") and its mark is where
    it began: an unclosed quote or bracket is there, often lines above where the parser gave up (the
    problem's mark, said after the problem). Other contexts (the composer's, the constructor's) say less
    than the problem's own line."""
    problem = error.problem or str(error)
    problem_line = error.problem_mark.line + 1 if error.problem_mark else None
    began = error.context_mark if isinstance(error, (yaml.scanner.ScannerError, yaml.parser.ParserError)) else None
    if began is not None and error.context:
        line = began.line + 1
        gave_up = "" if problem_line in (None, line) else f" (line {problem_line})"
        return YamlSyntaxError(Location(display_name, line),
                               f"invalid YAML: {error.context}, {problem}{gave_up} -> fix the YAML syntax")
    mark = error.problem_mark or error.context_mark
    return YamlSyntaxError(Location(display_name, mark.line + 1 if mark else 1),
                           f"invalid YAML: {problem} -> fix the YAML syntax")


def _refused_character(code: int, column: int) -> str:
    """What to do about a character YAML does not allow in a file (a control character, U+FFFE, ...)."""
    if code == 0:
        return (f"the file holds a NUL character (U+0000, column {column}), which YAML does not allow -> remove it; "
                "if the file was saved as UTF-16 (a NUL in every other byte), save it as UTF-8")
    return (f"the file holds the character U+{code:04X} (column {column}), which YAML does not allow -> remove it, "
            f"or write it as the escape \"\\u{code:04x}\" inside double quotes")
