"""The project cannot be used: YAML problems, an unset environment variable, a translator or a
connector plugin that breaks its contract. Raised while loading definitions or a resource; none is
retried."""

from __future__ import annotations

from dataclasses import dataclass

from ingest_assets.causes.base import IngestError


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in the YAML project, with where it is and how to fix it."""

    file: str
    line: int
    entity: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.entity}: {self.message}"


class ConfigError(IngestError):
    """The project is invalid; every problem found is listed, sorted by file and line."""

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.entity, p.message))
        count = len(self.problems)
        header = f"the ingest project has {count} problem{'s' if count != 1 else ''}:"
        super().__init__("\n".join([header, *(f"  {p}" for p in self.problems)]))


class MissingEnvironmentVariable(IngestError):
    """A `${VAR}` reference names a variable that is not set and has no default.

    `secret`: the reference is in a secret setting, which may not have a default (the project refuses one).
    """

    def __init__(self, *, name: str, secret: bool = False) -> None:
        self.name, self.secret = name, secret
        if secret:
            fix = (f"export {name}=... where the code location runs (or put it in the .env file that dagster dev "
                   "reads); a secret takes no default in the YAML")
        else:
            fix = f"export {name}=..., or give the setting a default in flows/ingest.yml: ${{{name}:-default}}"
        super().__init__(f"environment variable {name} is not set -> {fix}")


# ---- the translator ------------------------------------------------------------------------------


class TranslatorError(IngestError):
    """A translator whose specs disagree with its own asset keys."""


class TranslatorKeyMismatch(TranslatorError):
    """`get_asset_spec` gives an entity another key than `get_asset_key` (which everything else uses)."""

    def __init__(self, *, translator: str, entity: str, spec_key: str, asset_key: str) -> None:
        self.translator, self.entity, self.spec_key, self.asset_key = translator, entity, spec_key, asset_key
        super().__init__(
            f"{translator}.get_asset_spec gives {entity} the key {spec_key!r}, but get_asset_key gives "
            f"{asset_key!r} -> change keys in get_asset_key only (checks, jobs, sensors and runs all use it)"
        )


# ---- connector plugins ---------------------------------------------------------------------------


class PluginError(IngestError):
    """An installed connector plugin cannot be used (it fails to import, or registers a bad type).

    `origin` describes the entry point: its name, value and distribution."""


def _fix(distribution: str | None) -> str:
    return f"fix the plugin, or uninstall it (pip uninstall {distribution or '<its distribution>'})"


class NoBuiltInConnectors(PluginError):
    """No entry point of ingest_assets itself is registered: the installation is broken."""

    def __init__(self, *, group: str) -> None:
        self.group = group
        super().__init__(f"no built-in connection type is registered (entry points {group}) -> "
                         "reinstall ingest_assets, e.g. pip install -e .")


class PluginShadowsBuiltIn(PluginError):
    """A plugin registers the name of a built-in type."""

    def __init__(self, *, origin: str, name: str) -> None:
        self.origin, self.name = origin, name
        super().__init__(f"{origin} registers type {name!r}, which is built in -> give the entry point another name")


class PluginImportFailed(PluginError):
    """Loading the plugin's entry point raised (any error of foreign code at import time)."""

    def __init__(self, *, origin: str, error_type: str, reason: str, distribution: str | None) -> None:
        self.origin, self.error_type, self.reason, self.distribution = origin, error_type, reason, distribution
        super().__init__(f"{origin} failed to import: {error_type}: {reason} -> {_fix(distribution)}")


class PluginNotAConnectorType(PluginError):
    """The entry point names something other than a ConnectorType."""

    def __init__(self, *, origin: str, found_type: str, distribution: str | None) -> None:
        self.origin, self.found_type, self.distribution = origin, found_type, distribution
        super().__init__(f"{origin} is a {found_type}, not an ingest_assets.plugins.ConnectorType "
                         f"-> point the entry point at one; {_fix(distribution)}")


class PluginNameMismatch(PluginError):
    """The ConnectorType's name differs from its entry point's."""

    def __init__(self, *, origin: str, name: str) -> None:
        self.origin, self.name = origin, name
        super().__init__(f"{origin} registers a ConnectorType named {name!r} -> name the entry point like the type")


class PluginModelMissing(PluginError):
    """The ConnectorType has no settings model whose `type` accepts its name."""

    def __init__(self, *, origin: str, name: str) -> None:
        self.origin, self.name = origin, name
        super().__init__(f"{origin} needs a settings model with `type: Literal[{name!r}]` -> set "
                         "ConnectorType(model=...) to a subclass of ingest_assets.plugins.ConnectionSettings")


class PluginAliasUnregistered(PluginError):
    """The settings model's `type` accepts a name that no entry point registers with that model."""

    def __init__(self, *, origin: str, alias: str) -> None:
        self.origin, self.alias = origin, alias
        super().__init__(f"{origin} has a settings model whose `type` also accepts {alias!r}, which no entry "
                         f"point registers with that model -> register {alias!r} too, or remove it from the Literal")
