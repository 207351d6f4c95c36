"""`ingest check`: a real PostgreSQL reached and refused, Parquet folders present and missing."""

from __future__ import annotations

import pytest

from ingest_assets.cli.main import main
from ingest_assets_tests.conftest import Project
from ingest_assets_tests.servers.processes import free_port

FLOW = """
    home: db
    store: lake
    entities:
      - name: orders
"""


def check(project: Project, capsys, *arguments: str) -> tuple[int, list[str]]:
    code = main(["check", "--flows-dir", str(project.flows), *arguments])
    return code, capsys.readouterr().out.splitlines()


def _version(server, database: str) -> str:
    number = int(server.execute(database, "SHOW server_version_num")[0][0])
    return f"{number // 10000}.{number % 10000}"


def test_check_passes_on_a_reachable_postgres_home_and_a_parquet_store(project: Project, postgres_server,
                                                                       pg_database, capsys):
    postgres_server.execute(pg_database, "CREATE TABLE orders (id integer)")
    (project.root / "lake").mkdir()
    project.write({
        "flows/ingest.yml": "connections:\n  db:\n" + postgres_server.connection_yaml(pg_database)
                            + "\n  lake: {type: parquet, path: lake}\n  spare: {type: parquet, path: nowhere}\n",
        "flows/sales/flow.yml": FLOW,
    })
    code, lines = check(project, capsys)
    assert lines == [
        "project is valid: 1 flow, 1 entity",
        "db (postgres): home of 1 entity",
        f"  ok    connected (postgresql {_version(postgres_server, pg_database)})",
        "  ok    can read table orders",
        "lake (parquet): store of 1 entity",
        f"  ok    folder {project.root / 'lake'} exists and is writable",
        "spare (parquet): not used by any entity, not checked",
        "2 connections checked, 0 failed",
    ]
    assert code == 0
    assert list((project.root / "lake").iterdir()) == []  # the probe file is gone


