"""`transform:` at load time: exact, located messages; the plan's steps; nothing heavy imported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ingest_assets.plan.load import load_plan
from ingest_assets.transforms.spec import PythonStep, SqlStep
from ingest_assets_tests.conftest import REPOSITORY, write_files, write_project
from ingest_assets_tests.unit.test_config_errors import CONNECTIONS, SHOP_FLOW, problems


@pytest.fixture(autouse=True)
def _no_selected_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INGEST_ENV", raising=False)


def orders(text: str) -> dict[str, str]:
    return {"flows/shop/entities/orders.yml": text}


def test_two_kinds_in_one_transform(tmp_path: Path) -> None:
    assert problems(tmp_path, orders("""
        keys: [order_id]
        transform:
          sql: SELECT * FROM records
          python: cleaning:tidy
        """)) == [
        "flows/shop/entities/orders.yml:2: shop.orders: transform: sets sql and python -> set exactly one of sql, "
        "sql_file, python",
    ]


def test_empty_transform(tmp_path: Path) -> None:
    assert problems(tmp_path, orders("""
        transform:
          params: {rate: 2}
        """)) == [
        "flows/shop/entities/orders.yml:1: shop.orders: transform: nothing to run -> set one of sql, sql_file, "
        "python (or steps: a list of them)",
    ]


def test_steps_beside_a_kind(tmp_path: Path) -> None:
    assert problems(tmp_path, orders("""
        transform:
          sql: SELECT * FROM records
          steps:
            - python: cleaning:tidy
        """)) == [
        "flows/shop/entities/orders.yml:1: shop.orders: transform: sets steps and sql -> put every step, with its "
        "own params, in the steps list",
    ]


def test_a_step_with_two_kinds_names_its_line(tmp_path: Path) -> None:
    assert problems(tmp_path, orders("""
        transform:
          steps:
            - sql: SELECT * FROM records
            - sql_file: clean.sql
              python: cleaning:tidy
        """)) == [
        "flows/shop/entities/orders.yml:4: shop.orders: transform.steps.1: sets sql_file and python -> set exactly "
        "one of sql, sql_file, python",
    ]


def test_params_must_be_scalars(tmp_path: Path) -> None:
    assert problems(tmp_path, orders("""
        transform:
          sql: SELECT * FROM records WHERE country IN $countries
          params:
            countries: [NL, BE]
        """)) == [
        "flows/shop/entities/orders.yml:3: shop.orders: transform.params: countries: a list is not a parameter "
        "value -> one string, number, boolean, date or null per name",
    ]


def test_param_names_are_identifiers(tmp_path: Path) -> None:
    assert problems(tmp_path, orders("""
        transform:
          sql: SELECT * FROM records
          params: {tax-rate: 2}
        """)) == [
        "flows/shop/entities/orders.yml:3: shop.orders: transform.params: 'tax-rate' is not a parameter name -> "
        "letters, digits and underscores, starting with a letter (written $name in the query)",
    ]


def test_unknown_key_in_transform(tmp_path: Path) -> None:
    assert problems(tmp_path, orders("""
        transform:
          sql_fle: clean.sql
        """)) == [
        "flows/shop/entities/orders.yml:2: shop.orders: unknown key 'sql_fle' in transform -> did you mean "
        "'sql_file'? valid keys: params, python, sql, sql_file, steps",
    ]


def test_missing_sql_file(tmp_path: Path) -> None:
    assert problems(tmp_path, orders("""
        transform:
          sql_file: sql/clean.sql
        """)) == [
        "flows/shop/entities/orders.yml:2: shop.orders: sql_file 'sql/clean.sql' cannot be read (No such file or "
        f"directory: {tmp_path.resolve()}/flows/shop/entities/sql/clean.sql) -> give a path relative to this YAML "
        "file",
    ]


def test_empty_sql_file(tmp_path: Path) -> None:
    assert problems(tmp_path, {**orders("transform: {sql_file: clean.sql}\n"),
                               "flows/shop/entities/clean.sql": "\n"}) == [
        "flows/shop/entities/orders.yml:1: shop.orders: sql_file 'clean.sql' is empty -> write a SELECT over "
        "records in it",
    ]


def test_python_target_syntax(tmp_path: Path) -> None:
    assert problems(tmp_path, orders("transform: {python: cleaning.tidy}\n")) == [
        "flows/shop/entities/orders.yml:1: shop.orders: python 'cleaning.tidy' is not a function to call -> write "
        "module:function (my_package.transforms:add_tax) or a file next to this YAML, path/to/file.py:function",
    ]


def test_missing_python_file(tmp_path: Path) -> None:
    assert problems(tmp_path, orders("transform: {python: tidy.py:tidy}\n")) == [
        "flows/shop/entities/orders.yml:1: shop.orders: python file 'tidy.py' cannot be read (No such file or "
        f"directory: {tmp_path.resolve()}/flows/shop/entities/tidy.py) -> give a path relative to this YAML file",
    ]


def test_python_file_without_the_function(tmp_path: Path) -> None:
    files = {**orders("transform: {python: tidy.py:tidy_up}\n"),
             "flows/shop/entities/tidy.py": "def tidy(batch):\n    return batch\n\n\ndef helper():\n    pass\n"}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:1: shop.orders: python file flows/shop/entities/tidy.py defines no function "
        "'tidy_up' -> did you mean 'tidy'? functions defined there: tidy, helper",
    ]


def test_python_file_with_a_syntax_error(tmp_path: Path) -> None:
    files = {**orders("transform: {python: tidy.py:tidy}\n"),
             "flows/shop/entities/tidy.py": "def tidy(batch):\n    return batch +\n"}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:1: shop.orders: python file flows/shop/entities/tidy.py:2 is not valid "
        "Python (invalid syntax) -> fix the file",
    ]


def test_flow_defaults_transform_is_checked_in_flow_yml(tmp_path: Path) -> None:
    files = {"flows/shop/flow.yml": SHOP_FLOW + "defaults:\n  transform:\n    sql_file: missing.sql\n",
             **orders("keys: [order_id]\n")}
    assert problems(tmp_path, files) == [
        "flows/shop/flow.yml:5: shop.orders: sql_file 'missing.sql' cannot be read (No such file or directory: "
        f"{tmp_path.resolve()}/flows/shop/missing.sql) -> give a path relative to this YAML file",
    ]


# ---- the plan -----------------------------------------------------------------------------------


def test_plan_steps_and_defaults(tmp_path: Path) -> None:
    files = {
        "flows/ingest.yml": CONNECTIONS,
        "flows/shop/flow.yml": SHOP_FLOW + "defaults:\n  transform:\n    sql: SELECT * FROM records WHERE id > $n\n"
                                           "    params: {n: 5}\n",
        "flows/shop/entities/orders.yml": "transform:\n  steps:\n    - sql_file: q.sql\n    - python: t.py:f\n"
                                          "      params: {rate: 1.5, note: x}\n",
        "flows/shop/entities/q.sql": "SELECT * FROM records;\n",
        "flows/shop/entities/t.py": "def f(batch, rate, note):\n    return batch\n",
        "flows/shop/entities/refunds.yml": "keys: [id]\n",
    }
    plan = {e.entity: e for e in load_plan(write_project(tmp_path, files)).entities}
    sql, python = plan["orders"].transform
    assert sql == SqlStep("SELECT * FROM records;", "flows/shop/entities/q.sql")
    assert isinstance(python, PythonStep)
    assert (python.target, python.function, python.path, python.params) == (
        "flows/shop/entities/t.py:f", "f", str(tmp_path.resolve() / "flows/shop/entities/t.py"),
        (("rate", 1.5), ("note", "x")))
    assert plan["refunds"].transform == (SqlStep("SELECT * FROM records WHERE id > $n", "at flows/shop/flow.yml:5",
                                                 (("n", 5),)),)


def test_code_version_follows_the_python_file_not_its_folder(tmp_path: Path) -> None:
    files = {"flows/ingest.yml": CONNECTIONS, "flows/shop/flow.yml": SHOP_FLOW,
             "flows/shop/entities/orders.yml": "transform: {python: t.py:f}\n",
             "flows/shop/entities/t.py": "def f(batch):\n    return batch\n"}
    first = load_plan(write_project(tmp_path / "a", files)).entities[0].code_version()
    assert load_plan(write_project(tmp_path / "b", files)).entities[0].code_version() == first
    write_files(tmp_path / "b", {"flows/shop/entities/t.py": "def f(batch):\n    return batch.slice(1)\n"})
    assert load_plan(tmp_path / "b/flows").entities[0].code_version() != first


def test_definitions_load_imports_no_engine_and_no_user_module(tmp_path: Path) -> None:
    files = {"flows/ingest.yml": CONNECTIONS, "flows/shop/flow.yml": SHOP_FLOW,
             "flows/shop/entities/orders.yml": "transform:\n  steps:\n    - python: t.py:f\n"
                                               "    - python: my_transforms_module:g\n"
                                               "    - sql: SELECT * FROM records\n",
             "flows/shop/entities/t.py": "import polars\nimport duckdb\ndef f(batch):\n    return batch\n"}
    flows = write_project(tmp_path, files)
    code = (
        "import json, sys\n"
        "from ingest_assets.defs.factory import build_definitions\n"
        f"build_definitions({str(flows)!r})\n"
        "heavy = ['duckdb', 'pyarrow', 'polars', 'my_transforms_module']\n"
        "print(json.dumps(sorted(m for m in heavy if m in sys.modules) + "
        "[m for m in sys.modules if m.startswith('ingest_transform_')]))\n"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPOSITORY, check=True)
    assert json.loads(output.stdout.strip().splitlines()[-1]) == []
