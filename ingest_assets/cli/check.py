"""`ingest check`: validate the project, then test every connection an entity reads or writes.

Each connection's resource checks itself (`connectors.probe.Checkable`), so this command knows no type.
The exit status is 1 when the project is invalid or any check fails.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel

from ingest_assets.cli.project import add_project_arguments, flows_dir
from ingest_assets.config.references import resolve_references
from ingest_assets.connectors import registry
from ingest_assets.connectors.probe import Checkable, ConnectionUse, ReadTarget, WriteTarget
from ingest_assets.connectors.settings import secret_fields
from ingest_assets.errors import IngestError, first_line
from ingest_assets.homes.base import ReadRequest
from ingest_assets.plan.load import load_plan
from ingest_assets.plan.model import ConnectionPlan, EntityPlan
from ingest_assets.plan.required_columns import source_columns

_LABELS = {"ok": "ok  ", "fail": "FAIL", "note": "note"}


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "check", help="validate the project and test every connection it reads or writes",
        description="Validate the project, then connect to every home and store its entities use: what works, "
                    "and for what fails, how to fix it. Stores are left as they were.")
    add_project_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return check_project(args, print)


def check_project(args: argparse.Namespace, say: Callable[[str], None]) -> int:
    try:
        plan = load_plan(flows_dir(args), args.environment)
    except IngestError as error:  # a ConfigError lists every problem; a PluginError names the plugin
        say(str(error))
        return 1
    entities = [entity for flow in plan.flows for entity in flow.entities]
    environment = f", environment {plan.environment}" if plan.environment else ""
    say(f"project is valid: {_count(len(plan.flows), 'flow')}, {_count(len(entities), 'entity')}{environment}")
    failed = checked = 0
    for connection in plan.connections:
        reads = tuple(e.read for e in entities if e.home.name == connection.name)
        # Derived assets write through their store like entities (and read their inputs back from them).
        writers = (*entities, *(derived.entity for derived in plan.derived))
        writes = tuple(e.write for e in writers if e.store.name == connection.name)
        if not reads and not writes:
            say(f"{connection.name} ({connection.type}): not used by any entity, not checked")
            continue
        roles = [f"{role} of {_count(count, 'entity')}"
                 for role, count in (("home", len(reads)), ("store", len(writes))) if count]
        say(f"{connection.name} ({connection.type}): {', '.join(roles)}")
        lines = _check_connection(plan.root, connection, reads, writes)
        if reads and not any(status == "fail" for status, _ in lines):
            readers = [e for e in entities if e.home.name == connection.name]
            lines += _check_source_columns(plan.root, connection, readers)
        checked += 1
        failed += any(status == "fail" for status, _ in lines)
        for status, text in lines:
            say(f"  {_LABELS[status]}  {text}")
    say(f"{_count(checked, 'connection')} checked, {failed} failed")
    return 1 if failed else 0


def _count(number: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{number} {noun if number == 1 else plural}"


def _check_connection(root: Path, connection: ConnectionPlan, reads: tuple[ReadTarget, ...],
                      writes: tuple[WriteTarget, ...]) -> list[tuple[str, str]]:
    resource = registry.connector(connection.type).make_resource(connection.settings, root)
    if not isinstance(resource, Checkable):
        return [("note", f"type {connection.type} offers no connection check (its resource has no "
                         "check_connection); it is tested when an asset runs")]
    try:
        lines = [(line.status, line.text) for line in resource.check_connection(ConnectionUse(reads, writes))]
    except IngestError as error:  # a missing environment variable, a translated driver error
        lines = [("fail", str(error))]
    except ImportError as error:
        lines = [("fail", f"a driver is missing ({error.name}) -> install the extra for {connection.type}, "
                          "e.g. pip install 'ingest_assets[postgres]'")]
    except Exception as error:  # anything else still ends as one failed check, not a traceback
        lines = [("fail", f"{type(error).__name__}: {first_line(error)}")]
    return [(status, _redacted(text, _secrets(connection.settings))) for status, text in lines]


def _check_source_columns(root: Path, connection: ConnectionPlan, entities: Iterable[EntityPlan]
                          ) -> list[tuple[str, str]]:
    """The columns each entity names (watermark, partition, keys, checked columns; and the described
    ones, which a run does not require) against what its home reads: the first row of each read, so a
    misspelt watermark fails here and not at 2 a.m."""
    resource = registry.connector(connection.type).make_resource(connection.settings, root)
    lines = []
    for entity in entities:
        described = {name for name, _ in entity.column_descriptions} if not entity.transform else set()
        needed = sorted(source_columns(entity) | described)
        if not needed:
            continue
        try:
            with registry.open_home(connection.type, resource).read(ReadRequest(entity.read, limit=1)) as reader:
                names = reader.schema.names
        except IngestError as error:
            lines.append(("fail", f"{entity.label}: {first_line(error)}"))
            continue
        except Exception as error:  # anything else still ends as one failed check, not a traceback
            lines.append(("fail", f"{entity.label}: {type(error).__name__}: {first_line(error)}"))
            continue
        missing = [column for column in needed if column not in names]
        if missing:
            lines.append(("fail", f"{entity.label}: the source has no column {', '.join(missing)} (it has "
                                  f"{', '.join(names)}) -> fix the column names in {entity.declared_at}"))
        else:
            lines.append(("ok", f"{entity.label}: the source has {', '.join(needed)}"))
    return [(status, _redacted(text, _secrets(connection.settings))) for status, text in lines]


def _secrets(settings: BaseModel) -> list[str]:
    """The resolved secrets of a connection's settings (and a password in its url), so no message can print them."""
    values = []
    for name in (*secret_fields(type(settings)), "url"):
        template = getattr(settings, name, None)
        if not isinstance(template, str):
            continue
        try:
            value = resolve_references(template)
        except IngestError:
            continue
        values.append(urlsplit(value).password or "" if name == "url" else value)
    return [v for v in values if v]


def _redacted(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
