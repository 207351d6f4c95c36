"""What `ingest check` asks a connection, and what a connection's check reports.

A resource offers its check as `check_connection(use)` (see `Checkable`); each type's module holds
its own, and imports its driver only inside it, so loading definitions imports none.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

Status = Literal["ok", "fail", "note"]


@dataclass(frozen=True)
class CheckLine:
    """One finding: what works ("ok"), what fails and how to fix it ("fail"), or a remark ("note")."""

    status: Status
    text: str  # a failure says "what failed -> what to do"; never a secret


def ok(text: str) -> CheckLine:
    return CheckLine("ok", text)


def fail(text: str) -> CheckLine:
    return CheckLine("fail", text)


def note(text: str) -> CheckLine:
    return CheckLine("note", text)


# What a check reads of the plan's ReadSpec / WriteSpec, named here so that connectors need not
# import the plan (which imports the registry of connectors).
class ReadTarget(Protocol):
    """What an entity reads from the connection: one of a table, a query, a path."""

    @property
    def table(self) -> str | None: ...

    @property
    def query(self) -> str | None: ...

    @property
    def path(self) -> str | None: ...


class WriteTarget(Protocol):
    """Where an entity writes in the connection: a table or a path."""

    @property
    def table(self) -> str | None: ...

    @property
    def path(self) -> str | None: ...


@dataclass(frozen=True)
class ConnectionUse:
    """What the project's entities do with one connection: what they read, and where they write."""

    reads: tuple[ReadTarget, ...] = ()
    writes: tuple[WriteTarget, ...] = ()


@runtime_checkable
class Checkable(Protocol):
    """A resource that can check its connection (built-in resources do; plugins may).

    Checks read what homes read and prove that stores can write, leaving every store as it was: a
    writability probe creates and removes its own object, named by `probe_name()`.
    """

    def check_connection(self, use: ConnectionUse) -> Iterator[CheckLine]: ...


def probe_name() -> str:
    """A name no entity writes: `_`-prefixed and unique, so a probe never touches real data."""
    return f"_ingest_check_{uuid.uuid4().hex[:12]}"
