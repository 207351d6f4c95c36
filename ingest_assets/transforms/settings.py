"""The `transform:` setting of an entity (or of a flow's `defaults`): its YAML shape.

Files are checked later, when the plan is built (`ingest_assets.transforms.validate`), so these models
stay pure and every message still points at its own YAML line.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# A parameter is one scalar value, bound by DuckDB (or passed to a Python function) as it is.
ParamValue = bool | int | float | str | datetime | date | None

# Written `$name` in SQL, or passed as a keyword argument: an identifier. Derived assets share both.
PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
KINDS = ("sql", "sql_file", "python")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TransformStepSettings(_Model):
    """One step: exactly one of `sql`, `sql_file`, `python`, and the `params` it is given."""

    sql: str | None = None  # a query over the relation `records`; `$name` marks a parameter
    sql_file: str | None = None  # a .sql file, relative to the YAML file that names it
    python: str | None = None  # `module:function` or `path/to/file.py:function` (relative to the YAML file)
    params: dict[str, ParamValue] = Field(default_factory=dict)

    @field_validator("params", mode="before")
    @classmethod
    def _scalar_params(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value  # pydantic reports what a mapping should look like
        for name, item in value.items():
            if not isinstance(name, str) or not PARAM_NAME.match(name):
                raise ValueError(f"{name!r} is not a parameter name -> letters, digits and underscores, "
                                 "starting with a letter (written $name in the query)")
            if isinstance(item, (dict, list)):
                kind = "a mapping" if isinstance(item, dict) else "a list"
                raise ValueError(f"{name}: {kind} is not a parameter value -> one string, number, boolean, "
                                 "date or null per name")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        given = self.kinds()
        if len(given) > 1:
            raise ValueError(f"sets {' and '.join(given)} -> set exactly one of sql, sql_file, python")
        if not given and not self._is_list():
            raise ValueError("nothing to run -> set one of sql, sql_file, python (or steps: a list of them)")
        return self

    def kinds(self) -> list[str]:
        return [kind for kind in KINDS if getattr(self, kind) is not None]

    def _is_list(self) -> bool:
        return False


class TransformSettings(TransformStepSettings):
    """`transform:` one step, or `steps:` several applied in order (each with its own params)."""

    steps: list[TransformStepSettings] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _steps_alone(self) -> Self:
        if self.steps is not None and (self.kinds() or self.params):
            extra = " and ".join(self.kinds() + (["params"] if self.params else []))
            raise ValueError(f"sets steps and {extra} -> put every step, with its own params, in the steps list")
        return self

    def _is_list(self) -> bool:
        return self.steps is not None

    def all_steps(self) -> list[TransformStepSettings]:
        return list(self.steps) if self.steps is not None else [self]
