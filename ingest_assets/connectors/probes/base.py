"""What a connection check reports, and what it is asked about."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from ingest_assets.plan.model import ReadSpec, WriteSpec

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


@dataclass(frozen=True)
class ConnectionUse:
    """What the project's entities do with one connection: what they read, and where they write."""

    reads: tuple[ReadSpec, ...] = ()
    writes: tuple[WriteSpec, ...] = ()


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
