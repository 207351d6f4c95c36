"""Every class of bad YAML gives one exact, located message: `file:line: entity: message`.

Each test writes a small project into tmp_path, loads it with `load_plan`, and compares the full
text of every problem, so a changed line number, label or hint fails the test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest_assets.errors import ConfigError
from ingest_assets.plan.load import load_plan
from ingest_assets_tests.conftest import write_project, yaml_text

# flows/ingest.yml; lines: 1 connections, 2 shop_db, 5 warehouse, 8 lake, 10 lake's path, 11 exports.
CONNECTIONS = yaml_text("""
    connections:
      shop_db:
        type: sqlite
        path: data/shop.sqlite
      warehouse:
        type: duckdb
        path: data/warehouse.duckdb
      lake:
        type: parquet
        path: data/lake
      exports:
        type: csv
        path: data/exports
    """)

# flows/shop/flow.yml: every entity of the `shop` flow reads shop_db and writes the warehouse.
SHOP_FLOW = yaml_text("""
    home: shop_db
    store: warehouse
    """)

ENTITY_KEYS = (
    "audit, batch_size, checks, column_descriptions, columns, delete_missing, description, home, keys, name, owners, parallel, "
    "partition, run_type, schema_changes, sensor, store, tags, transform, watermark, write_key, write_strategy"
)
FLOW_KEYS = "defaults, description, entities, home, name, owners, run_type, schedule, sensor, store, tags"
CONNECTION_TYPES = ("'parquet', 'csv', 'delta', 'duckdb', 'sqlite', 'sqlalchemy', 'postgres', 'postgresql', 'mssql', "
                    "'sqlserver', 'mysql', 'mariadb', 'adls', 'onelake', 'open_mirroring'")


def load_error(tmp_path: Path, files: dict[str, str], environment: str | None = None) -> ConfigError:
    """Load the default project with `files` added or replaced; it must fail."""
    project = {"flows/ingest.yml": CONNECTIONS, "flows/shop/flow.yml": SHOP_FLOW, **files}
    with pytest.raises(ConfigError) as caught:
        load_plan(write_project(tmp_path, project), environment)
    return caught.value


def problems(tmp_path: Path, files: dict[str, str], environment: str | None = None) -> list[str]:
    return [str(problem) for problem in load_error(tmp_path, files, environment).problems]


@pytest.fixture(autouse=True)
def _no_selected_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INGEST_ENV", raising=False)


def test_the_default_project_is_valid(tmp_path: Path) -> None:
    """The baseline the other tests break one setting of."""
    files = {
        "flows/ingest.yml": CONNECTIONS,
        "flows/shop/flow.yml": SHOP_FLOW,
        "flows/shop/entities/orders.yml": "keys: [order_id]\n",
    }
    plan = load_plan(write_project(tmp_path, files))
    assert [entity.label for entity in plan.entities] == ["shop.orders"]


# ---- YAML itself --------------------------------------------------------------------------------


def test_yaml_syntax_error(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": """
        keys: [order_id
        watermark: updated_at
        """}
    assert problems(tmp_path, files) == [
        # Named where the bracket opens, which is where it is left unclosed; the parser stops a line later.
        "flows/shop/entities/orders.yml:1: yaml: invalid YAML: while parsing a flow sequence, expected ',' or ']', "
        "but got ':' (line 2) -> fix the YAML syntax",
    ]


def test_file_that_is_a_list(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": """
        # a list of columns, where a mapping of settings belongs
        - order_id
        - amount
        """}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:2: yaml: the file holds a list -> it must be a mapping of settings",
    ]


def test_file_that_is_text(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": "orders\n"}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:1: yaml: the file holds text -> it must be a mapping of settings",
    ]


def test_duplicate_key_in_one_mapping(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": """
        keys: [order_id]
        columns: [order_id, amount]
        keys: [amount]
        """}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:3: yaml: duplicate key 'keys' -> each key may appear once in a mapping",
    ]


def test_duplicate_key_in_a_nested_mapping(tmp_path: Path) -> None:
    files = {"flows/ingest.yml": CONNECTIONS.replace(
        "path: data/shop.sqlite", "path: data/shop.sqlite\n    path: data/other.sqlite"
    )}
    assert problems(tmp_path, files) == [
        "flows/ingest.yml:5: yaml: duplicate key 'path' -> each key may appear once in a mapping",
    ]


# ---- unknown keys -------------------------------------------------------------------------------


def test_unknown_key_in_an_entity_file(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": """
        keys: [order_id]
        run_type: incremental
        watermak: updated_at
        """}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:3: shop.orders: unknown key 'watermak' -> did you mean 'watermark'? "
        f"valid keys: {ENTITY_KEYS}",
    ]


def test_unknown_key_without_a_close_match(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": "keys: [order_id]\nfrobnicate: true\n"}
    assert problems(tmp_path, files) == [
        f"flows/shop/entities/orders.yml:2: shop.orders: unknown key 'frobnicate' -> valid keys: {ENTITY_KEYS}",
    ]


def test_unknown_key_in_flow_yml(tmp_path: Path) -> None:
    files = {"flows/shop/flow.yml": """
        home: shop_db
        store: warehouse
        shedule: "0 5 * * *"
        """}
    assert problems(tmp_path, files) == [
        f"flows/shop/flow.yml:3: shop: unknown key 'shedule' -> did you mean 'schedule'? valid keys: {FLOW_KEYS}",
    ]


def test_unknown_key_in_an_inline_entity(tmp_path: Path) -> None:
    files = {"flows/shop/flow.yml": """
        home: shop_db
        store: warehouse
        entities:
          - name: orders
            key: [order_id]
        """}
    assert problems(tmp_path, files) == [
        "flows/shop/flow.yml:5: shop: unknown key 'key' in entities.0 -> did you mean 'keys'? "
        f"valid keys: {ENTITY_KEYS}",
    ]


def test_unknown_key_in_flow_defaults(tmp_path: Path) -> None:
    files = {"flows/shop/flow.yml": """
        home: shop_db
        store: warehouse
        defaults:
          batchsize: 500
        """}
    assert problems(tmp_path, files) == [
        "flows/shop/flow.yml:4: shop: unknown key 'batchsize' in defaults -> did you mean 'batch_size'? "
        "valid keys: audit, batch_size, checks, column_descriptions, columns, delete_missing, home, keys, owners, parallel, partition, "
        "run_type, schema_changes, sensor, store, tags, transform, watermark, write_key, write_strategy",
    ]


def test_unknown_key_in_a_connection(tmp_path: Path) -> None:
    """The message names the connection as the YAML does (no `duckdb` union member in the path)."""
    files = {"flows/ingest.yml": CONNECTIONS.replace("path: data/warehouse.duckdb", "pth: data/warehouse.duckdb")}
    assert problems(tmp_path, files) == [
        "flows/ingest.yml:5: project: missing required setting 'connections.warehouse.path' -> add 'path:' here",
        "flows/ingest.yml:7: project: unknown key 'pth' in connections.warehouse -> did you mean 'path'? "
        "valid keys: description, path, type",
    ]


def test_unknown_key_in_a_csv_connection_lists_the_csv_keys(tmp_path: Path) -> None:
    files = {"flows/ingest.yml": CONNECTIONS + "    delimter: ';'\n"}
    assert problems(tmp_path, files) == [
        "flows/ingest.yml:14: project: unknown key 'delimter' in connections.exports -> did you mean "
        "'delimiter'? valid keys: delimiter, description, header, path, type",
    ]


def test_unknown_key_in_options(tmp_path: Path) -> None:
    files = {"flows/ingest.yml": CONNECTIONS + "options:\n  concurency: 8\n"}
    assert problems(tmp_path, files) == [
        "flows/ingest.yml:15: project: unknown key 'concurency' in options -> did you mean 'concurrency'? "
        "valid keys: batch_size, concurrency, entities_per_step, executor, query_memory_limit, retries, sample_rows, schedule_status, "
        "sensor_status",
    ]


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        pytest.param(
            "watermark:\n  column: updated_at\n  lookbak: 2h\n",
            "flows/shop/entities/orders.yml:4: shop.orders: unknown key 'lookbak' in watermark -> "
            "did you mean 'lookback'? valid keys: column, lookback, start",
            id="watermark",
        ),
        pytest.param(
            "checks:\n  min_rows: 1\n  not_nul: [amount]\n",
            "flows/shop/entities/orders.yml:4: shop.orders: unknown key 'not_nul' in checks -> "
            "did you mean 'not_null'? valid keys: min_rows, not_null, unique",
            id="checks",
        ),
        pytest.param(
            "partition:\n  column: ordered_at\n  start: 2026-01-01\n  granularty: daily\n",
            "flows/shop/entities/orders.yml:5: shop.orders: unknown key 'granularty' in partition -> "
            "did you mean 'granularity'? valid keys: column, end, end_offset, granularity, start, timezone",
            id="partition",
        ),
        pytest.param(
            "home:\n  connection: shop_db\n  tabel: orders\n",
            "flows/shop/entities/orders.yml:4: shop.orders: unknown key 'tabel' in home -> "
            "did you mean 'table'? valid keys: connection, path, query, query_file, table",
            id="home",
        ),
    ],
)
def test_unknown_key_in_a_nested_section(tmp_path: Path, section: str, expected: str) -> None:
    files = {"flows/shop/entities/orders.yml": "keys: [order_id]\n" + section}
    assert problems(tmp_path, files) == [expected]


# ---- wrong values -------------------------------------------------------------------------------


def test_wrong_type(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": "keys: [order_id]\nbatch_size: many\n"}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:2: shop.orders: batch_size: wrong value ('many') -> a valid integer, "
        "unable to parse string as an integer",
    ]


def test_number_out_of_range(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": "keys: [order_id]\nbatch_size: 0\n"}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:2: shop.orders: batch_size: wrong value (0) -> greater than 0",
    ]


def test_section_that_is_not_a_mapping(tmp_path: Path) -> None:
    """Pydantic's own text would name the Python class; the message says what the YAML needs."""
    files = {"flows/shop/entities/orders.yml": "keys: [order_id]\ncheck: 3\nchecks: 3\n"}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:2: shop.orders: unknown key 'check' -> did you mean 'checks'? "
        f"valid keys: {ENTITY_KEYS}",
        "flows/shop/entities/orders.yml:3: shop.orders: checks: wrong value (3) -> a mapping (key: value lines)",
    ]


