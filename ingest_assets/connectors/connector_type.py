"""What a connection type is to the rest of the package: its settings, its resource, its home and store
(named by import path, imported only when a run needs them), and its capabilities as data.

Each type's module declares one `ConnectorType` (one per name, for a type with aliases) and
registers it through the entry point group `ingest_assets.connectors`, built-in types as plugins do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeAlias

import dagster as dg
from pydantic import BaseModel

ReadKindName = Literal["table", "query", "path"]
WriteKindName = Literal["table", "path"]
# A connection's Dagster resource, of whatever class its type makes. ConfigurableResource's parameter is
# the value it hands to ops (for these resources, the resource itself), which resource classes leave
# unset: Any. A string, so that nothing subscripts the pydantic class at run time.
AnyResource: TypeAlias = "dg.ConfigurableResource[Any]"


@dataclass(frozen=True)
class ConnectorType:
    name: str
    # The Dagster resource of one connection, from its settings and the project root (built-in types:
    # `ConnectionResource.from_settings` of their resource class).
    make_resource: Callable[[Any, Path], AnyResource]
    home: str | None  # "module:factory" taking the resource, or None when it cannot be read
    store: str | None  # "module:factory" taking the resource, or None when it cannot be written
    read_kinds: frozenset[ReadKindName]
    write_kind: WriteKindName | None
    parallel_reads: bool = False  # can split a read into key ranges over several connections
    write_strategies: frozenset[str] = frozenset({"append", "replace", "upsert", "merge"})
    partitioned_writes: bool = True  # can replace one partition's rows
    counts_table: bool = True  # can count and measure its table after a commit (row count, key checks)
    # Publishes in a step of its own after extraction (Open Mirroring: it may wait minutes for Fabric
    # to drop a table, and must not hold an extraction slot meanwhile).
    publish_step: bool = False
    # Several entities of one step may write it at once, on threads of one process (DuckDB refuses
    # a read-only and a read-write connection to one file in one process).
    threaded_writes: bool = True
    store_settings: frozenset[str] = frozenset()  # entity `store:` settings only this store reads
    # The watermark column that reads the home's change feed by version instead of a column of its
    # rows (the plan sets `ReadSpec.change_feed` for it): delta's `_commit_version`.
    change_feed_watermark: str | None = None
    # Its committed tables can be read back (`read_back`, see stores/read_back.py): derived assets
    # read their inputs this way.
    reads_back: bool = False
    # The settings model (a `ConnectionSettings`) whose `type: Literal[...]` names this type; the
    # project's `connections:` are validated by the union of the registered types' models.
    model: type[BaseModel] | None = None
    # The kind the Dagster UI shows for it, one Dagster has an icon for (None: the type's name).
    dagster_kind: str | None = None

    @property
    def kind(self) -> str:
        return self.dagster_kind or self.name
