"""The base of every connection's settings model (the `connections:` of `flows/ingest.yml`).

A type's model subclasses `ConnectionSettings` and adds `type: Literal[...]`, naming the type (and
its aliases). Its fields are marked with what the code must know about them, here and nowhere else:
`Secret()` for a secret (a `${VAR}` reference, never YAML text, never printed by `ingest check`),
`PlanOnly()` for a setting the plan reads that the Dagster resource does not hold, `ReadPathOnly()` for a
setting that chooses how a home reads, not what (left out of the assets' code versions).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationInfo, field_validator
from pydantic.fields import FieldInfo

from ingest_assets.config.project_files import Model
from ingest_assets.config.references import names_with_defaults, reference_syntax_errors, referenced_names


@dataclass(frozen=True)
class Secret:
    """Marks a secret setting: `password: Annotated[str | None, Secret()] = None`."""


@dataclass(frozen=True)
class PlanOnly:
    """Marks a setting the plan reads but the connection's resource does not hold (nor the launchpad show)."""


@dataclass(frozen=True)
class ReadPathOnly:
    """Marks a setting that picks how rows are read, not which values (e.g. ADBC or SQLAlchemy: the tests
    hold both paths to the same schema and values), so changing it does not change an asset's code version."""


# Settings of every connection that describe it rather than configure its resource.
_NOT_HELD = frozenset({"type", "description"})


def _marked(field: FieldInfo, marker: type) -> bool:
    return any(isinstance(item, marker) for item in field.metadata)


@functools.cache
def secret_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The names of a settings model's secret fields (those marked `Secret()`)."""
    return tuple(name for name, field in model.model_fields.items() if _marked(field, Secret))


@functools.cache
def read_path_fields(model: type[BaseModel]) -> frozenset[str]:
    """The names of a settings model's fields marked `ReadPathOnly()`."""
    return frozenset(name for name, field in model.model_fields.items() if _marked(field, ReadPathOnly))


def require_reference(setting: str, value: str | None) -> None:
    """Secrets must be references resolved from the environment at run time, never YAML text."""
    if value and not referenced_names(value):
        raise ValueError(f"{setting} is written in the YAML -> write it as a reference such as "
                         "${DB_PASSWORD} and set that environment variable")
    defaulted = names_with_defaults(value or "")
    if defaulted:
        # A default is YAML text too: the secret would be in the repository whenever the variable is unset.
        raise ValueError(f"{setting} has a default in the YAML (${{{defaulted[0]}:-...}}) -> a secret comes from "
                         f"the environment alone: write ${{{defaulted[0]}}}")


class ConnectionSettings(Model):
    """Unknown keys are refused, values are frozen, string values are checked for `${VAR}` reference
    syntax, and secrets must be references. Subclasses narrow `type` to `Literal[...]`: the discriminator."""

    type: str
    description: str | None = None

    @field_validator("*")
    @classmethod
    def _references_valid(cls, value: object, info: ValidationInfo) -> object:
        # References are resolved only at run time; their syntax is checked now, when the project loads.
        if isinstance(value, str) and info.field_name != "description":
            bad = reference_syntax_errors(value)
            if bad:
                raise ValueError(
                    f"malformed reference{'s' if len(bad) > 1 else ''} {', '.join(map(repr, bad))} "
                    "-> write ${NAME} or ${NAME:-default}"
                )
            if info.field_name in secret_fields(cls):
                require_reference(f"'{info.field_name}'", value)
        return value

    def resource_fields(self) -> dict[str, Any]:
        """The settings the connection's resource holds (see `ConnectionResource.from_settings`): all but
        `type`, `description` and `PlanOnly` ones, each under its serialization alias if it has one."""
        held = {name for name, field in type(self).model_fields.items()
                if name not in _NOT_HELD and not _marked(field, PlanOnly)}
        return self.model_dump(include=held, by_alias=True)
