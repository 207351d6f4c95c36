"""The bad-input corpus (`ingest_assets_tests/corpus/`): one folder per case, each with its exact expected message.

A case folder is a project root as a user would have it (`flows/`, data files such as `source/`), plus:

    expected.txt   the exact message (one final newline is not part of it); `{root}` stands for the project's
                   folder, `{sqlite_version}` and `{postgres_socket}` for what the machine has
    case.yml       optional, how to run the case (`CaseSettings`; without it: `stage: check`)
    bad/           run cases only: files added or replaced before the run that must fail

Inputs that are big or binary (a file past the 10 MiB cap, UTF-16, a NUL byte, Parquet and SQLite files)
are made from recipes in case.yml (`data:`), so the committed corpus stays small text.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import time
import tracemalloc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, Self

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

CORPUS = Path(__file__).resolve().parent / "corpus"
EXPECTED = "expected.txt"
SETTINGS = "case.yml"
BAD = "bad"
# Not part of the project a case copies.
CASE_ONLY = (EXPECTED, SETTINGS, BAD)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---- recipes: generated inputs -------------------------------------------------------------------


class TextFile(Strict):
    """A text file in any encoding: `content` is YAML text, so escapes ("\\0", "\\ufeff", "\\xe9") give any
    character; `encoding: latin-1` writes each character below U+0100 as that one byte."""

    text: str
    content: str
    encoding: str = "utf-8"

    def make(self, root: Path) -> None:
        _parent(root / self.text).write_bytes(self.content.encode(self.encoding))


class FillerFile(Strict):
    """A file of exactly `bytes` bytes: `line` over and over (a file too large to be read)."""

    repeat: str
    line: str
    bytes: int

    def make(self, root: Path) -> None:
        unit = self.line.encode()
        with _parent(root / self.repeat).open("wb") as file:
            for _ in range(self.bytes // len(unit)):
                file.write(unit)
            file.write(unit[: self.bytes % len(unit)])


class ParquetFile(Strict):
    """A Parquet file of `columns` (name -> values; YAML times become timestamps, mappings structs);
    `keep_bytes` cuts it short, as an upload that stopped."""

    parquet: str
    columns: dict[str, list[Any]]
    keep_bytes: int | None = None

    def make(self, root: Path) -> None:
        path = _parent(root / self.parquet)
        pq.write_table(pa.table(self.columns), path)
        if self.keep_bytes is not None:
            path.write_bytes(path.read_bytes()[: self.keep_bytes])


class SqliteFile(Strict):
    """Statements run on an SQLite database file (created if missing)."""

    sqlite: str
    sql: list[str]

    def make(self, root: Path) -> None:
        with sqlite3.connect(_parent(root / self.sqlite)) as connection:
            for statement in self.sql:
                connection.execute(statement)
        connection.close()


Recipe = TextFile | FillerFile | ParquetFile | SqliteFile


def _parent(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


# ---- case.yml -------------------------------------------------------------------------------------


class Changes(Strict):
    """What a case changes: generated files, environment variables, and (run cases) statements run as the
    superuser in the case's own database of a PostgreSQL that checks passwords (see the run tests)."""

    data: list[Recipe] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    unset: list[str] = Field(default_factory=list)
    postgres: list[str] = Field(default_factory=list)


class Limits(Strict):
    """The refusal must be cheap: at most this long, and this much Python memory at its peak."""

    seconds: float
    mib: float


