"""`${VAR}` and `${VAR:-default}` references: syntax checked at load, values resolved at run time."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest_assets.config.references import reference_syntax_errors, referenced_names, resolve_references
from ingest_assets.connectors import registry
from ingest_assets.errors import ConfigError, IngestError, MissingEnvironmentVariable
from ingest_assets.plan.load import load_plan
from ingest_assets_tests.conftest import write_project

# ---- resolving ----------------------------------------------------------------------------------


def test_resolves_a_variable() -> None:
    assert resolve_references("${LAKE}/sales", {"LAKE": "/mnt/lake"}) == "/mnt/lake/sales"


def test_resolves_every_reference_in_the_text() -> None:
    environ = {"USER": "ingest", "PASSWORD": "s3cret", "HOST": "db.internal"}
    url = "postgresql://${USER}:${PASSWORD}@${HOST}:${PORT:-5432}/shop"
    assert resolve_references(url, environ) == "postgresql://ingest:s3cret@db.internal:5432/shop"


def test_default_is_used_when_the_variable_is_unset() -> None:
    assert resolve_references("${DEMO_DIR:-data/demo}/shop.sqlite", {}) == "data/demo/shop.sqlite"


def test_variable_wins_over_its_default() -> None:
    assert resolve_references("${DEMO_DIR:-data/demo}/shop.sqlite", {"DEMO_DIR": "/tmp/x"}) == "/tmp/x/shop.sqlite"


def test_default_is_used_when_the_variable_is_empty() -> None:
    """As in the shell: `:-` means unset or empty."""
    assert resolve_references("${DEMO_DIR:-data}/shop.sqlite", {"DEMO_DIR": ""}) == "data/shop.sqlite"


def test_an_empty_variable_without_default_is_empty() -> None:
    assert resolve_references("a${EMPTY}b", {"EMPTY": ""}) == "ab"


def test_empty_default() -> None:
    assert resolve_references("prefix${SUFFIX:-}", {}) == "prefix"


def test_text_without_references_is_unchanged() -> None:
    assert resolve_references("data/$HOME/{x}", {}) == "data/$HOME/{x}"


def test_reads_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INGEST_TEST_LAKE", "/srv/lake")
    assert resolve_references("${INGEST_TEST_LAKE}/orders") == "/srv/lake/orders"


def test_missing_variable_names_the_variable_and_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAREHOUSE_DIR", raising=False)
    with pytest.raises(MissingEnvironmentVariable) as caught:
        resolve_references("${WAREHOUSE_DIR}/warehouse.duckdb")
    assert str(caught.value) == (
        "environment variable WAREHOUSE_DIR is not set -> export WAREHOUSE_DIR=..., or give the setting a default "
        "in flows/ingest.yml: ${WAREHOUSE_DIR:-default}"
    )
    assert isinstance(caught.value, IngestError)


def test_a_missing_secret_suggests_no_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAREHOUSE_PASSWORD", raising=False)
    with pytest.raises(MissingEnvironmentVariable) as caught:
        resolve_references("${WAREHOUSE_PASSWORD}", secret=True)
    assert str(caught.value) == (
        "environment variable WAREHOUSE_PASSWORD is not set -> export WAREHOUSE_PASSWORD=... where the code location "
        "runs (or put it in the .env file that dagster dev reads); a secret takes no default in the YAML"
    )


@pytest.mark.parametrize(("settings", "call"), [
    ({"type": "postgres", "host": "db", "database": "crm", "user": "u", "password": "${CRM_PW}"}, "sqlalchemy_url"),
    ({"type": "sqlalchemy", "url": "postgresql://u:${CRM_PW}@db/crm"}, "sqlalchemy_url"),
    ({"type": "mssql", "host": "db", "database": "erp", "user": "u", "password": "${CRM_PW}"}, "sqlalchemy_url"),
    ({"type": "adls", "account_url": "https://acct.dfs.core.windows.net", "filesystem": "raw",
      "account_key": "${CRM_PW}"}, "location"),
])
def test_a_connections_missing_secret_is_said_as_a_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                          settings: dict[str, str], call: str) -> None:
    monkeypatch.delenv("CRM_PW", raising=False)
    connector = registry.connector(settings["type"])
    assert connector.model is not None
    resource = connector.make_resource(connector.model.model_validate(settings), tmp_path)
    with pytest.raises(MissingEnvironmentVariable) as caught:
        getattr(resource, call)()
    assert (caught.value.name, caught.value.secret) == ("CRM_PW", True)


def test_referenced_names() -> None:
    assert referenced_names("${A}/${B_2:-x}/${A}/$C/${1D}") == ["A", "B_2", "A"]


# ---- syntax -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["${NAME}", "${_NAME_2}", "${NAME:-}", "${NAME:-a/b c:d-e}", "${A}${B:-1}", "$NAME", "{NAME}", "cost: $5", ""],
)
def test_well_formed_text(text: str) -> None:
    assert reference_syntax_errors(text) == []


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("${1X}/data", ["${1X}"]),
        ("${}", ["${}"]),
        ("${LAKE/data", ["${LAKE/data"]),
        ("${LAKE-default}", ["${LAKE-default}"]),
        ("${LAKE:default}", ["${LAKE:default}"]),
        ("${LAKE PATH}", ["${LAKE PATH}"]),
        ("${OK}/${bad-name}/${ALSO OK?}", ["${bad-name}", "${ALSO OK?}"]),
        ("${A:-${B}}", ["${A:-${B}"]),  # nested references are not supported
    ],
)
def test_malformed_references(text: str, bad: list[str]) -> None:
    assert reference_syntax_errors(text) == bad


# ---- checked when the project loads -------------------------------------------------------------


FLOW = {"flows/shop/flow.yml": "home: shop_db\nstore: lake\n", "flows/shop/entities/orders.yml": ""}


def load_problems(tmp_path: Path, ingest_yml: str, environment: str | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_plan(write_project(tmp_path, {"flows/ingest.yml": ingest_yml, **FLOW}), environment)
    return [str(problem) for problem in caught.value.problems]


@pytest.fixture(autouse=True)
def _no_selected_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INGEST_ENV", raising=False)


def test_malformed_reference_in_a_path_is_reported_at_load(tmp_path: Path) -> None:
    ingest = """
        connections:
          shop_db:
            type: sqlite
            path: ${SHOP_DIR:-data}/shop.sqlite
          lake:
            type: parquet
            path: ${1LAKE}/lake
        """
    assert load_problems(tmp_path, ingest) == [
        "flows/ingest.yml:7: project: connections.lake.path: malformed reference '${1LAKE}' "
        "-> write ${NAME} or ${NAME:-default}",
    ]


def test_every_malformed_reference_in_a_url_is_listed(tmp_path: Path) -> None:
    ingest = """
        connections:
          shop_db:
            type: sqlalchemy
            description: the ${shop} database (descriptions are free text)
            url: postgresql://${DB USER}:${DB_PASSWORD}@${DB_HOST/shop
          lake: {type: parquet, path: lake}
        """
    assert load_problems(tmp_path, ingest) == [
        "flows/ingest.yml:5: project: connections.shop_db.url: malformed references '${DB USER}', "
        "'${DB_HOST/shop' -> write ${NAME} or ${NAME:-default}",
    ]


def test_malformed_reference_in_an_environment_override(tmp_path: Path) -> None:
    ingest = """
        connections:
          shop_db: {type: sqlite, path: data/shop.sqlite}
          lake: {type: parquet, path: data/lake}
        environments:
          prod:
            connections:
              lake:
                path: $LAKE_ROOT}/${LAKE_ROOT
        """
    assert load_problems(tmp_path, ingest, environment="prod") == [
        "flows/ingest.yml:8: project: connections.lake.path: malformed reference '${LAKE_ROOT' "
        "-> write ${NAME} or ${NAME:-default}",
    ]


def test_well_formed_references_load_unresolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOP_URL", raising=False)  # unset: only a run would need it
    ingest = """
        connections:
          shop_db: {type: sqlalchemy, url: "${SHOP_URL}"}
          lake: {type: parquet, path: "${LAKE_DIR:-data}/lake"}
        """
    plan = load_plan(write_project(tmp_path, {"flows/ingest.yml": ingest, **FLOW}))
    orders = plan.entities[0]
    assert orders.home.settings.url == "${SHOP_URL}"
    assert orders.store.settings.path == "${LAKE_DIR:-data}/lake"
