"""`IngestFlowsComponent`: a flows folder as a Dagster Component (a `defs.yaml` in a `dg` project).

    type: ingest_assets.IngestFlowsComponent
    attributes:
      flows_dir: flows          # relative to this defs.yaml's folder (the default)
      environment: prod         # optional; else $INGEST_ENV, else the project's default_environment

The component's definitions are `build_definitions(<folder>/flows_dir, environment)`, the code location's
own: Dagster's `post_processing` (tags, groups, owners, ... by asset selection) applies to them as to any
component's. `translation` changes every entity's AssetSpec, keys included, through the translator
(the one maker of keys that checks, jobs, sensors and run cursors use); a subclass overrides
`get_asset_spec` instead. `dg scaffold defs ingest_assets.IngestFlowsComponent NAME` writes the
defs.yaml and the starter flows of `ingest init` (a CSV sample loaded into a DuckDB file).
"""

# No `from __future__ import annotations` here: Dagster derives the defs.yaml schema from the dataclass's
# annotations at run time, and reads string annotations as types it cannot resolve.

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import dagster as dg

# Dagster's integration components (dbt, Sling, Fivetran, ...) resolve their `translation` attribute
# with these; dagster exports them from this module, not from its top level.
from dagster.components.utils.translation import TranslationFn, TranslationFnResolver

from ingest_assets.cli.init_template import DATA_IGNORES, flows_files
from ingest_assets.defs.factory import build_definitions
from ingest_assets.defs.translator import IngestTranslator
from ingest_assets.plan.model import EntityPlan

DEFAULT_FLOWS_DIR = "flows"
_BASE_TRANSLATOR = IngestTranslator()


class IngestFlowsScaffolder(dg.Scaffolder):
    """`dg scaffold defs ingest_assets.IngestFlowsComponent NAME`: the defs.yaml, and next to it the
    flows and sample data `ingest init` starts a project with (one template for both)."""

    def scaffold(self, request: dg.ScaffoldRequest) -> None:
        dg.scaffold_component(request, {"flows_dir": DEFAULT_FLOWS_DIR})
        files = {**flows_files(request.target_path.name), ".gitignore": DATA_IGNORES}
        for relative, text in files.items():
            path = request.target_path / relative
            if path.exists():  # a folder dg scaffolds into is new; never overwrite what is there
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")


class _ComponentTranslator(IngestTranslator):
    """The component's `get_asset_spec`, asked once per entity; its key is the entity's asset key."""

    def __init__(self, component: "IngestFlowsComponent") -> None:
        self._component = component
        self._specs: dict[str, dg.AssetSpec] = {}

    def get_asset_spec(self, plan: EntityPlan) -> dg.AssetSpec:
        spec = self._specs.get(plan.label)
        if spec is None:
            spec = self._specs[plan.label] = self._component.get_asset_spec(plan)
        return spec

    def get_asset_key(self, plan: EntityPlan) -> dg.AssetKey:
        return self.get_asset_spec(plan).key


@dg.scaffold_with(IngestFlowsScaffolder)
@dataclass
class IngestFlowsComponent(dg.Component, dg.Resolvable):
    """YAML flows of ingest_assets (a flows folder: ingest.yml and one folder per flow) as Dagster assets.

    One asset per entity, one resource per connection, plus the flows' jobs, schedules, sensors and
    checks: the definitions of `ingest_assets.build_definitions(flows_dir, environment)`.
    """

    flows_dir: Annotated[str, dg.Resolver.default(
        description="The flows folder (ingest.yml and one folder per flow), relative to this defs.yaml's folder.",
        examples=["flows", "../shared_flows"],
    )] = DEFAULT_FLOWS_DIR
    environment: Annotated[str | None, dg.Resolver.default(
        description="The environment of ingest.yml's `environments:` to apply; unset: $INGEST_ENV, "
                    "else the project's default_environment.",
        examples=["prod"],
    )] = None
    # Every entity's AssetSpec through Dagster's asset attributes, templated with `entity` (the entity's
    # plan: entity.flow, entity.entity, entity.label, ...) and `spec` (the spec before translation).
    translation: Annotated[
        TranslationFn[EntityPlan],
        TranslationFnResolver[EntityPlan](template_vars_for_translation_fn=lambda plan: {"entity": plan}),
    ] | None = None

    def get_asset_spec(self, entity: EntityPlan) -> dg.AssetSpec:
        """An entity's AssetSpec: `IngestTranslator`'s, then `translation`'s changes. Override to change
        specs in Python; the key returned is the entity's asset key everywhere."""
        spec = _BASE_TRANSLATOR.get_asset_spec(entity)
        return self.translation(spec, entity) if self.translation else spec

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        translated = self.translation is not None or type(self).get_asset_spec is not IngestFlowsComponent.get_asset_spec
        return build_definitions(self.flows_path(context), self.environment,
                                 translator=_ComponentTranslator(self) if translated else None)

    def flows_path(self, context: dg.ComponentLoadContext) -> Path:
        """The flows folder: `flows_dir` relative to the folder of this component's defs.yaml."""
        return context.path / self.flows_dir
