"""The import graph of `ingest_assets`, read from the source with `ast` (nothing is imported).

Used by `test_architecture.py`; run it to print the graph's findings:

    .venv/bin/python -m ingest_assets_tests.import_graph

Every `import` statement of every module is an `Import` of one of three kinds: at the top level
(class bodies and `try`/`if` blocks at module level included), under `if TYPE_CHECKING:`, or inside a
function. `from X import Y` names the module `X.Y` when that is a module, else `X`; relative imports
are resolved against the importing module's package.

Importing a submodule runs its packages' `__init__` first, so `import a.b.c` is also an (implicit)
import of `a` and `a.b`, except the importer's own packages: they are already being imported when
it runs. An edge from a submodule to its own package therefore exists only when it imports a name
defined in that `__init__` (`from a.b import some_name`), not when it imports a sibling module
(`from a.b import c`).
"""

from __future__ import annotations

import ast
import enum
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

PACKAGE = "ingest_assets"
REPOSITORY = Path(__file__).resolve().parent.parent
PACKAGE_DIR = REPOSITORY / PACKAGE

# Third-party packages that loading the code location must not import: the data path (pyarrow, duckdb,
# sqlalchemy and the DuckDB resource), the database drivers and the Azure SDK. The list of
# test_definitions.py's "imports no driver" test, plus the drivers and dagster_duckdb the package
# also imports. A function-local import is how a light module reaches one of these lazily.
HEAVY_PACKAGES = frozenset({
    "pyarrow", "duckdb", "polars", "sqlalchemy", "dagster_duckdb",
    "adbc_driver_postgresql", "adbc_driver_manager", "adbc_driver_sqlite", "pyodbc", "psycopg", "pymysql",
    "connectorx", "deltalake",
    "azure",
})


class Kind(enum.Enum):
    TOP = "top level"
    TYPE_CHECKING = "under TYPE_CHECKING"
    LOCAL = "inside a function"


@dataclass(frozen=True)
class Import:
    importer: str  # the importing module, e.g. "ingest_assets.defs.factory"
    file: str  # its file, relative to the repository, e.g. "ingest_assets/defs/factory.py"
    line: int
    kind: Kind
    target: str  # the imported module (a third-party import: its top-level package)
    implicit: bool = False  # a package whose `__init__` runs because one of its submodules is imported
    via: str = ""  # for an implicit import: the submodule named by the statement

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def __str__(self) -> str:
        what = f"{self.target} (the package of {self.via})" if self.implicit else self.target
        return f"{self.where} imports {what} {self.kind.value}"


def module_name(path: Path, root: Path = REPOSITORY) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def ancestors(module: str) -> list[str]:
    """The packages that hold `module`, outermost first: a.b.c -> [a, a.b]."""
    parts = module.split(".")
    return [".".join(parts[:n]) for n in range(1, len(parts))]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _statements(nodes: Iterable[ast.AST], kind: Kind) -> Iterator[tuple[ast.Import | ast.ImportFrom, Kind]]:
    """Every import statement in `nodes` and below, with the kind of the block it is in."""
    for node in nodes:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, kind
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield from _statements(node.body, Kind.TYPE_CHECKING if kind is Kind.TYPE_CHECKING else Kind.LOCAL)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _statements(node.body, Kind.TYPE_CHECKING)
            yield from _statements(node.orelse, kind)  # `else:` runs
        else:
            yield from _statements(ast.iter_child_nodes(node), kind)