class CaseSettings(Changes):
    stage: Literal["check", "run"] = "check"
    about: str | None = None  # what the input is, when the folder's name does not say it all
    # The message falls short (it misses or misplaces the file, line or entity, or the fix): what is wrong, and
    # where. expected.txt holds today's message, so a fix shows up as a changed expectation; a case without
    # `bug:` must name where and what to do (`shortcomings`).
    bug: str | None = None
    # check: the project is valid, and expected.txt is what `ingest check` prints; `exit` its status.
    valid: bool = False
    exit: int = 1
    limits: Limits | None = None
    # run: a first run of `asset` succeeds; `bad` (and the files of bad/) changes the input; the second
    # run fails with expected.txt and leaves `destination` (a Parquet store's table folder) and the cursor
    # as they were; or, with `expect: success`, loads, and expected.txt lists the destination's rows.
    asset: str | None = None
    destination: str | None = None
    expect: Literal["failure", "success"] = "failure"
    bad: Changes = Field(default_factory=Changes)

    @model_validator(mode="after")
    def _fits_the_stage(self) -> Self:
        if self.stage == "run" and (self.asset is None or self.destination is None):
            raise ValueError("a run case names its 'asset' and 'destination'")
        if self.stage == "check" and (self.asset or self.destination or self.postgres or self.bad != Changes()):
            raise ValueError("asset, destination, bad and postgres are for run cases")
        return self

    @property
    def uses_postgres(self) -> bool:
        return bool(self.postgres or self.bad.postgres)


class Case:
    """One case folder: its settings, its expected message, and its files."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.name = folder.name
        settings = folder / SETTINGS
        raw = yaml.safe_load(settings.read_text(encoding="utf-8")) if settings.is_file() else {}
        self.settings = CaseSettings.model_validate(raw or {})

    def expected(self, placeholders: Mapping[str, str]) -> str:
        text = (self.folder / EXPECTED).read_text(encoding="utf-8").removesuffix("\n")
        for name, value in placeholders.items():
            text = text.replace("{" + name + "}", value)
        return text

    def copy_project(self, root: Path) -> None:
        """The case's project files into `root` (which may already hold other folders)."""
        shutil.copytree(self.folder, root, dirs_exist_ok=True, ignore=lambda folder, names: [
            name for name in names if Path(folder) == self.folder and name in CASE_ONLY])

    def copy_bad_files(self, root: Path) -> None:
        if (self.folder / BAD).is_dir():
            shutil.copytree(self.folder / BAD, root, dirs_exist_ok=True)


def apply(changes: Changes, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for recipe in changes.data:
        recipe.make(root)
    for name, value in changes.env.items():
        monkeypatch.setenv(name, value)
    for name in changes.unset:
        monkeypatch.delenv(name, raising=False)


# A located problem of a ConfigError (`  file:line: entity: what -> fix`), a failed check of `ingest check`, and
# a failed run's description (`entity (declared at file:line): what -> fix`).
_PROBLEM = re.compile(r"  \S+:\d+: \S+: .+ -> .+")
_FAILED_CHECK = re.compile(r"  FAIL  .+ -> .+")
_RUN_FAILURE = re.compile(r"\S+ \(declared at \S+:\d+\): .+ -> .+")


def shortcomings(message: str, stage: str) -> list[str]:
    """The lines of a message that do not say where (file and line, entity) and what to do (`-> fix`)."""
    if stage == "run":
        return [] if _RUN_FAILURE.fullmatch(message) else [message]
    lines = message.splitlines()
    if lines and lines[0].startswith("the ingest project has "):
        return [line for line in lines[1:] if not _PROBLEM.fullmatch(line)]
    return [line for line in lines if line.startswith("  FAIL") and not _FAILED_CHECK.fullmatch(line)]


def case_folders() -> list[Path]:
    return sorted(path for path in CORPUS.iterdir() if path.is_dir())


def cases(stage: str, expect: str | None = None) -> list[Any]:
    """`pytest.param`s of the cases of `stage` (and, for run cases, `expect`), named by their folders."""
    chosen = [Case(folder) for folder in case_folders()]
    return [pytest.param(case, id=case.name) for case in chosen
            if case.settings.stage == stage and expect in (None, case.settings.expect)]


@contextmanager
def within(limits: Limits | None) -> Iterator[None]:
    """Fail unless the block stays within `limits` (nothing is measured without them)."""
    if limits is None:
        yield
        return
    tracemalloc.start()
    started = time.perf_counter()
    try:
        yield
    finally:
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    assert seconds <= limits.seconds, f"took {seconds:.2f}s, more than {limits.seconds}s"
    assert peak <= limits.mib, f"peaked at {peak:.1f} MiB of Python memory, more than {limits.mib} MiB"
