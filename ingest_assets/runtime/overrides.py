"""The run config of every entity asset: what a user may change for one run (launchpad, `--config-json`)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from functools import cache
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import Field

from ingest_assets.config.project_files import RunType

if TYPE_CHECKING:
    from dagster._core.definitions.definition_config_schema import DefinitionConfigSchema


# Not a StrEnum: that would change str() of a member, and the run config's enum is Dagster's reading of this class.
class RunTypeOverride(str, Enum):  # noqa: UP042
    full_drop = "full_drop"
    incremental = "incremental"


class RunOverrides(dg.Config):
    """Run config of every entity asset (launchpad, or `--config-json` on the CLI)."""

    run_type: RunTypeOverride | None = Field(
        default=None, description="Run this once as full_drop (a full reload) or incremental."
    )
    reset_watermark: bool = Field(
        default=False, description="Forget the committed watermark: a full reload that starts a new cursor."
    )
    rebuild: bool = Field(
        default=False,
        description="Drop the destination table and load everything again (a full reload that starts a new "
                    "cursor): for changes a store cannot follow, such as a new key or a type change in an Open "
                    "Mirroring table.",
    )
    sample_rows: int | None = Field(
        default=None, ge=0,
        description="Sample mode: read at most this many rows, replace the destination with them and record no "
                    "watermark (the next normal run reloads everything). 0 turns off the environment's "
                    "options.sample_rows for this run.",
    )

    @property
    def run_type_name(self) -> RunType | None:
        return None if self.run_type is None else self.run_type.value


@cache
def run_config_schema() -> DefinitionConfigSchema:
    """RunOverrides as Dagster config, derived once for the steps that can share it (a publish step's graph
    and its extract op); an op that takes `config: RunOverrides` derives it again. (A multi_asset takes a
    schema only as a dict of fields, which would lose the description: it derives its own.)"""
    return RunOverrides.to_config_schema()


def run_overrides(op_config: Mapping[str, Any]) -> RunOverrides:
    """A step's run config (validated against `run_config_schema()`) as RunOverrides."""
    return RunOverrides(**op_config)
