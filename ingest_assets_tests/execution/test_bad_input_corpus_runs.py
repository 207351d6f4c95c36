"""The bad-input corpus, run cases: bad data fails the run with exactly its expected.txt and changes nothing.

Each case loads once (the destination and the cursor it leaves are recorded), then `bad` and the files of its
bad/ folder change the input, and the next run must fail with the expected message, leaving the destination's
files and the cursor exactly as they were. Cases with `expect: success` must load instead: expected.txt lists
the destination's rows. The layout is described in ingest_assets_tests/bad_input_corpus.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from ingest_assets_tests import bad_input_corpus as corpus
from ingest_assets_tests.conftest import Project, read_parquet_table
from ingest_assets_tests.servers.postgres import PostgresServer

# The role the PostgreSQL cases read as; its password is in ${CORPUS_PG_PASSWORD} (a case may change it).
POSTGRES_USER = "loader"
POSTGRES_PASSWORD = "the-password"


@pytest.fixture(scope="module")
def password_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A PostgreSQL of this module's own that checks passwords: the session's trusts every local login, and
    changing its pg_hba.conf under the other tests' feet took it down. Started only if a case needs it."""
    from ingest_assets_tests.servers.postgres import postgres_server

    with postgres_server(tmp_path_factory.mktemp("password_postgres")) as server:
        hba = Path(server.execute("postgres", "SHOW hba_file")[0][0])
        hba.write_text("local all postgres trust\nlocal all all scram-sha-256\n", encoding="utf-8")
        server.execute("postgres", "SELECT pg_reload_conf()")
        server.execute("postgres", f"CREATE ROLE {POSTGRES_USER} LOGIN PASSWORD '{POSTGRES_PASSWORD}'")
        yield server


class Setup:
    """A case's project in `project.root`, and the changes it makes before each run."""

    def __init__(self, case: corpus.Case, project: Project, monkeypatch: pytest.MonkeyPatch,
                 request: pytest.FixtureRequest):
        self.case, self.project, self.monkeypatch = case, project, monkeypatch
        self.placeholders = {"root": str(project.root)}
        self.postgres: tuple[PostgresServer, str] | None = None
        if case.settings.uses_postgres:
            server: PostgresServer = request.getfixturevalue("password_postgres")
            database = server.create_database(case.name[:63])
            self.postgres = server, database
            self.placeholders["postgres_socket"] = server.socket_dir
            for name, value in (("CORPUS_PG_HOST", server.socket_dir), ("CORPUS_PG_DATABASE", database),
                                ("CORPUS_PG_PASSWORD", POSTGRES_PASSWORD)):
                monkeypatch.setenv(name, value)
        monkeypatch.delenv("INGEST_ENV", raising=False)
        case.copy_project(project.root)
        self.change(case.settings)

    def change(self, changes: corpus.Changes) -> None:
        corpus.apply(changes, self.project.root, self.monkeypatch)
        if changes.postgres:
            assert self.postgres is not None
            server, database = self.postgres
            for statement in changes.postgres:
                server.execute(database, statement)

    def make_bad(self) -> None:
        self.case.copy_bad_files(self.project.root)
        self.change(self.case.settings.bad)

    @property
    def destination(self) -> Path:
        assert self.case.settings.destination is not None
        return self.project.root / self.case.settings.destination

    @property
    def asset(self) -> str:
        assert self.case.settings.asset is not None
        return self.case.settings.asset

    def expected(self) -> str:
        return self.case.expected(self.placeholders)


@pytest.fixture
def setup(request: pytest.FixtureRequest, project: Project, monkeypatch: pytest.MonkeyPatch) -> Setup:
    return Setup(request.param, project, monkeypatch, request)


@pytest.mark.parametrize("setup", corpus.cases("run", "failure"), indirect=True)
def test_bad_data_fails_the_run_and_changes_nothing(setup: Setup) -> None:
    project = setup.project
    project.materialize(setup.asset)
    before = snapshot(setup.destination)
    assert before[1], f"the first run left no files in {setup.destination}"
    cursor = project.latest_metadata(setup.asset).get("ingest/cursor")
    runs = project.materialization_count(setup.asset)

    setup.make_bad()
    result = project.materialize(setup.asset, raise_on_error=False)

    assert not result.success
    assert failure_message(result) == setup.expected()
    assert snapshot(setup.destination) == before
    assert project.materialization_count(setup.asset) == runs
    assert project.latest_metadata(setup.asset).get("ingest/cursor") == cursor


@pytest.mark.parametrize("setup", corpus.cases("run", "success"), indirect=True)
def test_awkward_data_loads(setup: Setup) -> None:
    setup.project.materialize(setup.asset)
    setup.make_bad()
    setup.project.materialize(setup.asset)
    assert destination_rows(setup.destination) == setup.expected()


def snapshot(destination: Path) -> tuple[str | None, dict[str, bytes]]:
    """The destination as a reader finds it: where its table folder points (a Parquet store publishes a
    version by moving a link), and the bytes of every file in it."""
    link = os.readlink(destination) if destination.is_symlink() else None
    files = {path.relative_to(destination).as_posix(): path.read_bytes()
             for path in sorted(destination.rglob("*")) if path.is_file()}
    return link, files


def destination_rows(destination: Path) -> str:
    """The destination's rows, one `repr` of a row's dict a line, sorted."""
    return "\n".join(sorted(repr(row) for row in read_parquet_table(destination).to_pylist()))


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """What the failed step says: the description of the Failure the product raised (the entity, where it is
    declared, and its message); else the chain of errors it let through, top to bottom, the first line of each."""
    [failure] = result.get_step_failure_events()
    data = failure.step_failure_data
    if data.user_failure_data is not None and data.user_failure_data.description:
        return data.user_failure_data.description
    lines = []
    error = data.error
    while error is not None:
        lines.append(error.message.strip().splitlines()[0])
        error = error.cause
    return "\n".join(lines)