def test_connection_without_path(tmp_path: Path) -> None:
    files = {"flows/ingest.yml": CONNECTIONS.replace("    path: data/lake\n", "")}
    assert problems(tmp_path, files) == [
        "flows/ingest.yml:8: project: missing required setting 'connections.lake.path' -> add 'path:' here",
    ]


def test_watermark_without_column(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": """
        keys: [order_id]
        run_type: incremental
        watermark:
          lookback: 2h
        """}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:3: shop.orders: missing required setting 'watermark.column' "
        "-> add 'column:' here",
    ]


def test_invalid_run_type(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": "keys: [order_id]\nrun_type: incremntal\n"}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:2: shop.orders: run_type: 'incremntal' is not valid "
        "-> one of 'full_drop' or 'incremental'",
    ]


def test_invalid_run_type_in_flow_yml(tmp_path: Path) -> None:
    files = {"flows/shop/flow.yml": SHOP_FLOW + "run_type: append\n"}
    assert problems(tmp_path, files) == [
        "flows/shop/flow.yml:3: shop: run_type: 'append' is not valid -> one of 'full_drop' or 'incremental'",
    ]


def test_unknown_connection_type(tmp_path: Path) -> None:
    files = {"flows/ingest.yml": CONNECTIONS.replace("type: sqlite", "type: oracle")}
    assert problems(tmp_path, files) == [
        f"flows/ingest.yml:2: project: connections.shop_db: unknown type 'oracle' -> one of {CONNECTION_TYPES}",
    ]


def test_connection_without_type(tmp_path: Path) -> None:
    files = {"flows/ingest.yml": CONNECTIONS.replace("    type: parquet\n", "")}
    assert problems(tmp_path, files) == [
        "flows/ingest.yml:8: project: connections.lake: missing 'type' -> add 'type:' with one of the "
        "connection types",
    ]


# ---- connections used by entities ---------------------------------------------------------------


def test_unknown_home_and_store_names_in_flow_yml(tmp_path: Path) -> None:
    """Every entity of the flow is told, each at the flow.yml line that names the connection."""
    files = {
        "flows/shop/flow.yml": "home: shop_bd\nstore: warehose\n",
        "flows/shop/entities/orders.yml": "keys: [order_id]\n",
    }
    defined = "defined: exports, lake, shop_db, warehouse"
    assert problems(tmp_path, files) == [
        "flows/shop/flow.yml:1: shop.orders: home connection 'shop_bd' is not defined in flows/ingest.yml "
        f"-> did you mean 'shop_db'? {defined}",
        "flows/shop/flow.yml:2: shop.orders: store connection 'warehose' is not defined in flows/ingest.yml "
        f"-> did you mean 'warehouse'? {defined}",
    ]


def test_unknown_home_name_in_an_entity(tmp_path: Path) -> None:
    files = {"flows/shop/entities/stores.yml": """
        keys: [store_id]
        home:
          connection: export
          path: stores.csv
        """}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/stores.yml:3: shop.stores: home connection 'export' is not defined in "
        "flows/ingest.yml -> did you mean 'exports'? defined: exports, lake, shop_db, warehouse",
    ]


def test_unknown_home_named_in_flow_yml_is_reported_there(tmp_path: Path) -> None:
    """The entity sets other home keys, but the misspelled name is in flow.yml, so that line is given."""
    files = {
        "flows/shop/flow.yml": "home: lak\nstore: warehouse\n",
        "flows/shop/entities/page_views.yml": "keys: [view_id]\nhome:\n  path: page_views\n",
    }
    assert problems(tmp_path, files) == [
        "flows/shop/flow.yml:1: shop.page_views: home connection 'lak' is not defined in flows/ingest.yml "
        "-> did you mean 'lake'? defined: exports, lake, shop_db, warehouse",
    ]


def test_home_key_set_in_flow_yml_is_reported_there(tmp_path: Path) -> None:
    files = {
        "flows/shop/flow.yml": "home:\n  connection: lake\n  table: page_views\nstore: warehouse\n",
        "flows/shop/entities/page_views.yml": "home:\n  connection: lake\n",
    }
    assert problems(tmp_path, files) == [
        "flows/shop/flow.yml:3: shop.page_views: home 'lake' (parquet) cannot read a table -> use path",
    ]


def test_unknown_store_name_without_a_close_match(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": "store: s3\n"}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:1: shop.orders: store connection 's3' is not defined in "
        "flows/ingest.yml -> defined: exports, lake, shop_db, warehouse",
    ]


def test_no_home_at_all(tmp_path: Path) -> None:
    files = {"flows/shop/flow.yml": "store: warehouse\n", "flows/shop/entities/orders.yml": "keys: [order_id]\n"}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:1: shop.orders: no home connection -> set 'home: <connection>' in "
        "flow.yml or the entity (connections that can be a home: exports, lake, shop_db, warehouse)",
    ]


def test_csv_connection_as_store(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": "store: exports\n"}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:1: shop.orders: connection 'exports' of type 'csv' cannot be a store "
        "-> store types: adls, delta, duckdb, mariadb, mssql, mysql, onelake, open_mirroring, parquet, postgres, "
        "postgresql, sqlalchemy, sqlite, sqlserver",
    ]


def test_home_with_table_and_query(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": """
        keys: [order_id]
        home:
          table: orders
          query: select * from orders
        """}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:2: shop.orders: home sets table and query -> set exactly one of them",
    ]


def test_parquet_home_with_a_table(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": """
        home:
          connection: lake
          table: orders
        """}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:3: shop.orders: home 'lake' (parquet) cannot read a table -> use path",
    ]


def test_parquet_home_without_a_path(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": "home: lake\n"}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:1: shop.orders: missing what to read from 'lake' (parquet) -> add "
        "'home: {path: <file, folder or glob>}' to the entity",
    ]


def test_database_store_with_a_path(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": "store:\n  path: shop/orders\n"}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:2: shop.orders: store 'warehouse' (duckdb) writes a table, not a path "
        "-> use 'table:' (default shop.orders / shop/orders)",
    ]


# ---- watermarks, partitions, columns ------------------------------------------------------------


def test_incremental_entity_without_watermark(tmp_path: Path) -> None:
    files = {
        "flows/shop/flow.yml": SHOP_FLOW + "run_type: incremental\n",
        "flows/shop/entities/orders.yml": "keys: [order_id]\n",
    }
    assert problems(tmp_path, files) == [
        "flows/shop/flow.yml:3: shop.orders: incremental entity has no watermark column (run_type: incremental) "
        "-> add 'watermark: <column>' or set run_type: full_drop",
    ]


def test_incremental_store_false_needs_no_watermark(tmp_path: Path) -> None:
    """`incremental` + `store.incremental: false` reloads everything: no cursor, so no watermark."""
    files = {
        "flows/ingest.yml": CONNECTIONS,
        "flows/shop/flow.yml": SHOP_FLOW + "run_type: incremental\n",
        "flows/shop/entities/orders.yml": "store:\n  incremental: false\n",
    }
    plan = load_plan(write_project(tmp_path, files))
    assert plan.entities[0].mode().describe() == "reload everything and replace"


def test_watermark_lookback_that_is_not_a_duration(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": """
        run_type: incremental
        keys: [order_id]
        watermark:
          column: updated_at
          lookback: yesterday
        """}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:5: shop.orders: watermark.lookback: not a duration ('yesterday') "
        "-> e.g. '30m', '2h', '3 days' (or a number for integer watermarks)",
    ]


def test_watermark_lookback_without_keys(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": """
        run_type: incremental
        watermark:
          column: updated_at
          lookback: 2h
        """}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:4: shop.orders: watermark.lookback re-reads rows already loaded, which "
        "would duplicate them -> declare 'keys:' so re-read rows replace their earlier copies",
    ]


def test_both_watermark_and_partition(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": """
        keys: [order_id]
        watermark: updated_at
        partition:
          column: ordered_at
          start: 2026-01-01
        """}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:3: shop.orders: both watermark and partition are set -> a partitioned "
        "entity loads its window; remove one of them",
    ]


def test_columns_that_leave_out_a_key_column(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": """
        keys: [order_id]
        columns: [customer_id, amount]
        """}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:2: shop.orders: keys names column 'order_id' which 'columns' leaves "
        "out -> add it to columns (customer_id, amount)",
    ]


def test_columns_that_leave_out_the_watermark_and_a_checked_column(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": """
        run_type: incremental
        columns: [order_id]
        keys: [order_id]
        watermark: updated_at
        checks:
          not_null: [amount]
        """}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:2: shop.orders: checks.not_null names column 'amount' which 'columns' "
        "leaves out -> add it to columns (order_id)",
        "flows/shop/entities/orders.yml:2: shop.orders: watermark names column 'updated_at' which 'columns' "
        "leaves out -> add it to columns (order_id)",
    ]


# ---- schedules and time zones -------------------------------------------------------------------


def test_invalid_cron_string(tmp_path: Path) -> None:
    files = {
        "flows/shop/flow.yml": SHOP_FLOW + "schedule:\n  cron: '0 25 * * *'\n",
        "flows/shop/entities/orders.yml": "keys: [order_id]\n",
    }
    assert problems(tmp_path, files) == [
        "flows/shop/flow.yml:4: shop: schedule: invalid cron string ('0 25 * * *') -> five fields "
        "'minute hour day-of-month month day-of-week', e.g. '0 6 * * *' for 06:00 daily",
    ]


def test_invalid_cron_shorthand(tmp_path: Path) -> None:
    files = {"flows/shop/flow.yml": SHOP_FLOW + "schedule: every day\n"}
    assert problems(tmp_path, files) == [
        "flows/shop/flow.yml:3: shop: schedule: invalid cron string ('every day') -> five fields "
        "'minute hour day-of-month month day-of-week', e.g. '0 6 * * *' for 06:00 daily",
    ]


def test_invalid_schedule_timezone(tmp_path: Path) -> None:
    files = {"flows/shop/flow.yml": SHOP_FLOW + "schedule:\n  cron: '0 5 * * *'\n  timezone: Mars/Olympus\n"}
    assert problems(tmp_path, files) == [
        "flows/shop/flow.yml:5: shop: schedule.timezone: unknown time zone ('Mars/Olympus') -> an IANA name "
        "such as 'UTC' or 'Europe/Amsterdam'",
    ]


def test_invalid_partition_timezone(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": """
        keys: [order_id]
        partition:
          column: ordered_at
          start: 2026-01-01
          timezone: Europe/Atlantis
        """}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:5: shop.orders: partition.timezone: unknown time zone "
        "('Europe/Atlantis') -> an IANA name such as 'UTC' or 'Europe/Amsterdam'",
    ]


# ---- names, tags, owners ------------------------------------------------------------------------


def test_duplicate_asset_key_inline_entity_and_entity_file(tmp_path: Path) -> None:
    """Both declarations are reported, each pointing at the other; no second 'same target' problem."""
    files = {
        "flows/shop/flow.yml": """
            home: shop_db
            store: warehouse
            entities:
              - name: orders
                keys: [order_id]
            """,
        "flows/shop/entities/orders.yml": "keys: [order_id]\n",
    }
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:1: shop.orders: duplicate asset key shop/orders "
        "(also declared at flows/shop/flow.yml:4) -> rename one entity",
        "flows/shop/flow.yml:4: shop.orders: duplicate asset key shop/orders "
        "(also declared at flows/shop/entities/orders.yml:1) -> rename one entity",
    ]


def test_duplicate_asset_key_from_an_explicit_name(tmp_path: Path) -> None:
    files = {
        "flows/shop/entities/orders.yml": "keys: [order_id]\n",
        "flows/shop/entities/orders_v2.yml": "# the new extract\nname: orders\nkeys: [order_id]\n",
    }
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:1: shop.orders: duplicate asset key shop/orders "
        "(also declared at flows/shop/entities/orders_v2.yml:2) -> rename one entity",
        "flows/shop/entities/orders_v2.yml:2: shop.orders: duplicate asset key shop/orders "
        "(also declared at flows/shop/entities/orders.yml:1) -> rename one entity",
    ]


def test_two_entities_writing_the_same_store_target(tmp_path: Path) -> None:
    files = {
        "flows/shop/entities/orders.yml": "keys: [order_id]\n",
        "flows/shop/entities/orders_copy.yml": "home:\n  table: orders\nstore:\n  table: shop.orders\n",
    }
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:1: shop.orders: store target warehouse:shop.orders is also written by "
        "shop.orders_copy -> give each entity its own store table or path",
        "flows/shop/entities/orders_copy.yml:1: shop.orders_copy: store target warehouse:shop.orders is also "
        "written by shop.orders -> give each entity its own store table or path",
    ]


def test_two_flows_writing_the_same_parquet_path(tmp_path: Path) -> None:
    files = {
        "flows/shop/flow.yml": "home: shop_db\nstore: lake\n",
        "flows/shop/entities/orders.yml": "keys: [order_id]\n",
        "flows/archive/flow.yml": "home: shop_db\nstore: lake\n",
        "flows/archive/entities/orders.yml": "home:\n  table: orders\nstore:\n  path: shop/orders\n",
    }
    assert problems(tmp_path, files) == [
        "flows/archive/entities/orders.yml:1: archive.orders: store target lake:shop/orders is also written by "
        "shop.orders -> give each entity its own store table or path",
        "flows/shop/entities/orders.yml:1: shop.orders: store target lake:shop/orders is also written by "
        "archive.orders -> give each entity its own store table or path",
    ]


def test_invalid_entity_name(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": "name: 2024-orders\nkeys: [order_id]\n"}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:1: shop.2024-orders: name: '2024-orders' is not a valid name -> use "
        "letters, digits and underscores, starting with a letter (it becomes part of a Dagster asset key)",
    ]


def test_invalid_entity_name_from_the_file_name(tmp_path: Path) -> None:
    files = {"flows/shop/entities/order-lines.yml": "keys: [line_id]\n"}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/order-lines.yml:1: shop.order-lines: name 'order-lines' (from the file name) is "
        "not a valid name -> rename the file or set 'name:' using letters, digits and underscores, starting "
        "with a letter (it becomes part of a Dagster asset key)",
    ]


def test_entity_file_with_a_valid_name_setting_may_have_any_file_name(tmp_path: Path) -> None:
    files = {
        "flows/ingest.yml": CONNECTIONS,
        "flows/shop/flow.yml": SHOP_FLOW,
        "flows/shop/entities/order-lines.yml": "name: order_lines\nkeys: [line_id]\n",
    }
    plan = load_plan(write_project(tmp_path, files))
    assert [entity.label for entity in plan.entities] == ["shop.order_lines"]


def test_invalid_flow_name_from_the_folder_name(tmp_path: Path) -> None:
    files = {
        "flows/web-traffic/flow.yml": "home: lake\nstore: warehouse\n",
        "flows/web-traffic/entities/page_views.yml": "home:\n  path: page_views\n",
    }
    assert problems(tmp_path, files) == [
        "flows/web-traffic/flow.yml:1: web-traffic: name 'web-traffic' (from the folder name) is not a valid "
        "name -> rename the folder or set 'name:' using letters, digits and underscores, starting with a "
        "letter (it becomes part of a Dagster asset key)",
    ]


def test_invalid_connection_name(tmp_path: Path) -> None:
    files = {"flows/ingest.yml": CONNECTIONS.replace("  lake:", "  the-lake:")}
    assert problems(tmp_path, files) == [
        "flows/ingest.yml:1: project: connections: 'the-lake' is not a valid name -> use letters, digits and "
        "underscores, starting with a letter (it becomes part of a Dagster asset key)",
    ]


def test_inline_entity_without_a_name(tmp_path: Path) -> None:
    files = {"flows/shop/flow.yml": SHOP_FLOW + "entities:\n  - keys: [order_id]\n"}
    assert problems(tmp_path, files) == [
        "flows/shop/flow.yml:4: shop.entities[0]: missing required setting 'name' -> add 'name:' to the entity",
    ]


def test_malformed_tag_key(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": "keys: [order_id]\ntags:\n  data domain: sales\n"}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:2: shop.orders: tags: tag key 'data domain' is not valid -> letters, "
        "digits, '_', '.', '-' (at most 63), optionally with one 'prefix/'",
    ]


def test_malformed_tag_value_in_flow_yml(tmp_path: Path) -> None:
    files = {"flows/shop/flow.yml": SHOP_FLOW + "tags:\n  domain: sales & marketing\n"}
    assert problems(tmp_path, files) == [
        "flows/shop/flow.yml:3: shop: tags: tag value 'sales & marketing' of 'domain' is not valid -> letters, "
        "digits, '_', '.', '-' (at most 63)",
    ]


def test_malformed_owner(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": "keys: [order_id]\nowners: [data-platform]\n"}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:2: shop.orders: owners: owner 'data-platform' is not valid -> an email "
        "address or 'team:name'",
    ]


# ---- environments -------------------------------------------------------------------------------

# Lines 14 environments, 17 options, 18 concurrency.
ENVIRONMENTS = CONNECTIONS + yaml_text("""
    environments:
      dev: {}
      prod:
        options:
          concurrency: 8
    """)


def test_unknown_environment_argument(tmp_path: Path) -> None:
    files = {"flows/ingest.yml": ENVIRONMENTS}
    assert problems(tmp_path, files, environment="production") == [
        "flows/ingest.yml:14: project: environment 'production' (from the environment argument) is not "
        "defined -> one of: dev, prod",
    ]


def test_unknown_environment_from_ingest_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INGEST_ENV", "staging")
    files = {"flows/ingest.yml": ENVIRONMENTS}
    assert problems(tmp_path, files) == [
        "flows/ingest.yml:14: project: environment 'staging' (from INGEST_ENV) is not defined -> one of: dev, prod",
    ]


def test_unknown_default_environment(tmp_path: Path) -> None:
    files = {"flows/ingest.yml": ENVIRONMENTS + "default_environment: test\n"}
    assert problems(tmp_path, files) == [
        "flows/ingest.yml:14: project: environment 'test' (from default_environment) is not defined "
        "-> one of: dev, prod",
    ]


def test_environment_without_an_environments_section(tmp_path: Path) -> None:
    assert problems(tmp_path, {}, environment="prod") == [
        "flows/ingest.yml:1: project: environment 'prod' (from the environment argument) is not defined "
        "-> one of: none defined; add an environments: section",
    ]


def test_unknown_key_in_an_environment_override(tmp_path: Path) -> None:
    """Overrides are merged before validation and keep their own line."""
    files = {"flows/ingest.yml": ENVIRONMENTS.replace("concurrency: 8", "concurency: 8")}
    assert problems(tmp_path, files, environment="prod") == [
        "flows/ingest.yml:18: project: unknown key 'concurency' in options -> did you mean 'concurrency'? "
        "valid keys: batch_size, concurrency, entities_per_step, executor, query_memory_limit, retries, sample_rows, schedule_status, "
        "sensor_status",
    ]


# ---- references ---------------------------------------------------------------------------------


def test_malformed_reference_in_a_connection(tmp_path: Path) -> None:
    files = {"flows/ingest.yml": CONNECTIONS.replace("path: data/lake", "path: ${LAKE_ROOT/lake")}
    assert problems(tmp_path, files) == [
        "flows/ingest.yml:10: project: connections.lake.path: malformed reference '${LAKE_ROOT/lake' "
        "-> write ${NAME} or ${NAME:-default}",
    ]


# ---- many problems at once ----------------------------------------------------------------------


def test_every_problem_in_every_file_is_reported_together_sorted(tmp_path: Path) -> None:
    files = {
        # flow.yml is invalid, and its entity file is still checked
        "flows/shop/flow.yml": SHOP_FLOW + "shedule: '0 5 * * *'\n",
        "flows/shop/entities/orders.yml": "keys: [order_id]\nbatch_size: many\n",
        # a valid flow.yml whose store is misspelled: both entities are told, plus one entity's own problem
        "flows/web/flow.yml": "home: lake\nstore: warehuse\n",
        "flows/web/entities/page_views.yml": "home:\n  path: page_views\n",
        "flows/web/entities/clicks.yml": """
            home:
              path: clicks
            run_type: incremental
            keys: [click_id]
            watermark:
              column: clicked_at
              lookback: soon
            """,
    }
    error = load_error(tmp_path, files)
    store_hint = "-> did you mean 'warehouse'? defined: exports, lake, shop_db, warehouse"
    assert str(error) == "\n".join([
        "the ingest project has 5 problems:",
        "  flows/shop/entities/orders.yml:2: shop.orders: batch_size: wrong value ('many') -> a valid integer, "
        "unable to parse string as an integer",
        f"  flows/shop/flow.yml:3: shop: unknown key 'shedule' -> did you mean 'schedule'? valid keys: {FLOW_KEYS}",
        "  flows/web/entities/clicks.yml:7: web.clicks: watermark.lookback: not a duration ('soon') -> e.g. "
        "'30m', '2h', '3 days' (or a number for integer watermarks)",
        "  flows/web/flow.yml:2: web.clicks: store connection 'warehuse' is not defined in flows/ingest.yml "
        + store_hint,
        "  flows/web/flow.yml:2: web.page_views: store connection 'warehuse' is not defined in flows/ingest.yml "
        + store_hint,
    ])
    assert [(p.file, p.line) for p in error.problems] == sorted((p.file, p.line) for p in error.problems)


def test_invalid_ingest_yml_does_not_hide_problems_in_flows(tmp_path: Path) -> None:
    files = {
        "flows/ingest.yml": "connections:\n  lake: {type: parquet, path: data/lake\n",
        "flows/shop/entities/orders.yml": "keys: [order_id]\nrun_type: sometimes\n",
    }
    error = load_error(tmp_path, files)
    assert str(error) == "\n".join([
        "the ingest project has 2 problems:",
        "  flows/ingest.yml:2: yaml: invalid YAML: while parsing a flow mapping, expected ',' or '}', but got "
        "'<stream end>' (line 3) -> fix the YAML syntax",
        "  flows/shop/entities/orders.yml:2: shop.orders: run_type: 'sometimes' is not valid -> one of "
        "'full_drop' or 'incremental'",
    ])


def test_one_problem_has_a_singular_header(tmp_path: Path) -> None:
    error = load_error(tmp_path, {"flows/shop/entities/orders.yml": "keys: order_id\n"})
    assert str(error) == (
        "the ingest project has 1 problem:\n"
        "  flows/shop/entities/orders.yml:1: shop.orders: keys: wrong value ('order_id') -> a valid list"
    )


def test_missing_flows_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_plan(tmp_path / "flows")
    assert [str(p) for p in caught.value.problems] == [
        "flows:1: project: folder flows does not exist -> create it with an ingest.yml",
    ]


def test_missing_ingest_yml(tmp_path: Path) -> None:
    flows = write_project(tmp_path, {"flows/shop/flow.yml": SHOP_FLOW})
    with pytest.raises(ConfigError) as caught:
        load_plan(flows)
    assert [str(p) for p in caught.value.problems] == [
        "flows/ingest.yml:1: project: flows/ingest.yml not found -> create it with your connections",
    ]


# ---- database connections and reads -------------------------------------------------------------


def test_a_password_written_in_the_yaml_is_refused(tmp_path: Path) -> None:
    files = {"flows/ingest.yml": CONNECTIONS + "  crm:\n    type: postgres\n    host: crm-db\n    database: crm\n"
             "    password: hunter2\n  erp:\n    type: sqlalchemy\n    url: mssql+pyodbc://loader:hunter2@erp/ERP\n"}
    assert problems(tmp_path, files) == [
        "flows/ingest.yml:18: project: connections.crm.password: 'password' is written in the YAML -> write it "
        "as a reference such as ${DB_PASSWORD} and set that environment variable",
        "flows/ingest.yml:21: project: connections.erp.url: the password in 'url' is written in the YAML -> "
        "write it as a reference such as ${DB_PASSWORD} and set that environment variable",
    ]


def test_a_secret_with_a_default_in_the_yaml_is_refused(tmp_path: Path) -> None:
    """`${VAR:-hunter2}` is the password in the YAML whenever VAR is unset."""
    files = {"flows/ingest.yml": CONNECTIONS + "  crm:\n    type: postgres\n    host: crm-db\n    database: crm\n"
             "    password: ${CRM_PASSWORD:-hunter2}\n"}
    assert problems(tmp_path, files) == [
        "flows/ingest.yml:18: project: connections.crm.password: 'password' has a default in the YAML "
        "(${CRM_PASSWORD:-...}) -> a secret comes from the environment alone: write ${CRM_PASSWORD}",
    ]


def test_database_connection_settings_that_cannot_work(tmp_path: Path) -> None:
    files = {"flows/ingest.yml": CONNECTIONS + "  crm:\n    type: postgres\n    database: crm\n"
             "  erp:\n    type: mssql\n    host: erp\n    database: ERP\n    authentication: service_principal\n"
             "    client_id: abc\n"}
    assert problems(tmp_path, files) == [
        "flows/ingest.yml:14: project: connections.crm: missing address -> set 'host:' and 'database:' (with "
        "user/password), or a full 'url:'",
        "flows/ingest.yml:17: project: connections.erp: service_principal authentication needs tenant_id, "
        "client_secret -> add them (client_secret as a ${VAR} reference)",
    ]


def test_a_query_file_that_cannot_be_read(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": "home: {query_file: sql/orders.sql}\n"}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:1: shop.orders: query_file 'sql/orders.sql' cannot be read (No such file "
        f"or directory: {tmp_path}/flows/shop/entities/sql/orders.sql) -> give a path relative to this YAML file",
    ]


def test_parallel_reads_need_a_database_home_and_exclude_watermarks_in_key_partitions(tmp_path: Path) -> None:
    files = {
        "flows/shop/entities/orders.yml": yaml_text("""
            watermark: updated_at
            run_type: incremental
            parallel: {column: id, dagster_partitions: true}
            """),
        "flows/shop/entities/files.yml": yaml_text("""
            home: {connection: lake, path: raw}
            parallel: {column: id, partitions: 1}
            """),
        "flows/shop/entities/events.yml": yaml_text("""
            home: {connection: lake, path: raw}
            parallel: {column: id}
            """),
    }
    assert problems(tmp_path, files) == [
        "flows/shop/entities/events.yml:2: shop.events: home 'lake' (parquet) cannot read in parallel -> remove "
        "'parallel:' (parallel reads are for database homes)",
        "flows/shop/entities/files.yml:2: shop.files: parallel.partitions: wrong value (1) -> greater than or equal to 2",
        "flows/shop/entities/orders.yml:3: shop.orders: parallel.dagster_partitions with a watermark or partition "
        "-> key partitions reload their bucket every run; remove 'dagster_partitions' or the other setting",
    ]


# ---- write strategies ---------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["upsert", "merge"])
def test_upsert_and_merge_need_a_write_key(tmp_path: Path, strategy: str) -> None:
    files = {"flows/shop/entities/orders.yml": f"""
        write_strategy: {strategy}
        """}
    assert problems(tmp_path, files) == [
        f"flows/shop/entities/orders.yml:1: shop.orders: write_strategy: {strategy} needs the key that identifies "
        "a row -> add 'write_key: [<column>, ...]' (or 'keys:')",
    ]


def test_an_unknown_write_strategy(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": "write_strategy: overwrite\n"}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:1: shop.orders: write_strategy: 'overwrite' is not valid -> one of "
        "'append', 'replace', 'upsert' or 'merge'",
    ]


def test_delete_missing_belongs_to_merge(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": """
        write_strategy: upsert
        write_key: order_id
        delete_missing: true
        """}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:3: shop.orders: delete_missing belongs to write_strategy: merge -> set "
        "write_strategy: merge, or remove delete_missing",
    ]


def test_delete_missing_needs_full_snapshots(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": """
        run_type: incremental
        watermark: updated_at
        write_strategy: merge
        write_key: [order_id]
        delete_missing: true
        """}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:5: shop.orders: delete_missing on an incremental entity would delete "
        "every row not changed since the last run -> use run_type: full_drop (complete snapshots) or partitions",
    ]


def test_replace_on_an_incremental_entity(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": """
        run_type: incremental
        watermark: updated_at
        write_strategy: replace
        """}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:3: shop.orders: write_strategy: replace on an incremental entity would "
        "keep only the rows changed since the last run -> use upsert or append, or run_type: full_drop",
    ]


def test_append_on_a_partitioned_entity(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": """
        write_strategy: append
        partition:
          column: ordered_at
          start: 2026-01-01
        """}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:1: shop.orders: write_strategy: append on a partitioned entity "
        "duplicates rows when a partition is loaded again -> use replace (the default) or upsert",
    ]


def test_write_strategy_and_hygges_store_incremental_together(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": """
        write_strategy: append
        store:
          incremental: true
        """}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:1: shop.orders: both write_strategy and store.incremental are set -> "
        "store.incremental is hygge's shorthand for a write strategy; keep write_strategy and remove "
        "store.incremental",
    ]


def test_lookback_with_append_would_duplicate_rows(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": """
        run_type: incremental
        keys: [order_id]
        write_strategy: append
        watermark:
          column: updated_at
          lookback: 2h
        """}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:6: shop.orders: watermark.lookback re-reads rows already loaded, which "
        "write_strategy: append would duplicate -> use write_strategy: upsert (the default with keys)",
    ]


def test_audit_and_write_key_columns_against_the_column_list(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": """
        columns: [order_id, amount]
        write_strategy: upsert
        write_key: [order_code]
        audit:
          loaded_at: amount
          row_hash:
            columns: [order_id, status]
        """}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:1: shop.orders: audit.row_hash.columns names column 'status' which "
        "'columns' leaves out -> add it to columns (order_id, amount)",
        "flows/shop/entities/orders.yml:1: shop.orders: write_key names column 'order_code' which 'columns' "
        "leaves out -> add it to columns (order_id, amount)",
        "flows/shop/entities/orders.yml:4: shop.orders: audit column 'amount' is also a source column -> give "
        "the audit column another name",
    ]


def test_audit_columns_with_one_name(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": """
        audit:
          loaded_at: _meta
          run_id: _meta
        """}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:1: shop.orders: audit: audit columns share a name (_meta, _meta) -> "
        "give each its own name",
    ]


def test_an_unknown_schema_policy(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": "schema_changes: drop\n"}
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:1: shop.orders: schema_changes: 'drop' is not valid -> one of 'evolve', "
        "'fail' or 'ignore'",
    ]


# ---- Azure storage and Open Mirroring stores ------------------------------------------------------

MIRROR_CONNECTIONS = CONNECTIONS + (
    "  mirror:\n    type: open_mirroring\n    local_path: data/onelake\n    mirror_name: shop\n"
    "  raw:\n    type: adls\n    account_url: https://acct.dfs.core.windows.net\n    filesystem: raw\n"
    "    account_key: ${ADLS_KEY}\n"
)


def test_mirror_and_adls_stores_refuse_what_they_cannot_do(tmp_path: Path) -> None:
    files = {
        "flows/ingest.yml": MIRROR_CONNECTIONS,
        "flows/shop/entities/daily.yml": yaml_text("""
            store: mirror
            keys: [id]
            partition: {column: day, start: 2026-01-01}
            checks: {min_rows: 1}
            """),
        "flows/shop/entities/orders.yml": yaml_text("""
            store: {connection: raw, row_marker_column: op}
            """),
        "flows/shop/entities/lines.yml": yaml_text("""
            store: raw
            keys: [id]
            write_strategy: upsert
            """),
    }
    assert problems(tmp_path, files) == [
        "flows/shop/entities/daily.yml:3: shop.daily: store 'mirror' (open_mirroring) cannot replace one partition's "
        "rows -> use a watermark (run_type: incremental) instead of partitions for this store",
        "flows/shop/entities/daily.yml:4: shop.daily: store 'mirror' (open_mirroring) cannot count or query its "
        "table, so checks min_rows, not_null and unique cannot run -> remove them (check the table where it is "
        "read, e.g. in Fabric)",
        "flows/shop/entities/lines.yml:3: shop.lines: store 'raw' (adls) can append or replace, not upsert -> use a "
        "database, duckdb, delta, parquet or open_mirroring store to upsert by key",
        "flows/shop/entities/orders.yml:1: shop.orders: store setting 'row_marker_column' is for open_mirroring "
        "stores, and 'raw' is adls -> remove it",
    ]


@pytest.mark.parametrize(("settings", "message"), [
    ("account_url: https://acct.dfs.core.windows.net\n    local_path: x",
     "say where the files go -> set 'account_url:' and 'filesystem:' (or 'connection_string:'), or "
     "'local_path:' for a local folder, not both"),
    ("account_url: https://acct.dfs.core.windows.net", "missing 'filesystem:' -> the container, ADLS file system "
     "or Fabric workspace name"),
    ("account_url: http://127.0.0.1:10000/dev\n    filesystem: x", "cannot tell the API from "
     "'http://127.0.0.1:10000/dev' -> set 'api: dfs' (ADLS Gen2, OneLake) or 'api: blob' (Blob storage, Azurite)"),
    ("account_url: https://acct.blob.core.windows.net\n    filesystem: x\n    account_key: abc123",
     "'account_key' is written in the YAML -> write it as a reference such as ${DB_PASSWORD} and set that "
     "environment variable"),
    ("account_url: https://acct.dfs.core.windows.net\n    filesystem: x\n    credential: service_principal\n"
     "    tenant_id: t", "credential service_principal needs client_id, client_secret -> add client_id and "
     "client_secret (secrets as ${VAR} references)"),
])
def test_azure_storage_connection_errors(tmp_path: Path, settings: str, message: str) -> None:
    files = {"flows/ingest.yml": f"connections:\n  raw:\n    type: adls\n    {settings}\n"}
    found = problems(tmp_path, files)
    assert len(found) == 1 and found[0].endswith(message), found


@pytest.mark.parametrize("path", ["../outside", "shop/../../outside", "/tmp/outside", "C:/outside"])
def test_a_store_path_must_stay_inside_the_stores_folder(tmp_path: Path, path: str) -> None:
    files = {"flows/shop/entities/orders.yml": f"store:\n  connection: lake\n  path: '{path}'\n"}
    assert problems(tmp_path, files) == [
        f"flows/shop/entities/orders.yml:3: shop.orders: {path!r} leads outside the store's folder -> give a folder "
        "inside it, relative to the store's path, without '..' or a leading '/'",
    ]


def test_a_store_path_may_hold_dots_inside_a_name(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": "store:\n  connection: lake\n  path: shop/v1..2/orders\n"}
    [entity] = load_plan(write_project(tmp_path, {"flows/ingest.yml": CONNECTIONS, "flows/shop/flow.yml": SHOP_FLOW,
                                                   **files})).entities
    assert entity.write.path == "shop/v1..2/orders"


@pytest.mark.parametrize("path", [".", "./"])
def test_a_store_path_may_not_be_the_stores_folder_itself(tmp_path: Path, path: str) -> None:
    """A full load replaces its folder: the store's own folder would lose every other dataset."""
    files = {"flows/shop/entities/orders.yml": f"store:\n  connection: lake\n  path: '{path}'\n"}
    assert problems(tmp_path, files) == [
        f"flows/shop/entities/orders.yml:3: shop.orders: {path!r} is the store's folder itself -> give a folder "
        "inside it, e.g. sales/orders",
    ]


def test_a_derived_assets_store_path_must_stay_inside_the_stores_folder(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": "keys: [id]\n",
             "flows/shop/derived/totals.yml": "inputs: [shop.orders]\nsql: SELECT 1\nstore:\n  connection: lake\n"
                                              "  path: ../../outside\n"}
    assert problems(tmp_path, files) == [
        "flows/shop/derived/totals.yml:5: shop.totals: '../../outside' leads outside the store's folder -> give a "
        "folder inside it, relative to the store's path, without '..' or a leading '/'",
    ]


def test_open_mirroring_schema_folders_must_stay_inside_the_landing_zone(tmp_path: Path) -> None:
    files = {"flows/ingest.yml": MIRROR_CONNECTIONS.replace("mirror_name: shop\n", "mirror_name: shop\n"
                                                              "    schema: ../../other\n"),
             "flows/shop/entities/orders.yml": "store:\n  connection: mirror\n  schema: /tmp\n"}
    assert problems(tmp_path, files) == [
        "flows/ingest.yml:18: project: connections.mirror.schema: '../../other' leads outside the store's folder "
        "-> give a folder inside it, relative to the store's path, without '..' or a leading '/'",
    ]
    files["flows/ingest.yml"] = MIRROR_CONNECTIONS
    assert problems(tmp_path, files) == [
        "flows/shop/entities/orders.yml:3: shop.orders: '/tmp' leads outside the store's folder -> give a folder "
        "inside it, relative to the store's path, without '..' or a leading '/'",
    ]


def test_query_memory_limit_must_be_a_size_or_a_share(tmp_path: Path) -> None:
    files = {"flows/ingest.yml": CONNECTIONS + "options:\n  query_memory_limit: lots\n"}
    assert problems(tmp_path, files) == [
        "flows/ingest.yml:15: project: options.query_memory_limit: 'lots' is not a memory size -> give a size "
        "DuckDB reads ('4GB', '512MiB') or a share of the machine ('25%')",
    ]


# ---- files that are not what they seem ----------------------------------------------------------


def test_an_entity_file_that_is_not_utf8(tmp_path: Path) -> None:
    write_project(tmp_path, {"flows/ingest.yml": CONNECTIONS, "flows/shop/flow.yml": SHOP_FLOW})
    (tmp_path / "flows/shop/entities").mkdir(parents=True)
    (tmp_path / "flows/shop/entities/orders.yml").write_bytes(b"description: caf\xe9\n")
    with pytest.raises(ConfigError) as caught:
        load_plan(tmp_path / "flows")
    assert [str(p) for p in caught.value.problems] == [
        "flows/shop/entities/orders.yml:1: yaml: the file is not UTF-8 text (byte 0xe9 at offset 16) -> save it "
        "as UTF-8",
    ]


def test_a_flow_file_that_is_not_utf8_names_the_line_of_the_first_bad_byte(tmp_path: Path) -> None:
    write_project(tmp_path, {"flows/ingest.yml": CONNECTIONS})
    (tmp_path / "flows/shop").mkdir()
    (tmp_path / "flows/shop/flow.yml").write_bytes(SHOP_FLOW.encode() + "description: Bücher\n".encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_plan(tmp_path / "flows")
    assert [str(p) for p in caught.value.problems] == [
        "flows/shop/flow.yml:3: yaml: the file is not UTF-8 text (byte 0xfc at offset 45) -> save it as UTF-8",
    ]


def test_a_utf8_file_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    write_project(tmp_path, {"flows/ingest.yml": CONNECTIONS, "flows/shop/flow.yml": SHOP_FLOW})
    (tmp_path / "flows/shop/entities").mkdir()
    (tmp_path / "flows/shop/entities/orders.yml").write_bytes(b"\xef\xbb\xbfdescription: caf\xc3\xa9\nkeys: [id]\n")
    [orders] = load_plan(tmp_path / "flows").entities
    assert (orders.entity, orders.description, orders.keys) == ("orders", "café", ("id",))


@pytest.mark.parametrize(("setting", "file"), [("home: {query_file: orders.sql}", "flows/shop/entities/orders.sql"),
                                               ("transform: {sql_file: clean.sql}", "flows/shop/entities/clean.sql")])
def test_a_sql_file_that_is_not_utf8(tmp_path: Path, setting: str, file: str) -> None:
    files = {"flows/shop/entities/orders.yml": setting + "\n"}
    write_project(tmp_path, {"flows/ingest.yml": CONNECTIONS, "flows/shop/flow.yml": SHOP_FLOW, **files})
    (tmp_path / file).write_bytes("SELECT *\nFROM orders -- für\n".encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_plan(tmp_path / "flows")
    assert [str(p) for p in caught.value.problems] == [
        f"{file}:2: shop.orders: the file is not UTF-8 text (byte 0xfc at offset 25) -> save it as UTF-8",
    ]


def test_a_derived_sql_file_that_is_not_utf8(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": "keys: [id]\n",
             "flows/shop/derived/totals.yml": "inputs: [shop.orders]\nsql_file: totals.sql\n"}
    write_project(tmp_path, {"flows/ingest.yml": CONNECTIONS, "flows/shop/flow.yml": SHOP_FLOW, **files})
    (tmp_path / "flows/shop/derived/totals.sql").write_bytes(b"SELECT 1 -- \xe9\n")
    with pytest.raises(ConfigError) as caught:
        load_plan(tmp_path / "flows")
    assert [str(p) for p in caught.value.problems] == [
        "flows/shop/derived/totals.sql:1: shop.totals: the file is not UTF-8 text (byte 0xe9 at offset 12) -> save "
        "it as UTF-8",
    ]


def test_a_file_past_ten_mebibytes_is_refused_before_it_is_read(tmp_path: Path) -> None:
    write_project(tmp_path, {"flows/ingest.yml": CONNECTIONS, "flows/shop/flow.yml": SHOP_FLOW})
    (tmp_path / "flows/shop/entities").mkdir()
    with (tmp_path / "flows/shop/entities/orders.yml").open("wb") as huge:
        huge.truncate(10 * 1024 * 1024 + 1)  # sparse: nothing is written, and nothing must be read
    with pytest.raises(ConfigError) as caught:
        load_plan(tmp_path / "flows")
    assert [str(p) for p in caught.value.problems] == [
        "flows/shop/entities/orders.yml:1: yaml: the file holds 10,485,761 bytes, more than the 10,485,760 a "
        "project file may -> split it (an entity file per entity, under entities/)",
    ]


def test_nested_aliases_that_expand_past_a_million_values_are_refused(tmp_path: Path) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(6))
    assert problems(tmp_path, {"flows/shop/entities/orders.yml": bomb}) == [
        "flows/shop/entities/orders.yml:1: yaml: the file expands to more than 1,000,000 values through its "
        "aliases (*name) -> write the settings out, or alias fewer nested ones",
    ]


def test_a_few_aliases_are_fine(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": "tags: &tags {team: sales}\nowners: [team:sales]\n",
             "flows/shop/entities/refunds.yml": "description: &d refunds\nhome: {table: refunds}\n"}
    plan = load_plan(write_project(tmp_path, {"flows/ingest.yml": CONNECTIONS, "flows/shop/flow.yml": SHOP_FLOW,
                                              **files}))
    assert {entity.entity for entity in plan.entities} == {"orders", "refunds"}


def test_a_flow_folder_without_flow_yml_is_said(tmp_path: Path) -> None:
    assert problems(tmp_path, {"flows/sales/entities/orders.yml": "store: lake\n"}) == [
        "flows/sales/flow.yml:1: sales: folder flows/sales holds entities but no flow.yml -> add "
        "flows/sales/flow.yml (home:, store:), or start the folder's name with _ to keep it out",
    ]


def test_both_flow_yml_and_flow_yaml(tmp_path: Path) -> None:
    assert problems(tmp_path, {"flows/shop/flow.yaml": SHOP_FLOW}) == [
        "flows/shop/flow.yaml:1: project: flows/shop/flow.yaml and flows/shop/flow.yml are both there -> keep one "
        "of them",
    ]


def test_a_flow_file_in_other_letters(tmp_path: Path) -> None:
    project = {"flows/ingest.yml": CONNECTIONS, "flows/shop/Flow.YML": SHOP_FLOW}
    with pytest.raises(ConfigError) as caught:
        load_plan(write_project(tmp_path, project))
    assert [str(p) for p in caught.value.problems] == [
        "flows/shop/Flow.YML:1: project: the file must be named flow.yml or flow.yaml -> rename it",
    ]


@pytest.mark.parametrize("name", ["orders.YML", "orders.Yaml"])
def test_an_entity_file_with_a_suffix_in_other_letters_is_refused(tmp_path: Path, name: str) -> None:
    assert problems(tmp_path, {f"flows/shop/entities/{name}": "description: upper\n"}) == [
        f"flows/shop/entities/{name}:1: shop.orders: the file ends in {name[6:]!r}, not .yml or .yaml -> rename it "
        f"orders{name[6:].lower()}",
    ]


def test_a_derived_file_with_a_suffix_in_other_letters_is_refused(tmp_path: Path) -> None:
    files = {"flows/shop/entities/orders.yml": "keys: [id]\n",
             "flows/shop/derived/totals.YML": "inputs: [shop.orders]\nsql: SELECT 1\n"}
    assert problems(tmp_path, files) == [
        "flows/shop/derived/totals.YML:1: shop.totals: the file ends in '.YML', not .yml or .yaml -> rename it "
        "totals.yml",
    ]


def test_a_flow_folder_with_only_entities_in_other_letters_says_flow_yml_is_missing(tmp_path: Path) -> None:
    assert problems(tmp_path, {"flows/sales/orders.YML": "store: lake\n"}) == [
        "flows/sales/flow.yml:1: sales: folder flows/sales holds entities but no flow.yml -> add "
        "flows/sales/flow.yml (home:, store:), or start the folder's name with _ to keep it out",
    ]


def test_folders_of_shared_sql_and_other_files_stay_legal(tmp_path: Path) -> None:
    files = {"flows/sql/orders.sql": "SELECT * FROM orders", "flows/shop/README.md": "# shop\n",
             "flows/shop/entities/orders.yml": "home: {query_file: sql/orders.sql}\n",
             "flows/shop/entities/sql/orders.sql": "SELECT * FROM orders", "flows/_drafts/entities/x.yml": "a: [\n"}
    plan = load_plan(write_project(tmp_path, {"flows/ingest.yml": CONNECTIONS, "flows/shop/flow.yml": SHOP_FLOW,
                                              **files}))
    assert [entity.entity for entity in plan.entities] == ["orders"]
