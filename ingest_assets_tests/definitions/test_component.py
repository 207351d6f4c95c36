"""`IngestFlowsComponent` in a dg project's defs folder, loaded in process the way `dg` loads it
(Dagster's defs-folder sandbox: a temporary project, its defs.yaml files, `ComponentTree`).

Dagster's `post_processing` and the `translation` attribute work on its definitions as on any
component's; `test_translation` is Dagster's own suite of translation cases (dagster.components.testing).
The real `dg` CLI (list components, scaffold defs, check, launch) is in integration/test_dg_component.py.
"""

from __future__ import annotations

import textwrap
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster.components.component.component import Component
from dagster.components.core.component_tree import ComponentTreeException
from dagster.components.testing import DefsFolderSandbox, create_defs_folder_sandbox
from dagster.components.testing.test_cases import TestTranslation, TranslationTestCase, test_cases

from ingest_assets import ConfigError, IngestFlowsComponent
from ingest_assets.cli.init_template import DATA_IGNORES, flows_files, project_files
from ingest_assets.plan.model import EntityPlan

TYPE = "ingest_assets.IngestFlowsComponent"
ORDERS = dg.AssetKey(["example", "orders"])
CHECKS = {"rows_read_equal_written", "schema_unchanged", "destination_row_count", "min_rows", "not_null",
          "keys_not_null_unique"}


@pytest.fixture
def sandbox() -> Iterator[DefsFolderSandbox]:
    with create_defs_folder_sandbox() as sandbox:
        yield sandbox


def scaffold(sandbox: DefsFolderSandbox, attributes: dict[str, Any] | None = None, **top_level: Any) -> Path:
    """`dg scaffold defs ingest_assets.IngestFlowsComponent sales`, then defs.yaml rewritten if asked."""
    contents = {"type": TYPE, "attributes": {"flows_dir": "flows", **(attributes or {})}, **top_level}
    return sandbox.scaffold_component(IngestFlowsComponent, defs_path="sales",
                                      defs_yaml_contents=contents if attributes or top_level else None)


@contextmanager
def loaded(sandbox: DefsFolderSandbox, defs_path: Path) -> Iterator[tuple[Component, dg.Definitions]]:
    """The component at defs_path and its definitions, loaded as `dg` loads a defs folder."""
    with warnings.catch_warnings():
        # Dagster 1.13's defs.yaml parser (dagster/_utils/pydantic_yaml.py) calls pydantic's deprecated
        # `parse_obj_as` for every defs.yaml it reads: Dagster's code, not ours, and harmless until
        # pydantic 3; accepted here, around the one call that reads defs.yaml, by its message only.
        warnings.filterwarnings("ignore", message="`parse_obj_as` is deprecated", category=DeprecationWarning)
        # And it links every asset and check a defs.yaml component makes to that defs.yaml with code
        # references, which Dagster marks beta (translator.py accepts the same for the flows' YAML).
        warnings.filterwarnings(
            "ignore", message="Class `(LocalFileCodeReference|CodeReferencesMetadataValue)` is currently in beta",
            category=dg.BetaWarning)
        # And `post_processing` resolves its targets with a beta parameter of AssetSelection's parsers
        # (`from_string`, `groups`, ...), whose failure its parser would swallow ("Invalid selection").
        warnings.filterwarnings(
            "ignore", message=r"Parameter `include_sources` of function `AssetSelection\.\w+` is currently in beta",
            category=dg.BetaWarning)
        with sandbox.load_component_and_build_defs(defs_path=defs_path) as loaded:
            yield loaded


def build(sandbox: DefsFolderSandbox, defs_path: Path) -> dg.Definitions:
    with loaded(sandbox, defs_path) as (component, defs):
        assert isinstance(component, IngestFlowsComponent)
        return defs


def only_spec(defs: dg.Definitions) -> dg.AssetSpec:
    [spec] = [spec for assets in defs.assets or [] if isinstance(assets, dg.AssetsDefinition)
              for spec in assets.specs]
    return spec


def test_scaffold_writes_defs_yaml_and_the_starter_flows_of_ingest_init(sandbox: DefsFolderSandbox) -> None:
    defs_path = scaffold(sandbox)
    written = {p.relative_to(defs_path).as_posix(): p.read_text(encoding="utf-8")
               for p in defs_path.rglob("*") if p.is_file()}
    # The sandbox names the class by its module; `dg scaffold defs` by its registry key (TYPE, see test_dg_component).
    assert yaml.safe_load(written.pop("defs.yaml")) == {
        "type": "ingest_assets.defs.component.IngestFlowsComponent", "attributes": {"flows_dir": "flows"}}
    assert written == {**flows_files("sales"), ".gitignore": DATA_IGNORES}
    # One template: the flows are those `ingest init` writes (named after the folder).
    assert flows_files("shop").items() <= project_files("shop").items()

    defs = build(sandbox, defs_path)
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    assert graph.materializable_asset_keys == {ORDERS}
    assert {key.name for key in graph.asset_check_keys} == CHECKS
    assert set(defs.resources or {}) == {"samples", "warehouse"}
    assert "ingest_assets" in only_spec(defs).kinds


PROJECT_WITH_ENVIRONMENTS = {
    "flows/ingest.yml": """\
        connections:
          samples: {type: csv, path: data/samples}
          warehouse: {type: duckdb, path: data/warehouse.duckdb}
        environments:
          dev: {}
          prod:
            connections:
              warehouse: {path: data/prod.duckdb}
        """,
    "flows/example/flow.yml": """\
        home: samples
        store: warehouse
        run_type: full_drop
        entities:
          - name: orders
            home: {path: orders.csv}
        """,
}


