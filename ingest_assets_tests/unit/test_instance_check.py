"""`check_instance_storage`: the instance forms that dagster-postgres fails with are refused, with the fix.

Pure: it reads a dagster.yaml and asks SQLAlchemy which driver a scheme picks (no connection).
The real run on a PostgreSQL instance is integration/test_postgres_instance.py.
"""

from __future__ import annotations

import pytest
import sqlalchemy
from sqlalchemy.engine import make_url

from ingest_assets.defs.instance_check import InstanceStorageUnsupported, check_instance_storage

# The check is about SQLAlchemy's default PostgreSQL driver; under 2.0 it is psycopg2 and all is well.
DEFAULT_IS_PSYCOPG3 = make_url("postgresql://").get_driver_name() == "psycopg"
needs_psycopg3_default = pytest.mark.skipif(not DEFAULT_IS_PSYCOPG3,
                                            reason=f"SQLAlchemy {sqlalchemy.__version__} defaults to psycopg2")


def _home(tmp_path, text: str) -> str:
    (tmp_path / "dagster.yaml").write_text(text)
    return str(tmp_path)


@needs_psycopg3_default
def test_a_plain_postgresql_url_is_refused_with_the_fix(tmp_path):
    home = _home(tmp_path, "storage:\n  postgres:\n    postgres_url: postgresql://u:p@db:5432/dagster\n")
    with pytest.raises(InstanceStorageUnsupported) as raised:
        check_instance_storage(home)
    assert str(raised.value) == (
        f"{tmp_path}/dagster.yaml: storage.postgres_url: the scheme 'postgresql' makes SQLAlchemy use the psycopg 3 "
        "driver, with which dagster-postgres fails to write run events (syntax error at or near \"$1\" ... NOTIFY) "
        "-> write the URL as postgresql+psycopg2://user:password@host:5432/database, and install psycopg2 "
        "(pip install 'ingest_assets[postgres-instance]')")


@needs_psycopg3_default
def test_postgres_db_without_a_scheme_is_refused(tmp_path):
    home = _home(tmp_path, "storage:\n  postgres:\n    postgres_db: {username: u, hostname: db, db_name: d}\n")
    with pytest.raises(InstanceStorageUnsupported, match=r"storage\.postgres_db: the scheme 'postgresql' .* -> add "
                                                         r"`scheme: postgresql\+psycopg2` under postgres_db"):
        check_instance_storage(home)


@needs_psycopg3_default
def test_a_url_from_an_environment_variable_and_a_storage_class_are_read(tmp_path, monkeypatch):
    monkeypatch.setenv("PG_URL", "postgresql+psycopg://u@db/d")
    home = _home(tmp_path, "event_log_storage:\n  module: dagster_postgres.event_log\n  class: PostgresEventLogStorage\n"
                           "  config:\n    postgres_url: {env: PG_URL}\n")
    with pytest.raises(InstanceStorageUnsupported, match=r"event_log_storage\.postgres_url: the scheme "
                                                         r"'postgresql\+psycopg' makes"):
        check_instance_storage(home)


@pytest.mark.parametrize("text", [
    "storage:\n  postgres:\n    postgres_url: postgresql+psycopg2://u@db/d\n",
    "storage:\n  postgres:\n    postgres_db: {username: u, hostname: db, db_name: d, scheme: postgresql+psycopg2}\n",
    "storage:\n  postgres:\n    postgres_url: {env: UNSET_INGEST_TEST_VARIABLE}\n",  # Dagster reports it
    "storage:\n  sqlite:\n    base_dir: .dagster\n",
    "telemetry:\n  enabled: false\n",
    "",
])
def test_forms_that_work_or_are_not_postgres_pass(tmp_path, text):
    check_instance_storage(_home(tmp_path, text))


def test_no_instance_file_or_no_dagster_home_passes(tmp_path, monkeypatch):
    check_instance_storage(str(tmp_path))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    check_instance_storage()
