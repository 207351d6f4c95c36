"""The Dagster instance on PostgreSQL: refuse, when the definitions load, a storage URL that cannot work.

dagster-postgres builds its engine from the URL in `dagster.yaml`. A plain `postgresql://` URL (and
`postgres_db` without `scheme`) lets SQLAlchemy pick its default PostgreSQL driver, which is psycopg 3
from SQLAlchemy 2.1 on; with it dagster-postgres' event write fails on the run's first event
(`syntax error at or near "$1" ... NOTIFY run_events, $1`). It works with psycopg2, the driver it is
written for. Loading the definitions comes before any run is created (the CLI, the webserver's code
server and every step load them first), so the check here names the file and the fix instead.

It reads `$DAGSTER_HOME/dagster.yaml` only (Dagster's own instance file), opens no connection and
imports no driver: SQLAlchemy says which driver a URL would use without importing it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import yaml

from ingest_assets.errors import IngestError

# psycopg 3: dagster-postgres binds NOTIFY's payload as a parameter, which only psycopg2 sends inline.
UNSUPPORTED_DRIVERS = {"psycopg": "psycopg 3"}
SECTIONS = ("storage", "run_storage", "event_log_storage", "schedule_storage")
WORKING_SCHEME = "postgresql+psycopg2"


class InstanceStorageUnsupported(IngestError):
    """The instance's PostgreSQL storage URL picks a driver dagster-postgres fails with."""

    def __init__(self, *, config_file: str, section: str, form: str, scheme: str, driver: str) -> None:
        self.config_file, self.section, self.form, self.scheme, self.driver = config_file, section, form, scheme, driver
        if form == "postgres_url":
            fix = f"write the URL as {WORKING_SCHEME}://user:password@host:5432/database"
        else:
            fix = f"add `scheme: {WORKING_SCHEME}` under postgres_db"
        super().__init__(
            f"{config_file}: {section}.{form}: the scheme {scheme!r} makes SQLAlchemy use the "
            f"{UNSUPPORTED_DRIVERS.get(driver, driver)} driver, with which dagster-postgres fails to write run "
            f"events (syntax error at or near \"$1\" ... NOTIFY) -> {fix}, and install psycopg2 "
            "(pip install 'ingest_assets[postgres-instance]')"
        )


def check_instance_storage(dagster_home: str | None = None) -> None:
    """Raise `InstanceStorageUnsupported` if the instance's PostgreSQL storage names a failing driver."""
    home = dagster_home if dagster_home is not None else os.environ.get("DAGSTER_HOME")
    if not home:
        return  # an ephemeral instance: nothing configured
    config_file = Path(home) / "dagster.yaml"
    if not config_file.is_file():
        return
    config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    if not isinstance(config, Mapping):
        return  # Dagster reports a malformed instance file itself
    for section in SECTIONS:
        postgres = _postgres_config(config.get(section))
        if postgres is None:
            continue
        form, scheme = _scheme(postgres)
        if scheme is None:
            continue
        driver = _driver(scheme)
        if driver in UNSUPPORTED_DRIVERS:
            raise InstanceStorageUnsupported(config_file=str(config_file), section=section, form=form,
                                             scheme=scheme, driver=driver)


def _postgres_config(section: object) -> Mapping[str, object] | None:
    """The PostgreSQL settings of one storage section: `postgres:` or a dagster_postgres class's `config:`."""
    if not isinstance(section, Mapping):
        return None
    if isinstance(section.get("postgres"), Mapping):
        return section["postgres"]  # type: ignore[no-any-return]
    module = section.get("module")
    if isinstance(module, str) and module.startswith("dagster_postgres") and isinstance(section.get("config"), Mapping):
        return section["config"]  # type: ignore[no-any-return]
    return None


def _scheme(postgres: Mapping[str, object]) -> tuple[str, str | None]:
    if "postgres_url" in postgres:
        url = _value(postgres["postgres_url"])
        return "postgres_url", (url.split("://", 1)[0] if url and "://" in url else None)
    database = postgres.get("postgres_db")
    if isinstance(database, Mapping):
        return "postgres_db", _value(database.get("scheme", "postgresql"))  # dagster-postgres' default scheme
    return "", None


def _value(value: object) -> str | None:
    """A string setting, or one given as `{env: VARIABLE}` (unset: Dagster reports it itself)."""
    if isinstance(value, Mapping) and isinstance(value.get("env"), str):
        return os.environ.get(value["env"])
    return value if isinstance(value, str) else None


def _driver(scheme: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        return make_url(f"{scheme}://").get_driver_name()
    except (ArgumentError, NoSuchModuleError):
        return scheme  # not a scheme SQLAlchemy knows: dagster-postgres reports it when it connects
