"""The YAML of one derived asset: `flows/<flow>/derived/<name>.yml`."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, PositiveInt, field_validator

from ingest_assets.config.project_files import ChecksSettings, LabelledFile, Model, Tags, _check_name
from ingest_assets.transforms.settings import PARAM_NAME, ParamValue

INPUT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")


class DerivedStoreSettings(Model):
    """Where the result goes: `table` for databases, `path` for file stores (default flow.name / flow/name)."""

    connection: str | None = None
    table: str | None = None
    path: str | None = None


class CronAutomation(Model):
    """Refresh on a cron tick, once every input has been updated since the previous tick."""

    on_cron: str
    timezone: str = "UTC"


class DerivedFile(LabelledFile):
    name: str | None = None  # defaults to the file name without extension
    description: str | None = None
    # Assets of the project as `flow.entity` (entities or other derived assets).
    inputs: list[str] = Field(min_length=1)
    # A SELECT over the inputs, which it names `flow.entity`; `$name` binds a value of `params`.
    sql: str | None = None
    sql_file: str | None = None  # a .sql file, relative to this YAML file
    params: dict[str, ParamValue] = Field(default_factory=dict)
    store: DerivedStoreSettings | None = None  # default: the flow's store
    keys: list[str] = Field(default_factory=list)
    checks: ChecksSettings | None = None
    tags: Tags = Field(default_factory=dict)
    owners: list[str] = Field(default_factory=list)
    # eager (default): refresh when an input was updated; none: only when asked; or {on_cron: ...}.
    automation: Literal["eager", "none"] | CronAutomation = "eager"
    batch_size: PositiveInt | None = None

    @field_validator("name")
    @classmethod
    def _name_valid(cls, value: str | None) -> str | None:
        return None if value is None else _check_name(value)

    @field_validator("inputs")
    @classmethod
    def _inputs_are_assets(cls, value: list[str]) -> list[str]:
        for item in value:
            if not INPUT.match(item):
                raise ValueError(f"input {item!r} is not an asset name -> write inputs as <flow>.<entity>, "
                                 "e.g. shop_sales.orders")
        if len(set(value)) < len(value):
            raise ValueError("an input is listed twice -> list each input once")
        return value

    @field_validator("params")
    @classmethod
    def _param_names(cls, value: dict[str, ParamValue]) -> dict[str, ParamValue]:
        for name in value:
            if not PARAM_NAME.match(name):
                raise ValueError(f"param name {name!r} is not valid -> letters, digits and underscores "
                                 "(written $name in the SQL)")
        return value

    @field_validator("store", mode="before")
    @classmethod
    def _connection_shorthand(cls, value: object) -> object:
        return {"connection": value} if isinstance(value, str) else value

    @field_validator("automation", mode="before")
    @classmethod
    def _automation_words(cls, value: object) -> object:
        if isinstance(value, str) and value not in ("eager", "none"):
            raise ValueError(f"{value!r} is not valid -> eager (the default: refresh when an input was "
                             "updated), none, or {on_cron: '0 6 * * *'}")
        return value