class ImportGraph:
    def __init__(self, package_dir: Path = PACKAGE_DIR) -> None:
        self.package, self.root = package_dir.name, package_dir.parent
        self.files: dict[str, Path] = {
            module_name(path, self.root): path
            for path in sorted(package_dir.rglob("*.py")) if "__pycache__" not in path.parts
        }
        self.packages = {name for name, path in self.files.items() if path.name == "__init__.py"}
        self.imports: list[Import] = []  # between modules of the package
        self.external: list[Import] = []  # of third-party (and standard library) packages
        self.unresolved: list[Import] = []  # of package modules that do not exist
        for module, path in self.files.items():
            self._read(module, path)

    # -- reading ----------------------------------------------------------------------------------

    def _read(self, module: str, path: Path) -> None:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        file = path.relative_to(self.root).as_posix()
        package = module if module in self.packages else module.rpartition(".")[0]
        for statement, kind in _statements(tree.body, Kind.TOP):
            for target in self._targets(statement, package):
                found = Import(module, file, statement.lineno, kind, target)
                if target.split(".")[0] != self.package:
                    self.external.append(found)
                elif target not in self.files:
                    self.unresolved.append(found)
                elif target != module:
                    self.imports.append(found)
                    self.imports.extend(
                        Import(module, file, statement.lineno, kind, parent, implicit=True, via=target)
                        for parent in ancestors(target)
                        if parent != module and parent not in ancestors(module))

    def _targets(self, statement: ast.Import | ast.ImportFrom, package: str) -> list[str]:
        if isinstance(statement, ast.Import):
            return [alias.name for alias in statement.names]
        if statement.level:
            base = package.split(".")[: len(package.split(".")) - (statement.level - 1)]
            source = ".".join([*base, *([statement.module] if statement.module else [])])
        else:
            source = statement.module or ""
        if source.split(".")[0] != self.package:
            return [source]
        # `from X import Y`: the module X.Y when there is one, else (a name of) X; one target per name.
        targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in self.files else source
                   for alias in statement.names]
        return list(dict.fromkeys(targets))

    # -- the graph --------------------------------------------------------------------------------

    def edges(self, kinds: Iterable[Kind] = tuple(Kind)) -> dict[str, set[str]]:
        kinds = set(kinds)
        graph: dict[str, set[str]] = {module: set() for module in self.files}
        for found in self.imports:
            if found.kind in kinds:
                graph[found.importer].add(found.target)
        return graph

    def imports_between(self, importer: str, target: str) -> list[Import]:
        return [found for found in self.imports if found.importer == importer and found.target == target]

    @cached_property
    def components(self) -> list[list[str]]:
        """The strongly connected components of the whole graph (every kind of import), by Tarjan."""
        graph = self.edges()
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on_stack: set[str] = set()
        found: list[list[str]] = []

        def visit(module: str) -> None:
            index[module] = low[module] = len(index)
            stack.append(module)
            on_stack.add(module)
            for target in sorted(graph[module]):
                if target not in index:
                    visit(target)
                    low[module] = min(low[module], low[target])
                elif target in on_stack:
                    low[module] = min(low[module], index[target])
            if low[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                found.append(sorted(component))

        for module in sorted(graph):
            if module not in index:
                visit(module)
        return found

    @cached_property
    def component_of(self) -> dict[str, int]:
        return {module: n for n, component in enumerate(self.components) for module in component}

    def cycles(self) -> list[list[str]]:
        """The components that are cycles (more than one module), largest first."""
        return sorted((c for c in self.components if len(c) > 1), key=lambda c: (-len(c), c))

    def in_cycle(self, found: Import) -> bool:
        return (found.importer != found.target
                and self.component_of[found.importer] == self.component_of[found.target])

    def _path(self, start: str, goal: str, members: set[str], graph: dict[str, set[str]]) -> list[str]:
        """The shortest path start -> ... -> goal (start excluded) inside `members`."""
        came_from: dict[str, str] = {}
        queue = deque([start])
        while queue:
            module = queue.popleft()
            for target in sorted(graph[module] & members):
                if target == goal:
                    path = [goal]
                    while module != start:
                        path.append(module)
                        module = came_from[module]
                    return path[::-1]
                if target not in came_from and target != start:
                    came_from[target] = module
                    queue.append(target)
        raise AssertionError(f"no path {start} -> {goal} inside its component")  # cannot happen

    def shortest_cycle(self, module: str, members: set[str]) -> list[str]:
        """The shortest cycle module -> ... -> module inside `members`."""
        return [module, *self._path(module, module, members, self.edges())]

    def covering_cycles(self, component: list[str]) -> list[list[str]]:
        """Short cycles that together pass through every module of a component: the shortest cycle
        through its first module, then through the first module not on a cycle yet, and so on."""
        members, cycles, covered = set(component), [], set()
        for module in component:
            if module not in covered:
                cycle = self.shortest_cycle(module, members)
                cycles.append(cycle)
                covered.update(cycle)
        return cycles

    def describe_cycles(self) -> str:
        """Each cycle: its modules, short cycles through all of them, and the imports that make it."""
        lines: list[str] = []
        for n, component in enumerate(self.cycles(), 1):
            cycles = self.covering_cycles(component)
            if len(cycles) == 1 and len(cycles[0]) == len(component) + 1:
                lines.append(f"cycle {n}: {' -> '.join(cycles[0])}")
            else:
                lines.append(f"cycle {n}: {len(component)} modules import each other: {', '.join(component)}")
                lines.extend(f"    {' -> '.join(cycle)}" for cycle in cycles)
            lines.append("  made by:")
            members = set(component)
            lines.extend(f"    {found}" for module in component for found in self.imports
                         if found.importer == module and found.target in members)
        return "\n".join(lines)

    # -- what importing a module loads ------------------------------------------------------------

    def loads(self, module: str) -> dict[str, list[str]]:
        """The package modules that importing `module` runs (its packages' `__init__` included),
        each with the chain of top-level imports that reaches it."""
        graph = self.edges([Kind.TOP])
        chains: dict[str, list[str]] = {}
        queue: deque[str] = deque()
        for start in [*ancestors(module), module]:
            if start in self.files and start not in chains:
                chains[start] = [start]
                queue.append(start)
        while queue:
            current = queue.popleft()
            for target in sorted(graph[current]):
                if target not in chains:
                    chains[target] = [*chains[current], target]
                    queue.append(target)
        return chains

    def heavy_imports(self, module: str) -> list[tuple[list[str], Import]]:
        """The top-level imports of heavy packages that importing `module` runs, each with its chain."""
        chains = self.loads(module)
        return [(chains[found.importer], found) for found in self.external
                if found.kind is Kind.TOP and found.importer in chains
                and found.target.split(".")[0] in HEAVY_PACKAGES]

    @cached_property
    def _heavy(self) -> dict[str, bool]:
        return {module: bool(self.heavy_imports(module)) for module in self.files}

    def is_heavy(self, module: str) -> bool:
        return self._heavy[module]

    # -- the rules --------------------------------------------------------------------------------

    def disallowed_deferred_imports(self) -> list[str]:
        """Function-local imports of light package modules, and TYPE_CHECKING imports that hide a
        cycle: each names file:line, the imported module and why it is refused."""
        problems = []
        for found in self.imports:
            if found.implicit or found.kind is Kind.TOP:
                continue
            cycle = ""
            if self.in_cycle(found):
                back = self._path(found.target, found.importer, set(self.components[self.component_of[found.importer]]),
                                  self.edges())
                cycle = f"; it dodges the cycle {' -> '.join([found.importer, found.target, *back])}"
            if found.kind is Kind.LOCAL and not self.is_heavy(found.target):
                problems.append(f"{found}: {found.target} is light (it loads no heavy package){cycle}")
            elif found.kind is Kind.TYPE_CHECKING and cycle:
                problems.append(f"{found}{cycle}")
        return problems


def report(graph: ImportGraph | None = None) -> str:
    graph = graph or ImportGraph()
    cycles = graph.describe_cycles() or "none"
    deferred = "\n".join(graph.disallowed_deferred_imports()) or "none"
    unresolved = "\n".join(map(str, graph.unresolved)) or "none"
    heavy = sorted(module for module in graph.files if graph.is_heavy(module))
    return (f"{len(graph.files)} modules, {len(graph.imports)} imports between them\n\n"
            f"import cycles:\n{cycles}\n\n"
            f"disallowed function-local / TYPE_CHECKING imports:\n{deferred}\n\n"
            f"imports of modules that do not exist:\n{unresolved}\n\n"
            f"heavy modules (import one of {', '.join(sorted(HEAVY_PACKAGES))} when imported):\n"
            + "\n".join(f"    {module}" for module in heavy))


if __name__ == "__main__":
    print(report())