def test_check_probes_a_postgres_store_and_leaves_no_table(project: Project, postgres_server, pg_database, capsys):
    (project.root / "source").mkdir()
    (project.root / "source/orders.csv").write_text("id\n1\n")
    project.write({
        "flows/ingest.yml": "connections:\n  files: {type: csv, path: source}\n  db:\n"
                            + postgres_server.connection_yaml(pg_database) + "\n",
        "flows/sales/flow.yml": "home: files\nstore: db\nentities:\n  - name: orders\n    home: {path: orders.csv}\n",
    })
    code, lines = check(project, capsys)
    assert lines[1:] == [
        "files (csv): home of 1 entity",
        "  ok    can read 'orders.csv'",
        "db (postgres): store of 1 entity",
        f"  ok    connected (postgresql {_version(postgres_server, pg_database)})",
        "  ok    can create tables (created and dropped a probe table)",
        "2 connections checked, 0 failed",
    ]
    assert code == 0
    assert postgres_server.execute(pg_database, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [(0,)]


# A wrong password is not tested here: the session's server trusts local logins, and changing its
# pg_hba.conf under the other tests' feet took the shared server down.
def test_check_reports_a_closed_port_and_a_missing_folder(project: Project, capsys):
    port = free_port()
    project.write({
        "flows/ingest.yml": f"""
            connections:
              closed: {{type: postgres, host: 127.0.0.1, port: {port}, database: shop, user: u}}
              files: {{type: parquet, path: missing}}
              lake: {{type: parquet, path: lake}}
            """,
        "flows/a/flow.yml": "home: closed\nstore: lake\nentities: [{name: orders}]\n",
        "flows/c/flow.yml": "home: files\nstore: lake\nentities: [{name: events, home: {path: events}}]\n",
    })
    code, lines = check(project, capsys)
    reach_fix = ("check 'host:' and 'port:' (or 'url:'), that the server runs and accepts connections from here, "
                 "then the database, user and password")
    assert lines == [
        "project is valid: 2 flows, 2 entities",
        "closed (postgres): home of 1 entity",
        f'  FAIL  cannot connect: connection failed: connection to server at "127.0.0.1", port {port} failed: '
        f"Connection refused -> {reach_fix}",
        "files (parquet): home of 1 entity",
        f"  FAIL  folder {project.root / 'missing'} does not exist -> create it, or fix the connection's 'path:'",
        "lake (parquet): store of 2 entities",
        f"  note  folder {project.root / 'lake'} does not exist yet; {project.root} is writable, so the first "
        "load creates it",
        "3 connections checked, 2 failed",
    ]
    assert code == 1
    assert not (project.root / "lake").exists()


def test_check_reports_a_missing_environment_variable(project: Project, capsys, monkeypatch):
    monkeypatch.delenv("LAKE_DIR", raising=False)
    project.write({
        "flows/ingest.yml": """
            connections:
              src: {type: csv, path: src}
              lake: {type: parquet, path: "${LAKE_DIR}/lake"}
            """,
        "flows/f/flow.yml": "home: src\nstore: lake\nentities: [{name: t, home: {path: t.csv}}]\n",
    })
    code, lines = check(project, capsys)
    assert code == 1
    assert lines[-3:-1] == ["lake (parquet): store of 1 entity",
                            "  FAIL  " + _missing_variable_text("LAKE_DIR")]


def _missing_variable_text(name: str) -> str:
    from ingest_assets.config.references import resolve_references
    from ingest_assets.errors import MissingEnvironmentVariable

    with pytest.raises(MissingEnvironmentVariable) as raised:
        resolve_references(f"${{{name}}}/lake")
    return str(raised.value)


def test_check_prints_the_config_problems_as_they_are(project: Project, capsys):
    project.write({
        "flows/ingest.yml": "connections:\n  lake: {type: parquet, pth: lake}\n",
        "flows/f/flow.yml": "home: lake\nstore: lake\nentities: [{name: t, home: {path: t}}]\n",
    })
    code, lines = check(project, capsys)
    assert code == 1
    assert lines == [
        "the ingest project has 2 problems:",
        "  flows/ingest.yml:2: project: missing required setting 'connections.lake.path' "
        "-> add 'path:' here",
        "  flows/ingest.yml:2: project: unknown key 'pth' in connections.lake -> did you mean 'path'? "
        "valid keys: description, path, type",
    ]


def test_check_reads_the_first_row_of_each_entity_for_its_named_columns(project: Project, capsys):
    import sqlite3

    (project.root / "lake").mkdir()
    with sqlite3.connect(project.root / "shop.sqlite") as connection:
        connection.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, updated_at DATETIME)")
        connection.execute("INSERT INTO orders VALUES (1, '2026-01-01 00:00:00')")
    project.write({
        "flows/ingest.yml": "connections:\n  shop: {type: sqlite, path: shop.sqlite}\n  lake: {type: parquet, path: lake}\n",
        "flows/s/flow.yml": """
            home: shop
            store: lake
            run_type: incremental
            entities:
              - {name: good, home: {table: orders}, keys: [id], watermark: updated_at}
              - {name: typo, home: {table: orders}, keys: [id], watermark: updatd_at}
              - {name: snapshot, home: {table: orders}, run_type: full_drop}
            """,
    })
    code, lines = check(project, capsys)
    assert lines == [
        "project is valid: 1 flow, 3 entities",
        "shop (sqlite): home of 3 entities",
        f"  ok    connected (sqlite {sqlite3.sqlite_version})",
        *["  ok    can read table orders"] * 3,
        "  ok    s.good: the source has id, updated_at",
        "  FAIL  s.typo: the source has no column updatd_at (it has id, updated_at) -> fix the column names in "
        "flows/s/flow.yml:6",
        # s.snapshot names no column: nothing to check
        "lake (parquet): store of 3 entities",
        f"  ok    folder {project.root / 'lake'} exists and is writable",
        "2 connections checked, 1 failed",
    ]
    assert code == 1
