"""Turn pydantic validation errors into located, actionable `ConfigProblem`s."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from ingest_assets.config.yaml_source import LocatedDict, LocatedList, Location
from ingest_assets.errors import ConfigProblem


def problems_from_validation(
    error: ValidationError, raw: Any, model: type[BaseModel], fallback: Location, entity: str
) -> list[ConfigProblem]:
    problems = []
    for detail in error.errors(include_url=False):
        loc = tuple(detail["loc"])
        key_loc = _non_text_key(detail, loc)
        if key_loc is not None:
            detail = {**detail, "type": "invalid_key"}
            loc = key_loc
        location = _location_of(raw, loc, fallback)
        shown = _without_union_tags(raw, loc)
        problems.append(
            ConfigProblem(location.file, location.line, entity, _describe(detail, loc, shown, model, raw))
        )
    return problems


def _non_text_key(detail: ErrorDetails, loc: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """The path to a key YAML read as something other than text (`yes:`, `1:`), ending in that key as
    the YAML holds it (pydantic's path holds it coerced, True as 1), or None for any other error.

    A model's settings report it as `invalid_key`; a mapping of names (tags) as its key's `[key]`."""
    if detail["type"] == "invalid_key":
        return (*loc[:-1], detail["input"])
    if loc[-1:] == ("[key]",) and not isinstance(detail.get("input"), str):
        return (*loc[:-2], detail["input"])
    return None


def _describe(
    detail: ErrorDetails, loc: tuple[Any, ...], shown: tuple[Any, ...], model: type[BaseModel], raw: Any
) -> str:
    """`loc` is pydantic's path (it walks the models); `shown` is the same path as the YAML spells it."""
    kind = detail["type"]
    dotted = _dotted(shown)
    value = detail.get("input")
    context = detail.get("ctx") or {}
    if kind == "extra_forbidden":
        key = str(loc[-1])
        valid = sorted(_fields_at(model, loc[:-1], raw))
        close = difflib.get_close_matches(key, valid, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        where = f" in {_dotted(shown[:-1])}" if shown[:-1] else ""
        return f"unknown key {key!r}{where} -> {hint}valid keys: {', '.join(valid)}"
    if kind == "invalid_key":
        where = f" in {_dotted(shown[:-1])}" if shown[:-1] else ""
        return (f"key{where} read as {_yaml_kind(value)}, not as text -> fix the key, or quote it (YAML "
                "reads unquoted yes, no, on, off, true and false as booleans, and ~ and null as null)")
    if kind == "missing":
        return f"missing required setting {dotted!r} -> add '{loc[-1]}:' here"
    if kind == "literal_error":
        return f"{dotted}: {value!r} is not valid -> one of {context.get('expected', '')}"
    if kind == "union_tag_invalid":
        return (
            f"{dotted}: unknown type {context.get('tag')!r} -> one of "
            f"{context.get('expected_tags', '')}"
        )
    if kind == "union_tag_not_found":
        return f"{dotted}: missing 'type' -> add 'type:' with one of the connection types"
    if kind == "value_error":
        message = str(context.get("error", detail["msg"]))
        return f"{dotted}: {message}" if dotted else message
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        expected = "a mapping (key: value lines)"  # pydantic's text would name a Python class
    else:
        expected = detail["msg"].removeprefix("Input should be ").removeprefix("Input ")
    return f"{dotted}: wrong value ({value!r}) -> {expected}"


def _yaml_kind(value: Any) -> str:
    """What YAML read an unquoted key that is not text as."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    return f"a {type(value).__name__} ({value})"


def _without_union_tags(raw: Any, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """`loc` without the parts pydantic adds for a discriminated union's tag (`connections.db.duckdb`)."""
    shown = []
    node = raw
    for part in loc:
        if isinstance(node, dict) and part not in node and node.get("type") == part:
            continue  # the member chosen by `type:`, not a key of the YAML mapping
        shown.append(part)
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]
        else:
            node = None
    return tuple(shown)


def _dotted(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def _location_of(raw: Any, loc: tuple[Any, ...], fallback: Location) -> Location:
    """The line of the deepest YAML node that `loc` reaches."""
    location = raw.location if isinstance(raw, (LocatedDict, LocatedList)) else fallback
    node = raw
    for part in loc:
        if isinstance(node, LocatedDict) and part in node:
            location = node.location_of(str(part))  # a key that is not text (`yes:`) has its line under str(key)
            node = node[part]
        elif isinstance(node, LocatedList) and isinstance(part, int) and part < len(node):
            location = Location(node.location.file, node.line_of(part))
            node = node[part]
        # Other parts (a union's tag, a validator's shorthand) have no YAML node of their own.
    return location


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Every model class an annotation may hold (through Optional, unions, lists and dicts)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    if origin in (list, tuple):
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    if origin is dict:
        return _models_in(typing.get_args(annotation)[1])
    return []


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...], raw: Any) -> set[str]:
    candidates: list[type[BaseModel]] = [model]
    for part in loc:
        if isinstance(part, int):
            continue
        with_field = [c for c in candidates if part in c.model_fields]
        if with_field:
            candidates = _models_in(with_field[0].model_fields[part].annotation)
            continue
        tagged = [c for c in candidates if _type_tag(c) == part]
        if tagged:
            candidates = tagged
        # Otherwise `part` is a dict key (a connection name): the value models stay the candidates.
    if len(candidates) > 1:
        # A discriminated union whose tag was valid: pick the member named by the raw `type`.
        node = raw
        for part in loc:
            if isinstance(node, dict) and part in node:
                node = node[part]
        tag = node.get("type") if isinstance(node, dict) else None
        candidates = [c for c in candidates if _type_tag(c) == tag] or candidates
    return set(candidates[0].model_fields) if candidates else set()


def _type_tag(model: type[BaseModel]) -> str | None:
    field = model.model_fields.get("type")
    if field is None:
        return None
    args = typing.get_args(field.annotation)
    return args[0] if args else None
