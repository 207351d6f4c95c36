"""`${VAR}` and `${VAR:-default}` references in connection settings.

References are checked for syntax when the project loads, but resolved only at run time, inside the
resource that uses them, so secrets never reach definitions, the launchpad, logs or metadata.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from ingest_assets.errors import MissingEnvironmentVariable

# A default is plain text: `${A:-${B}}` (a nested reference) is not supported, so it is malformed.
_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>(?:[^}$]|\$(?!\{))*))?\}")
_ANY_BRACE_REFERENCE = re.compile(r"\$\{[^}]*\}?")


def reference_syntax_errors(text: str) -> list[str]:
    """The malformed `${...}` references in `text` (e.g. `${1X}` or an unclosed `${X`)."""
    return [match.group(0) for match in _ANY_BRACE_REFERENCE.finditer(text) if not _REFERENCE.fullmatch(match.group(0))]


def referenced_names(text: str) -> list[str]:
    return [match.group("name") for match in _REFERENCE.finditer(text)]


def names_with_defaults(text: str) -> list[str]:
    """The referenced variables that have a default (`${VAR:-default}`) in `text`."""
    return [match.group("name") for match in _REFERENCE.finditer(text) if match.group("default") is not None]


def resolve_references(text: str, environ: Mapping[str, str] | None = None, *, secret: bool = False) -> str:
    """Replace every reference with its value; a variable that is unset and has no default fails.

    As in the shell, `${VAR:-default}` also uses the default when VAR is set but empty. `secret`: the text
    is a secret setting's (or holds one, as a url does), so the failure suggests no default.
    """
    env = os.environ if environ is None else environ

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group("name"), match.group("default")
        value = env.get(name)
        if default is not None and not value:
            return default
        if value is not None:
            return value
        raise MissingEnvironmentVariable(name=name, secret=secret)

    return _REFERENCE.sub(substitute, text)
