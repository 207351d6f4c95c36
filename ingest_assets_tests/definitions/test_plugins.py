"""Connector plugins: a JSON-lines home and store registered through a real entry point.

Each test writes a distribution (`example_plugin-0.1.dist-info` with METADATA and entry_points.txt,
and the module) into a folder put on sys.path, so `importlib.metadata` discovers it as if installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest_assets.cli.main import main
from ingest_assets.connectors.plugins import PluginError, plugin_connector_types, project_file_model
from ingest_assets.errors import ConfigError
from ingest_assets_tests.conftest import Project, duckdb_rows
from ingest_assets_tests.unit.test_config_errors import CONNECTION_TYPES

PLUGIN = {
    "example_plugin/__init__.py": '''
        """Light on purpose: the project loads this module; home and store are imported at run time."""
        from collections.abc import Iterator
        from pathlib import Path
        from typing import Literal

        import dagster as dg

        from ingest_assets.plugins import (
            CheckLine, ConnectionSettings, ConnectionUse, ConnectorType, fail, ok, resolve_references,
        )


        class JsonLinesConnection(ConnectionSettings):
            """A folder of JSON-lines files."""

            type: Literal["jsonl"]
            folder: str


        class JsonLinesResource(dg.ConfigurableResource):
            folder: str
            project_root: str

            def path(self) -> Path:
                return Path(self.project_root) / resolve_references(self.folder)

            def check_connection(self, use: ConnectionUse) -> Iterator[CheckLine]:
                folder = self.path()
                if folder.is_dir():
                    yield ok(f"folder {self.folder} exists")
                else:
                    yield fail(f"folder {self.folder} does not exist -> create it")


        def _resource(connection: JsonLinesConnection, root: Path) -> JsonLinesResource:
            return JsonLinesResource(folder=connection.folder, project_root=str(root))


        JSONL = ConnectorType(
            "jsonl", _resource, "example_plugin.home:JsonLinesHome", "example_plugin.store:JsonLinesStore",
            frozenset({"path"}), "path", write_strategies=frozenset({"append", "replace"}),
            partitioned_writes=False, counts_table=False, model=JsonLinesConnection,
        )
    ''',
    "example_plugin/home.py": '''
        import json
        from contextlib import contextmanager

        import pyarrow as pa

        from ingest_assets.plugins import ReadRequest, ReadSpec, TerminalError


        class JsonLinesHome:
            def __init__(self, resource):
                self._resource = resource

            @contextmanager
            def read(self, request: ReadRequest):
                path = self._resource.path() / request.spec.path
                if not path.is_file():
                    raise TerminalError(f"{path} does not exist -> check home.path")
                rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
                table = pa.Table.from_pylist(rows)
                if request.spec.columns:
                    table = table.select(list(request.spec.columns))
                yield pa.RecordBatchReader.from_batches(table.schema, table.to_batches(request.spec.batch_size))

            def max_value(self, spec: ReadSpec, column: str):
                return None
    ''',
    "example_plugin/store.py": '''
        import json
        from contextlib import contextmanager

        from ingest_assets.plugins import CommitResult, FollowsSchemaChanges, KeepsNoLoadRecord, WriteMode, WriteSpec


        class JsonLinesStore(FollowsSchemaChanges, KeepsNoLoadRecord):
            def __init__(self, resource):
                self._resource = resource

            def _file(self, target: WriteSpec):
                return self._resource.path() / f"{target.path}.jsonl"

            @contextmanager
            def writer(self, target, mode, layout, run_token, quality, record=None):
                final = self._file(target)
                final.parent.mkdir(parents=True, exist_ok=True)
                staged = final.with_name(f"_{run_token}.jsonl")
                try:
                    yield _Writer(final, staged, mode)
                finally:
                    staged.unlink(missing_ok=True)  # without commit, nothing staged survives

            def describe(self, target: WriteSpec) -> str:
                return f"jsonl file {target.path}.jsonl"

            def exists(self, target: WriteSpec) -> bool:
                return self._file(target).exists()

            def current_schema(self, target: WriteSpec):
                return None


        class _Writer:
            def __init__(self, final, staged, mode: WriteMode):
                self._final, self._staged, self._mode, self._rows = final, staged, mode, 0
                self._file = staged.open("w")

            def write(self, batch) -> None:
                for row in batch.to_pylist():
                    self._file.write(json.dumps(row, default=str) + "\\n")
                self._rows += batch.num_rows

            def finish_staging(self) -> int:
                self._file.close()
                return self._rows

            def resolve_duplicate_keys(self) -> int:
                return 0

            def commit(self) -> CommitResult:
                if self._mode.kind == "append" and self._final.exists():
                    with self._final.open("a") as target:
                        target.write(self._staged.read_text())
                else:
                    self._staged.replace(self._final)
                return CommitResult(rows_written=self._rows, rows_replaced=0, rows_before=None, rows_after=None,
                                    window_rows=None, location=str(self._final))
    ''',
    "example_plugin-0.1.dist-info/METADATA": """
        Metadata-Version: 2.1
        Name: example_plugin
        Version: 0.1
    """,
    "example_plugin-0.1.dist-info/entry_points.txt": """
        [ingest_assets.connectors]
        jsonl = example_plugin:JSONL
    """,
}

BROKEN = {
    "broken_plugin/__init__.py": "raise ImportError('No module named yaml_extras')\n",
    "broken_plugin-2.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: broken_plugin\nVersion: 2.0\n",
    "broken_plugin-2.0.dist-info/entry_points.txt": "[ingest_assets.connectors]\nbroken = broken_plugin:CONNECTOR\n",
}

PROJECT = {
    "flows/ingest.yml": """
        connections:
          feed: {type: jsonl, folder: feed}
          archive: {type: jsonl, folder: archive}
          warehouse: {type: duckdb, path: warehouse.duckdb}
    """,
    "flows/events/flow.yml": """
        home: feed
        entities:
          - name: clicks
            home: {path: clicks.jsonl}
            store: archive
          - name: clicks_db
            home: {path: clicks.jsonl}
            store: warehouse
            keys: [id]
    """,
}


def _install(folder: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))


def _forget_plugins() -> None:
    plugin_connector_types.cache_clear()
    project_file_model.cache_clear()
    for name in [m for m in sys.modules if m.split(".")[0] in ("example_plugin", "broken_plugin")]:
        del sys.modules[name]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on sys.path where tests install plugin distributions."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    _forget_plugins()
    yield folder
    _forget_plugins()


def _clicks(project: Project) -> None:
    project.write(PROJECT)
    rows = [{"id": i, "page": f"/p/{i % 3}", "ms": i * 10} for i in range(1, 6)]
    (project.root / "feed").mkdir()
    (project.root / "feed/clicks.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_a_plugin_home_and_store_materialize_through_dagster(project: Project, site: Path):
    _install(site, PLUGIN)
    _clicks(project)

    result = project.materialize("*")

    assert result.success
    written = (project.root / "archive/events/clicks.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in written] == [
        {"id": i, "page": f"/p/{i % 3}", "ms": i * 10} for i in range(1, 6)
    ]
    assert duckdb_rows(project.root / "warehouse.duckdb", "SELECT count(*), sum(ms) FROM events.clicks_db") == [(5, 150)]
    assert [p.name for p in (project.root / "archive/events").iterdir()] == ["clicks.jsonl"]  # nothing staged left


def test_ingest_check_runs_the_plugins_own_check(project: Project, site: Path, capsys):
    _install(site, PLUGIN)
    _clicks(project)
    assert main(["check", "--flows-dir", str(project.flows)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "project is valid: 1 flow, 2 entities",
        "feed (jsonl): home of 2 entities",
        "  ok    folder feed exists",
        "  ok    events.clicks_db: the source has id",  # the plugin's home read for the entity's key
        "archive (jsonl): store of 1 entity",
        "  FAIL  folder archive does not exist -> create it",
        "warehouse (duckdb): store of 1 entity",
        f"  note  database file {project.root / 'warehouse.duckdb'} does not exist yet; the first load creates it "
        f"(folder {project.root} exists and is writable)",
        "3 connections checked, 1 failed",
    ]


def _problems(project: Project) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        project.definitions()
    return [str(problem) for problem in raised.value.problems]


def test_plugin_settings_are_validated_by_the_plugins_model_with_located_messages(project: Project, site: Path):
    _install(site, PLUGIN)
    project.write({**PROJECT, "flows/ingest.yml": """
        connections:
          feed: {type: jsonl, fodler: feed}
          archive: {type: jsonl, folder: archive}
          warehouse: {type: duckdb, path: warehouse.duckdb}
    """})
    assert _problems(project) == [
        "flows/ingest.yml:2: project: missing required setting 'connections.feed.folder' -> add 'folder:' here",
        "flows/ingest.yml:2: project: unknown key 'fodler' in connections.feed -> did you mean 'folder'? "
        "valid keys: description, folder, type",
    ]


def test_an_unknown_type_lists_the_built_in_and_the_installed_types(project: Project, site: Path):
    _install(site, PLUGIN)
    project.write({**PROJECT, "flows/ingest.yml": "connections:\n  feed: {type: xml, folder: feed}\n"})
    assert _problems(project) == [
        f"flows/ingest.yml:2: project: connections.feed: unknown type 'xml' -> one of {CONNECTION_TYPES}, 'jsonl'",
    ]


def test_a_plugin_that_fails_to_import_names_its_entry_point_and_distribution(project: Project, site: Path):
    _install(site, BROKEN)
    project.write(PROJECT)
    with pytest.raises(PluginError) as raised:
        project.definitions()
    assert str(raised.value) == (
        "connector plugin 'broken' (broken_plugin:CONNECTOR, from distribution broken_plugin 2.0) failed to "
        "import: ImportError: No module named yaml_extras -> fix the plugin, or uninstall it "
        "(pip uninstall broken_plugin)"
    )


def test_ingest_check_reports_a_broken_plugin(project: Project, site: Path, capsys):
    _install(site, BROKEN)
    project.write(PROJECT)
    assert main(["check", "--flows-dir", str(project.flows)]) == 1
    assert capsys.readouterr().out.startswith("connector plugin 'broken' (broken_plugin:CONNECTOR, from distribution "
                                              "broken_plugin 2.0) failed to import")


def test_a_plugin_may_not_shadow_a_built_in_type(project: Project, site: Path):
    _install(site, {**PLUGIN, "example_plugin-0.1.dist-info/entry_points.txt":
                    "[ingest_assets.connectors]\nparquet = example_plugin:JSONL\n"})
    project.write(PROJECT)
    with pytest.raises(PluginError) as raised:
        project.definitions()
    assert str(raised.value) == (
        "connector plugin 'parquet' (example_plugin:JSONL, from distribution example_plugin 0.1) registers type "
        "'parquet', which is built in -> give the entry point another name"
    )


def test_loading_definitions_imports_neither_the_plugins_home_and_store_nor_pyarrow(project: Project, site: Path):
    _install(site, PLUGIN)
    _clicks(project)
    script = (
        "import sys, json\n"
        "from ingest_assets.defs.factory import build_definitions\n"
        f"defs = build_definitions({str(project.flows)!r})\n"
        "print(json.dumps([sorted(k.to_user_string() for k in defs.resolve_all_asset_keys()),\n"
        "                  sorted(m for m in sys.modules if m.startswith(('example_plugin', 'pyarrow', 'duckdb')))]))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env)
    assert json.loads(output.stdout.strip().splitlines()[-1]) == [
        ["events/clicks", "events/clicks_db", "source/feed/clicks.jsonl"], ["example_plugin"],  # and the read file
    ]
