"""Which entities share a step, and how many of a shared step load at once."""

from __future__ import annotations

from pathlib import Path

from ingest_assets.defs.steps import plan_steps
from ingest_assets.plan.load import load_plan
from ingest_assets_tests.conftest import write_project


def _steps(tmp_path: Path, options: str, flows: dict[str, str]) -> tuple[list[str], dict[str, tuple[list[str], int]]]:
    files = {
        "flows/ingest.yml": f"""
            connections:
              src: {{type: postgres, host: localhost, database: shop, user: reader, pool_size: 3}}
              one: {{type: postgres, host: localhost, database: other, user: reader, pool_size: 1}}
              lake: {{type: parquet, path: lake}}
              warehouse: {{type: duckdb, path: warehouse.duckdb}}
            options: {{{options}}}
            """,
        **flows,
    }
    alone, shared = plan_steps(load_plan(write_project(tmp_path, files)))
    return ([entity.label for entity in alone],
            {step.name: ([entity.label for entity in step.entities], step.threads) for step in shared})


def _entities(names: str, extra: str = "") -> str:
    return "".join(f"  - name: {name}\n    home: {{table: {name}}}\n{extra}" for name in names.split())


def test_entities_of_a_flow_home_and_store_share_steps_of_at_most_entities_per_step(tmp_path: Path):
    alone, shared = _steps(tmp_path, "concurrency: 4, entities_per_step: 2", {
        "flows/sales/flow.yml": "home: src\nstore: lake\nentities:\n" + _entities("a b c d e"),
        "flows/web/flow.yml": "home: src\nstore: warehouse\nentities:\n" + _entities("x y"),
        "flows/solo/flow.yml": "home: src\nstore: lake\nentities:\n" + _entities("only"),
    })

    assert shared == {
        "sales__src_to_lake_1": (["sales.a", "sales.b"], 2),
        "sales__src_to_lake_2": (["sales.c", "sales.d"], 2),
        "sales__src_to_lake_3": (["sales.e"], 1),
        # DuckDB takes one writer per process: the entities of its steps load one after the other.
        "web__src_to_warehouse": (["web.x", "web.y"], 1),
    }
    assert alone == ["solo.only"]


def test_threads_are_bounded_by_concurrency_and_the_pool(tmp_path: Path):
    _, shared = _steps(tmp_path, "concurrency: 2", {
        "flows/sales/flow.yml": "home: src\nstore: lake\nentities:\n" + _entities("a b c d"),
        "flows/narrow/flow.yml": "home: one\nstore: lake\nentities:\n" + _entities("p q r"),
    })
    assert shared["sales__src_to_lake"][1] == 2  # concurrency 2 (the pool allows 3)
    assert shared["narrow__one_to_lake"][1] == 1  # pool_size 1


def test_partitioned_entities_and_entities_per_step_one_keep_their_own_steps(tmp_path: Path):
    partitioned = "    partition: {column: day, granularity: daily, start: '2026-01-01'}\n"
    alone, shared = _steps(tmp_path, "entities_per_step: 1", {
        "flows/sales/flow.yml": "home: src\nstore: lake\nentities:\n" + _entities("a b"),
    })
    assert (alone, shared) == (["sales.a", "sales.b"], {})

    alone, shared = _steps(tmp_path, "concurrency: 2", {
        "flows/sales/flow.yml": "home: src\nstore: lake\nentities:\n" + _entities("a b")
                                + _entities("daily", partitioned),
    })
    assert alone == ["sales.daily"]
    assert shared == {"sales__src_to_lake": (["sales.a", "sales.b"], 2)}
