"""`ingest plan`: the dry run. Per selected entity, what its next run would read, which rows, how it
would write and how many rows to expect; no rows are read and nothing is written (neither the store
nor the Dagster instance).

Selection is Dagster's own (`dagster asset materialize --select`), resolved against the project's
definitions (or those of `--module`, a code location built with its own translator). Committed cursors come from the Dagster instance at $DAGSTER_HOME, when there is one.

Exit codes: 0 planned; 1 a source (or store) could not be reached for some entity; 2 the project or
the selection is invalid.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import warnings
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
from dagster._core.errors import DagsterInvalidSubsetError

from ingest_assets.cli.project import add_project_arguments, flows_dir
from ingest_assets.connectors import registry
from ingest_assets.defs.factory import build_definitions
from ingest_assets.defs.translator import ENTITY_METADATA_KEY
from ingest_assets.errors import ConfigError, IngestError, MissingEnvironmentVariable
from ingest_assets.plan.load import load_plan
from ingest_assets.runtime.access_plan import derived_json, render_derived, render_text
from ingest_assets.runtime.dry_run import plan_entity

if TYPE_CHECKING:
    from ingest_assets.plan.model import EntityPlan
    from ingest_assets.plan.project import ProjectPlan
    from ingest_assets.runtime.access_plan import AccessPlan

EXIT_UNREACHABLE = 1
EXIT_INVALID = 2


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "plan", help="dry run: show what each entity's next run would read, write and cost",
        description="Show, per selected entity, the source query, the load window (from the committed cursor "
                    "and the source's maximum), run type, write strategy, destination and a row estimate. "
                    "Reads no rows and writes nothing.",
    )
    add_project_arguments(parser)
    parser.add_argument("--select", default="*",
                        help="Dagster asset selection, as in `dagster asset materialize --select` (e.g. "
                             "'tag:nightly', 'group:shop_sales', 'key:shop_sales/*', 'shop_sales/orders'); "
                             "default: every entity")
    parser.add_argument("-m", "--module", default=None,
                        help="a code location module whose `defs` (or MODULE:ATTRIBUTE) are built from this project, "
                             "e.g. with your own translator; default: the project's own definitions")
    parser.add_argument("--offline", action="store_true",
                        help="do not contact sources or stores: the window comes from the committed cursor alone "
                             "and estimates are unknown")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    folder = flows_dir(args)
    try:
        project = load_plan(folder, args.environment)
        definitions = _definitions(args.module) if args.module else build_definitions(folder, args.environment)
    except (ConfigError, MissingEnvironmentVariable) as error:
        print(f"ingest plan: {error}", file=sys.stderr)
        return EXIT_INVALID
    try:
        selected = _select(definitions, args.select)
    except ValueError as error:
        print(f"ingest plan: {error}", file=sys.stderr)
        return EXIT_INVALID
    keys = {label: key for key, label in selected}
    entities = [(keys[entity.label], entity) for entity in project.entities if entity.label in keys]
    derived = [(keys[asset.label], asset) for asset in project.derived if asset.label in keys]
    # The step that loads an entity addresses its run config (`ops: {<step>: {config: ...}}`).
    steps = {key.to_user_string(): definitions.get_assets_def(key).node_def.name
             for key, _ in [*entities, *derived]}

    with ExitStack() as stack:
        instance, instance_note = _instance(stack)
        plans, failures = _plan_all(project, entities, instance, args.offline)

    if args.json:
        print(json.dumps({
            "flows_dir": str(folder),
            "environment": project.environment,
            "instance": instance_note,
            "offline": args.offline,
            "entities": [{**plan.as_json(), "step": steps[plan.asset_key]} for plan in plans],
            "derived": [{"asset_key": derived_key.to_user_string(), **derived_json(asset),
                         "step": steps[derived_key.to_user_string()]} for derived_key, asset in derived],
            "errors": [{"asset_key": key, "error": message} for key, message in failures],
        }, indent=2))
    else:
        also = f" and {len(derived)} derived asset{'' if len(derived) == 1 else 's'}" if derived else ""
        print(f"ingest plan: {len(entities)} entit{'y' if len(entities) == 1 else 'ies'}{also} of {folder}"
              f"{f' (environment {project.environment})' if project.environment else ''}; {instance_note}"
              f"{'; offline' if args.offline else ''}. No rows are read and nothing is written.\n")
        for plan in plans:
            step = steps[plan.asset_key]
            print(render_text(plan) + f"\n  {'step:':<13}{step} (run config: ops: {{{step}: {{config: ...}}}})\n")
        for derived_key, asset in derived:
            step = steps[derived_key.to_user_string()]
            print(render_derived(derived_key.to_user_string(), asset)
                  + f"\n  {'step:':<13}{step} (run config: ops: {{{step}: {{config: ...}}}})\n")
        for key, message in failures:
            print(f"{key}: cannot plan: {message}\n", file=sys.stderr)
    return EXIT_UNREACHABLE if failures else 0


def _definitions(target: str) -> dg.Definitions:
    """The Definitions a code location module holds (its `defs`, or the attribute after a colon)."""
    module_name, _, attribute = target.partition(":")
    definitions: dg.Definitions = getattr(importlib.import_module(module_name), attribute or "defs")
    return definitions


def _select(definitions: dg.Definitions, selection: str) -> list[tuple[dg.AssetKey, str]]:
    """(asset key, entity label) of the entities `selection` names, parsed and resolved exactly as `dagster
    asset materialize --select` does; keys are the definitions' own (the translator's)."""
    try:
        with warnings.catch_warnings():
            # Dagster's parser warns about its own beta parameters (`include_sources` of a tag).
            warnings.simplefilter("ignore", dg.BetaWarning)
            graph = definitions.resolve_asset_graph()
            keys = dg.AssetSelection.from_coercible(selection.split(",")).resolve(graph)
    except (DagsterInvalidSubsetError, dg.DagsterError) as error:
        raise ValueError(
            f"--select {selection!r}: {error} -> a flow is 'group:<flow>' or 'key:<flow>/*' ('<flow>/*' is Dagster's "
            "syntax for the asset <flow>/ and its downstream assets); an entity is '<flow>/<entity>'"
        ) from error
    if not keys:
        raise ValueError(f"--select {selection!r} selects no entity -> check the tags, groups or keys it names")
    entities = [(key, graph.get(key).metadata.get(ENTITY_METADATA_KEY)) for key in sorted(keys)]
    return [(key, label.value if isinstance(label, dg.TextMetadataValue) else str(label))
            for key, label in entities if label is not None]


def _instance(stack: ExitStack) -> tuple[dg.DagsterInstance | None, str]:
    """The instance at $DAGSTER_HOME, only when it exists already (opening a new one would create it)."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        return None, "no $DAGSTER_HOME: no committed cursors, every incremental entity is planned as a first load"
    if not (Path(home) / "history").is_dir() and not (Path(home) / "dagster.yaml").is_file():
        return None, f"no Dagster instance at $DAGSTER_HOME ({home}) yet: every incremental entity is planned as a first load"
    instance = stack.enter_context(dg.DagsterInstance.get())
    return instance, f"committed cursors from the Dagster instance at {home}"


def _plan_all(
    project: ProjectPlan, entities: list[tuple[dg.AssetKey, EntityPlan]], instance: dg.DagsterInstance | None,
    offline: bool,
) -> tuple[list[AccessPlan], list[tuple[str, str]]]:
    resources = {c.name: registry.connector(c.type).make_resource(c.settings, project.root)
                 for c in project.connections}
    plans: list[AccessPlan] = []
    failures: list[tuple[str, str]] = []
    for key, entity in entities:
        try:
            plans.append(plan_entity(entity, key, resources[entity.home.name], resources[entity.store.name],
                                     instance, offline))
        except IngestError as error:
            failures.append((key.to_user_string(), f"{entity.label} (declared at {entity.declared_at}): {error}"))
    return plans, failures
