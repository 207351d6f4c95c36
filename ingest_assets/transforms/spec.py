"""The transform steps of a frozen entity plan: what a run needs, with no file left to read but Python's."""

from __future__ import annotations

from dataclasses import dataclass

from ingest_assets.transforms.settings import ParamValue

Params = tuple[tuple[str, ParamValue], ...]


@dataclass(frozen=True)
class SqlStep:
    """A DuckDB query over `records` (the stream coming in), with `$name` parameters bound by DuckDB."""

    sql: str
    where: str  # the .sql file, or `file:line` of an inline `sql:` (what error messages name)
    params: Params = ()

    def describe(self) -> str:
        return f"sql transform {self.where}"

    def fingerprint(self) -> dict[str, object]:
        return {"sql": self.sql, "params": [list(p) for p in self.params]}


@dataclass(frozen=True)
class PythonStep:
    """A function called once per batch (`function(batch, **params)`), from a module or a file."""

    target: str  # as the YAML writes it, e.g. `flows/shop/clean.py:add_tax` (a file shown from the project root)
    function: str
    module: str | None = None  # `module:function` targets
    path: str | None = None  # file targets: the absolute path (not part of the code version)
    digest: str | None = None  # file targets: the file's content hash when the plan was built
    params: Params = ()

    def describe(self) -> str:
        return f"python transform {self.target}"

    def fingerprint(self) -> dict[str, object]:
        return {"python": self.target, "digest": self.digest, "params": [list(p) for p in self.params]}


TransformStep = SqlStep | PythonStep
