"""The bad-input corpus, project cases: each folder's project gives exactly its expected.txt, both where the
definitions load (`build_definitions`, what `dagster dev` and every run hit) and from `ingest check`.

Run cases (`stage: run`) are in execution/test_bad_input_corpus_runs.py; the layout is described in
ingest_assets_tests/bad_input_corpus.py.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ingest_assets.cli.main import main
from ingest_assets.defs.factory import build_definitions
from ingest_assets.errors import ConfigError
from ingest_assets_tests import bad_input_corpus as corpus

# What the committed corpus may weigh: the big and binary inputs are recipes, not files.
MAX_CORPUS_BYTES = 200 * 1024


@pytest.fixture(autouse=True)
def _no_machine_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The case alone decides the environment and the instance (no DAGSTER_HOME/dagster.yaml of the machine)."""
    for name in ("INGEST_ENV", "INGEST_FLOWS_DIR", "DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("folder", corpus.case_folders(), ids=lambda folder: folder.name)
def test_every_case_has_its_expected_message_and_valid_settings(folder: Path) -> None:
    assert (folder / corpus.EXPECTED).is_file(), f"{folder.name}: add {corpus.EXPECTED} with the exact message"
    case = corpus.Case(folder)  # case.yml, when there is one, validates
    assert (folder / "flows").is_dir() or case.settings.data, f"{folder.name}: the case holds no project"
    if case.settings.bug is None and case.settings.expect == "failure":
        # A message that falls short is a bug: say so in case.yml (`bug:`), never let it pass unsaid.
        message = (folder / corpus.EXPECTED).read_text(encoding="utf-8").removesuffix("\n")
        assert corpus.shortcomings(message, case.settings.stage) == [], (
            f"{folder.name}: the message does not name where and what to do; fix it, or mark the case 'bug:'")


def test_the_committed_corpus_stays_small() -> None:
    size = sum(path.stat().st_size for path in corpus.CORPUS.rglob("*") if path.is_file())
    assert size < MAX_CORPUS_BYTES, f"the corpus holds {size:,} bytes: make big inputs from a recipe in case.yml"


@pytest.mark.parametrize("case", corpus.cases("check"))
def test_a_project_case_gives_its_exact_message(case: corpus.Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    case.copy_project(tmp_path)
    corpus.apply(case.settings, tmp_path, monkeypatch)
    expected = case.expected({"root": str(tmp_path), "sqlite_version": sqlite3.sqlite_version})

    with corpus.within(case.settings.limits):
        problem = _definitions_problem(tmp_path / "flows")
    assert problem == (None if case.settings.valid else expected)

    capsys.readouterr()
    status = main(["check", "--flows-dir", str(tmp_path / "flows")])
    assert capsys.readouterr().out == expected + "\n"
    assert status == case.settings.exit


def _definitions_problem(flows: Path) -> str | None:
    """The message that stops the definitions from loading, or None when they load."""
    try:
        build_definitions(flows)
    except ConfigError as error:
        return str(error)
    return None
