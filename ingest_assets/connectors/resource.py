"""The base of every built-in connection's Dagster resource, and the one rule that makes it from settings.

A resource holds its connection's settings as the YAML wrote them: the launchpad shows `${VAR}`
references, and their values are resolved only when a method is called during a run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

import dagster as dg
from pydantic import Field

from ingest_assets.config.references import resolve_references
from ingest_assets.connectors.settings import ConnectionSettings


def resolved(value: str | None, *, secret: bool = False) -> str | None:
    """An optional setting with its `${VAR}` references resolved (`secret`: a `Secret()` setting's, or a url)."""
    return None if value is None else resolve_references(value, secret=secret)


# Unsubscripted: subscripting would put a class made by pydantic in every resource's MRO (see AnyResource).
class ConnectionResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    @classmethod
    def from_settings(cls, settings: ConnectionSettings, project_root: Path) -> Self:
        """The resource of one connection: its settings' `resource_fields()`, field for field, plus
        `project_root` when the resource has one (it resolves relative paths)."""
        fields = settings.resource_fields()
        unheld = sorted(set(fields) - set(cls.model_fields))
        if unheld:
            # Dagster would drop them silently: a setting the run would never see.
            raise TypeError(f"{cls.__name__} has no field for {', '.join(unheld)} of {type(settings).__name__} "
                            "-> add the fields, or mark the settings PlanOnly()")
        if "project_root" in cls.model_fields:
            fields["project_root"] = str(project_root)
        return cls(**fields)


class ProjectRelativeResource(ConnectionResource):
    """A resource whose paths may be relative to the project (the folder holding flows/)."""

    project_root: str = Field(
        default=".", description="The folder relative paths are resolved against (the one holding flows/)."
    )

    def _resolve_path(self, template: str) -> Path:
        path = Path(resolve_references(template)).expanduser()
        return path if path.is_absolute() else Path(self.project_root) / path