def test_flows_dir_is_relative_to_the_defs_yaml_and_environment_is_passed_on(sandbox: DefsFolderSandbox) -> None:
    defs_path = scaffold(sandbox, {"flows_dir": "../../shared/flows", "environment": "prod"})
    shared = defs_path.parent.parent / "shared"  # beside the defs folder
    for relative, text in PROJECT_WITH_ENVIRONMENTS.items():
        path = shared / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")

    defs = build(sandbox, defs_path)
    assert defs.resolve_asset_graph().materializable_asset_keys == {ORDERS}
    # The entity's store path as the prod environment sets it (not the scaffolded flows next to defs.yaml).
    assert "data/prod.duckdb" in repr(defs.resources["warehouse"])  # type: ignore[index]

    (defs_path / "defs.yaml").write_text(yaml.safe_dump(
        {"type": TYPE, "attributes": {"flows_dir": "../../shared/flows", "environment": "staging"}}))
    with pytest.raises(ComponentTreeException) as raised:
        build(sandbox, defs_path)
    assert isinstance(raised.value.__cause__, ConfigError)
    assert "environment 'staging' (from the environment argument) is not defined" in str(raised.value.__cause__)


def test_post_processing_tags_and_owners_by_selection(sandbox: DefsFolderSandbox) -> None:
    defs_path = scaffold(sandbox, {}, post_processing={"assets": [
        {"target": "group:example", "attributes": {"tags": {"team": "sales"}, "owners": ["team:sales"]}},
        {"target": "group:nothing_here", "attributes": {"tags": {"never": "applied"}}},
    ]})
    defs = build(sandbox, defs_path)
    dg.Definitions.validate_loadable(defs)
    spec = only_spec(defs)
    assert spec.key == ORDERS
    assert spec.tags["team"] == "sales" and "never" not in spec.tags
    assert spec.tags["ingest/flow"] == "example"  # merged onto the translator's tags, not replacing them
    assert spec.owners == ["team:sales"]
    assert {key.name for key in defs.resolve_asset_graph().asset_check_keys} == CHECKS


def _current(case: TranslationTestCase) -> TranslationTestCase:
    """Dagster's case, but through `dg.AutomationCondition`: its own writes `{{ automation_condition }}`,
    a template scope Dagster 1.13 deprecates (a DeprecationWarning at resolution)."""
    if case.name != "automation_condition":
        return case
    return case._replace(attributes={"automation_condition": "{{ dg.AutomationCondition.eager() }}"})


class TestIngestFlowsTranslation(TestTranslation):
    """Dagster's translation cases (group, owners, tags, kinds, key, key_prefix, deps, ...)."""

    @pytest.fixture(params=[_current(case) for case in test_cases], ids=[case.name for case in test_cases])
    def translation_test_case(self, request: pytest.FixtureRequest) -> TranslationTestCase:
        case: TranslationTestCase = request.param
        return case

    def test_translation(self, sandbox: DefsFolderSandbox, attributes: dict[str, Any],
                         assertion: Callable[[dg.AssetSpec], bool],
                         key_modifier: Callable[[dg.AssetKey], dg.AssetKey] | None) -> None:
        defs = build(sandbox, scaffold(sandbox, {"translation": attributes}))
        dg.Definitions.validate_loadable(defs)
        spec = only_spec(defs)
        assert assertion(spec)
        key = key_modifier(ORDERS) if key_modifier else ORDERS
        assert spec.key == key
        # The translator gives the key, so the entity's checks and its flow's job follow it.
        graph = defs.resolve_asset_graph()
        assert {(check.asset_key, check.name) for check in graph.asset_check_keys} == {(key, name) for name in CHECKS}
        assert defs.resolve_job_def("example_job").asset_layer.executable_asset_keys == {key}


def test_translation_templates_see_the_entity(sandbox: DefsFolderSandbox) -> None:
    defs = build(sandbox, scaffold(sandbox, {"translation": {
        "group_name": "{{ entity.flow }}_from_{{ entity.home.name }}",
        "tags": {"table": "{{ entity.entity }}"},
        "key": "{{ spec.key.with_prefix('lake').to_user_string() }}",
    }}))
    spec = only_spec(defs)
    assert (spec.key, spec.group_name) == (ORDERS.with_prefix("lake"), "example_from_samples")
    assert spec.tags["table"] == "orders" and spec.tags["ingest/run_type"] == "full_drop"


class UpperCaseGroups(IngestFlowsComponent):
    """A subclass's `get_asset_spec`, as other Components offer: keys and groups for every entity."""

    def get_asset_spec(self, entity: EntityPlan) -> dg.AssetSpec:
        spec = super().get_asset_spec(entity)
        return spec.replace_attributes(key=spec.key.with_prefix("python"), group_name=entity.flow.upper())


def test_a_subclass_overrides_get_asset_spec(sandbox: DefsFolderSandbox) -> None:
    defs_path = scaffold(sandbox, {"translation": {"tags": {"from": "yaml"}}})
    (defs_path / "defs.yaml").write_text(yaml.safe_dump({
        "type": f"{__name__}.UpperCaseGroups",
        "attributes": {"flows_dir": "flows", "translation": {"tags": {"from": "yaml"}}}}))
    with loaded(sandbox, defs_path) as (component, defs):
        assert type(component) is UpperCaseGroups
    spec = only_spec(defs)
    key = ORDERS.with_prefix("python")
    assert (spec.key, spec.group_name, spec.tags["from"]) == (key, "EXAMPLE", "yaml")
    assert {check.asset_key for check in defs.resolve_asset_graph().asset_check_keys} == {key}
