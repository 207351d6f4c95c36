"""The shape of the YAML project: `flows/ingest.yml`, `flows/<flow>/flow.yml`, entity files.

Each file is validated on its own against these models (so every error points at its own file and
line); merging flow defaults into entities happens later, in `ingest_assets.plan.build`.
Connections are a discriminated union on `type`; `ingest_assets.connectors.registry` maps each type to its code.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from urllib.parse import unquote_plus
from typing import Annotated, Literal, Union

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ingest_assets.config.references import reference_syntax_errors, referenced_names
from ingest_assets.transforms.settings import TransformSettings

RunType = Literal["full_drop", "incremental"]
WriteStrategy = Literal["append", "replace", "upsert", "merge"]
SchemaPolicy = Literal["evolve", "fail", "ignore"]
AutomationStatus = Literal["running", "stopped"]
Granularity = Literal["hourly", "daily", "weekly", "monthly"]

# Dagster's rules for tag keys and values (definitions fail to load otherwise).
_TAG_KEY = re.compile(r"^([A-Za-z0-9_.-]{1,63}/)?[A-Za-z0-9_.-]{1,63}$")
_TAG_VALUE = re.compile(r"^[A-Za-z0-9_.-]{0,63}$")
_OWNER = re.compile(r"^(team:[A-Za-z0-9_.-]+|[^@\s]+@[^@\s]+\.[^@\s]+)$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def is_valid_name(value: str) -> bool:
    """Flow, entity and connection names: they become parts of Dagster asset keys and op names."""
    return bool(_NAME.match(value))


def _check_name(value: str) -> str:
    if not is_valid_name(value):
        raise ValueError(
            f"{value!r} is not a valid name -> use letters, digits and underscores, "
            "starting with a letter (it becomes part of a Dagster asset key)"
        )
    return value


# ---- connections (ingest.yml) -------------------------------------------------------------------


class _Connection(Model):
    description: str | None = None

    @field_validator("*")
    @classmethod
    def _references_valid(cls, value: object, info: ValidationInfo) -> object:
        # References are resolved only at run time; their syntax is checked now, when the project loads.
        if isinstance(value, str) and info.field_name != "description":
            bad = reference_syntax_errors(value)
            if bad:
                raise ValueError(
                    f"malformed reference{'s' if len(bad) > 1 else ''} {', '.join(map(repr, bad))} "
                    "-> write ${NAME} or ${NAME:-default}"
                )
        return value


class ParquetConnection(_Connection):
    """A folder of Parquet files: a home (files, folders, globs below it) or a store (datasets)."""

    type: Literal["parquet"]
    path: str


class CsvConnection(_Connection):
    """A folder of CSV files (home only)."""

    type: Literal["csv"]
    path: str
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    header: bool = True


class DuckDBConnection(_Connection):
    """A DuckDB database file: a home (tables, queries) or a store (tables)."""

    type: Literal["duckdb"]
    path: str


class SqliteConnection(_Connection):
    """A SQLite database file, read through SQLAlchemy (home only)."""

    type: Literal["sqlite"]
    path: str


_URL_PASSWORD = re.compile(r"^[A-Za-z0-9+.-]+://[^:/@]*:(?P<password>[^@]*)@")
# A password inside an ODBC connection string (a SQL Server `url`, or SQLAlchemy's `odbc_connect=`).
_ODBC_PASSWORD = re.compile(r"(?:^|;)\s*(?:PWD|Password)\s*=\s*(?P<password>\{(?:[^}]|\}\})*\}|[^;]*)", re.IGNORECASE)


def _url_passwords(url: str) -> list[str]:
    """Passwords written in a URL or an ODBC connection string (URL-encoded inside `odbc_connect=`)."""
    match = _URL_PASSWORD.match(url)
    found = [match.group("password")] if match else []
    odbc_text = unquote_plus(url).replace("?", ";").replace("&", ";")
    return found + [m.group("password") for m in _ODBC_PASSWORD.finditer(odbc_text)]


def _check_secret(setting: str, value: str | None) -> None:
    """Secrets must be references resolved from the environment at run time, never YAML text."""
    if value and not referenced_names(value):
        raise ValueError(f"{setting} is written in the YAML -> write it as a reference such as "
                         "${DB_PASSWORD} and set that environment variable")


class _DatabaseConnection(_Connection):
    # The most connections ingest opens to this database at once: a Dagster concurrency pool of this
    # size (named like the connection), so 200 entities on one database queue for it while entities
    # on other databases keep running.
    pool_size: PositiveInt | None = Field(default=None, validation_alias=AliasChoices("pool_size", "max_connections"))


class SqlAlchemyConnection(_DatabaseConnection):
    """Any database SQLAlchemy can reach; secrets as `${VAR}` references in the URL."""

    type: Literal["sqlalchemy"]
    url: str

    @field_validator("url")
    @classmethod
    def _no_password_in_url(cls, value: str) -> str:
        for password in _url_passwords(value):
            _check_secret("the password in 'url'", password)
        return value


class _ServerConnection(_DatabaseConnection):
    """A database server: either a full `url`, or host/port/database/user/password."""

    url: str | None = None
    host: str | None = None
    port: PositiveInt | None = None
    database: str | None = None
    user: str | None = None
    password: str | None = None  # a `${VAR}` reference; never the secret itself

    @field_validator("password", "client_secret", check_fields=False)
    @classmethod
    def _secret_is_reference(cls, value: str | None, info: ValidationInfo) -> str | None:
        _check_secret(f"'{info.field_name}'", value)
        return value

    @field_validator("url")
    @classmethod
    def _no_password_in_url(cls, value: str | None) -> str | None:
        for password in _url_passwords(value or ""):
            _check_secret("the password in 'url'", password)
        return value

    @model_validator(mode="after")
    def _address_given(self):
        if self.url is None and (self.host is None or self.database is None):
            raise ValueError(
                "missing address -> set 'host:' and 'database:' (with user/password), or a full 'url:'"
            )
        if self.url is not None and self.host is not None:
            raise ValueError("both 'url:' and 'host:' are set -> keep one of them")
        return self


class PostgresConnection(_ServerConnection):
    """PostgreSQL: read with ADBC (Arrow-native, the default) or SQLAlchemy + psycopg (`engine: sqlalchemy`).

    `host` may be a folder, for a unix socket.
    """

    type: Literal["postgres", "postgresql"]
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] | None = None
    engine: Literal["adbc", "sqlalchemy"] = "adbc"
    # Extra libpq parameters (application_name, connect_timeout, options, ...).
    parameters: dict[str, str] = Field(default_factory=dict)


MssqlAuthentication = Literal["sql", "managed_identity", "azure_cli", "service_principal", "azure_default"]


class MssqlConnection(_ServerConnection):
    """SQL Server and Azure SQL through pyodbc (Microsoft's ODBC Driver 18, or FreeTDS).

    `authentication`: `sql` (user/password), or an Azure AD token from azure-identity:
    `managed_identity` (optional client_id), `azure_cli`, `service_principal` (tenant_id, client_id,
    client_secret), `azure_default` (DefaultAzureCredential).
    """

    type: Literal["mssql", "sqlserver"]
    driver: str = "ODBC Driver 18 for SQL Server"
    authentication: MssqlAuthentication = "sql"
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    encrypt: bool = True
    trust_server_certificate: bool = False
    login_timeout_seconds: PositiveInt = 30
    # Extra ODBC connection attributes, e.g. {ApplicationIntent: ReadOnly, MultiSubnetFailover: "Yes"}.
    odbc: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _credentials_complete(self):
        if self.authentication == "service_principal":
            missing = [n for n in ("tenant_id", "client_id", "client_secret") if getattr(self, n) is None]
            if missing:
                raise ValueError(f"service_principal authentication needs {', '.join(missing)} -> add them "
                                 "(client_secret as a ${VAR} reference)")
        if self.authentication != "sql" and self.password is not None:
            raise ValueError(f"'password:' is not used with {self.authentication} authentication -> remove it")
        if self.authentication != "sql" and "freetds" in self.driver.lower():
            raise ValueError(f"{self.authentication} authentication needs Microsoft's ODBC driver (FreeTDS cannot "
                             "pass an access token) -> set driver: ODBC Driver 18 for SQL Server")
        for key, value in self.odbc.items():
            if key.lower() in ("pwd", "password"):
                _check_secret(f"the ODBC attribute {key!r}", value)
        return self


class MysqlConnection(_ServerConnection):
    """MySQL and MariaDB through SQLAlchemy + PyMySQL (an unbuffered, streaming cursor)."""

    type: Literal["mysql", "mariadb"]


AzureCredentialKind = Literal[
    "account_key", "sas", "connection_string", "service_principal", "managed_identity", "azure_cli", "azure_default",
]
StorageApi = Literal["dfs", "blob"]


class _AzureStorageConnection(_Connection):
    """An ADLS Gen2 / OneLake file system, an Azure Blob container, or a local folder standing in for one.

    `credential` says how to sign in; its secrets are `${VAR}` references: `account_key`, `sas_token`,
    `connection_string`, or `service_principal` (tenant_id, client_id, client_secret). Without
    `credential`, a given secret picks its kind, else `azure_default` (DefaultAzureCredential).
    `api` is taken from the URL (`.dfs.` or `.blob.`); set it for other hosts (Azurite: `blob`).
    """

    account_url: str | None = None
    filesystem: str | None = Field(
        default=None, validation_alias=AliasChoices("filesystem", "file_system", "container", "workspace"),
    )
    local_path: str | None = None  # a local folder instead of an account (demo, tests, mounted shares)
    api: StorageApi | None = None
    credential: AzureCredentialKind | None = None
    account_key: str | None = None
    sas_token: str | None = None
    connection_string: str | None = None
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = None

    @field_validator("account_key", "sas_token", "connection_string", "client_secret")
    @classmethod
    def _secret_is_reference(cls, value: str | None, info: ValidationInfo) -> str | None:
        _check_secret(f"'{info.field_name}'", value)
        return value

    @model_validator(mode="after")
    def _location_and_credential(self):
        if (self.local_path is None) == (self.account_url is None and self.connection_string is None):
            raise ValueError("say where the files go -> set 'account_url:' and 'filesystem:' (or "
                             "'connection_string:'), or 'local_path:' for a local folder, not both")
        if self.local_path is None and self.filesystem is None:
            raise ValueError("missing 'filesystem:' -> the container, ADLS file system or Fabric workspace name")
        if self.local_path is None and self.account_url and self.api is None and _api_from_url(self.account_url) is None:
            raise ValueError(f"cannot tell the API from {self.account_url!r} -> set 'api: dfs' (ADLS Gen2, OneLake) "
                             "or 'api: blob' (Blob storage, Azurite)")
        kind = self.credential_kind
        needs = {"account_key": ("account_key",), "sas": ("sas_token",), "connection_string": ("connection_string",),
                 "service_principal": ("tenant_id", "client_id", "client_secret")}.get(kind or "", ())
        missing = [name for name in needs if getattr(self, name) is None]
        if missing:
            raise ValueError(f"credential {kind} needs {', '.join(missing)} -> add "
                             f"{' and '.join(missing)} (secrets as ${{VAR}} references)")
        return self

    @property
    def credential_kind(self) -> AzureCredentialKind | None:
        """The credential to use (None for a local folder)."""
        if self.local_path is not None:
            return None
        if self.credential is not None:
            return self.credential
        for setting, kind in (("connection_string", "connection_string"), ("account_key", "account_key"),
                              ("sas_token", "sas")):
            if getattr(self, setting) is not None:
                return kind  # type: ignore[return-value]
        return "azure_default"

    @property
    def storage_api(self) -> StorageApi | None:
        if self.local_path is not None:
            return None
        return self.api or _api_from_url(self.account_url or "") or "blob"


def _api_from_url(url: str) -> StorageApi | None:
    host = url.split("://", 1)[-1].split("/", 1)[0].lower()
    if ".dfs." in host:
        return "dfs"
    if ".blob." in host:
        return "blob"
    return None


class AdlsConnection(_AzureStorageConnection):
    """Parquet files in ADLS Gen2, OneLake's Files area, or Blob storage (store only).

    An entity's store `path` is a folder below `base_path` (default: flow/entity).
    """

    type: Literal["adls", "onelake"]
    base_path: str = ""


class ProcessedCheckSettings(Model):
    """When to look whether Fabric has applied a load's files, and how long it may take."""

    within_minutes: PositiveInt = 30  # files still waiting after this fail the check
    cron: str = "*/15 * * * *"  # Dagster's automation runs the check on this schedule

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        from dagster._utils.schedules import is_valid_cron_string

        if not is_valid_cron_string(value):
            raise ValueError(f"{value!r} is not a cron expression -> e.g. '*/15 * * * *' (every 15 minutes)")
        return value


class OpenMirroringConnection(_AzureStorageConnection):
    """A Fabric mirrored database's landing zone (store only), as hygge configures it.

    The landing zone is `<mirror_name>/Files/LandingZone` in the workspace; a bare name gets Fabric's
    item suffix `.MountedRelationalDatabase` (give an item id or a name with a suffix to use it as is).
    """

    type: Literal["open_mirroring"]
    mirror_name: str = Field(min_length=1)
    schema_name: str | None = Field(default=None, validation_alias=AliasChoices("schema", "schema_name"))
    key_columns: list[str] = Field(default_factory=list)  # default key of entities that name none
    folder_deletion_wait_seconds: Annotated[int, Field(ge=0)] = 120
    # `_partnerEvents.json`: who writes the landing zone, and what kind of database the data comes from.
    partner_name: str = "ingest_assets"
    source_type: str = "SQL"
    source_version: str | None = None
    # Opt-in, for a real mirrored database: an asset check that Fabric has applied each load's files.
    processed_check: ProcessedCheckSettings | None = None


Connection = Annotated[
    Union[
        ParquetConnection, CsvConnection, DuckDBConnection, SqliteConnection, SqlAlchemyConnection,
        PostgresConnection, MssqlConnection, MysqlConnection, AdlsConnection, OpenMirroringConnection,
    ],
    Field(discriminator="type"),
]


# ---- project file (flows/ingest.yml) -------------------------------------------------------------


class Options(Model):
    concurrency: PositiveInt = 4
    batch_size: PositiveInt = 100_000
    retries: Annotated[int, Field(ge=0, le=10)] = 2
    schedule_status: AutomationStatus = "stopped"
    sensor_status: AutomationStatus = "stopped"
    # Sample mode (development): every entity reads at most this many rows, replaces its destination
    # with them and records no watermark (see runtime/decide.py, `_sample`). Usually set per environment.
    sample_rows: PositiveInt | None = None


class ProjectFile(Model):
    name: str = "ingest"
    connections: dict[str, Connection] = Field(default_factory=dict)
    options: Options = Field(default_factory=Options)
    default_environment: str | None = None
    # Environment overrides are partial settings merged into `connections` and `options` before
    # these models validate them, so they are checked as strictly as the base settings.
    environments: dict[str, "EnvironmentOverrides"] = Field(default_factory=dict)

    @field_validator("connections")
    @classmethod
    def _connection_names(cls, value: dict[str, Connection]) -> dict[str, Connection]:
        for name in value:
            _check_name(name)
        return value


class EnvironmentOverrides(Model):
    connections: dict[str, dict[str, object]] = Field(default_factory=dict)
    options: dict[str, object] = Field(default_factory=dict)


# ---- entity settings (flow defaults, entity files) ----------------------------------------------


class HomeSettings(Model):
    """What to read. Exactly one of `table`, `query`, `path` (what the home's type accepts)."""

    connection: str | None = None
    table: str | None = None
    # A query may hold `{query_filter}` where the incremental predicate goes; without it the query
    # is wrapped as a subquery and filtered outside.
    query: str | None = None
    query_file: str | None = None  # a .sql file, relative to the YAML file that names it
    path: str | None = None


class StoreSettings(Model):
    """Where to write. `table` for databases, `path` for file stores; both default from the names."""

    connection: str | None = None
    table: str | None = None
    path: str | None = None
    incremental: bool | None = None
    # open_mirroring only: the entity's own wait after deleting its table folder, its schema folder,
    # and a source column that says per row whether it is an insert, update, upsert or delete.
    folder_deletion_wait_seconds: Annotated[int, Field(ge=0)] | None = None
    schema_name: str | None = Field(default=None, validation_alias=AliasChoices("schema", "schema_name"))
    row_marker_column: str | None = None


class WatermarkSettings(Model):
    column: str
    # How far before the last watermark to re-read, for rows that arrive late:
    # a duration ("2h", "3 days") for time columns, a number for integer columns.
    lookback: str | int | None = None
    # Where the first run starts (omitted: everything).
    start: str | int | date | datetime | None = None


class PartitionSettings(Model):
    column: str
    granularity: Granularity = "daily"
    start: date | datetime
    end: date | datetime | None = None
    timezone: str = "UTC"
    end_offset: int = 0


class ParallelSettings(Model):
    """Split one read into key ranges of `column`, read at the same time over several connections.

    With `dagster_partitions: true` the table becomes `partitions` Dagster partitions instead (rows
    whose key modulo `partitions` is the partition number), so a backfill spreads them over workers.
    """

    column: str
    partitions: Annotated[int, Field(ge=2, le=64)] = 4
    dagster_partitions: bool = False


class ChecksSettings(Model):
    min_rows: Annotated[int, Field(ge=0)] | None = None
    not_null: list[str] = Field(default_factory=list)
    unique: list[str] = Field(default_factory=list)


class RowHashSettings(Model):
    """A hash of chosen columns per row, for downstream de-duplication (mkpipe's `mkpipe_id`)."""

    column: str = Field(default="_row_hash", min_length=1)
    columns: list[str] | None = None  # default: every source column


class AuditSettings(Model):
    """Columns the load adds to every row; each is off unless named (`true` takes the default name).

    `audit: true` is short for loaded_at and run_id with their default names.
    """

    loaded_at: str | None = None  # when this run started extracting (UTC)
    run_id: str | None = None  # the Dagster run id
    row_hash: RowHashSettings | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthands(cls, value: object) -> object:
        if value is True:
            return {"loaded_at": "_loaded_at", "run_id": "_run_id"}
        if not isinstance(value, dict):
            return value
        value = dict(value)
        for name, default in (("loaded_at", "_loaded_at"), ("run_id", "_run_id")):
            if value.get(name) is True:
                value[name] = default
            elif value.get(name) is False:
                value[name] = None
        row_hash = value.get("row_hash")
        if row_hash is True:
            value["row_hash"] = {}
        elif row_hash is False:
            value["row_hash"] = None
        elif isinstance(row_hash, str):
            value["row_hash"] = {"column": row_hash}
        return value

    @model_validator(mode="after")
    def _distinct_names(self):
        names = [n for n in (self.loaded_at, self.run_id, self.row_hash and self.row_hash.column) if n]
        if len(set(names)) < len(names):
            raise ValueError(f"audit columns share a name ({', '.join(names)}) -> give each its own name")
        return self


Tags = dict[str, str]


def _normalize_tags(value: object) -> object:
    """`[a, b]` (mkpipe style) means `{a: "", b: ""}`; Dagster's `tag:a` selects both forms."""
    if isinstance(value, list):
        return {str(item): "" for item in value}
    return value


def _check_tags(value: Tags | None) -> Tags | None:
    for key, tag_value in (value or {}).items():
        if not _TAG_KEY.match(key):
            raise ValueError(
                f"tag key {key!r} is not valid -> letters, digits, '_', '.', '-' (at most 63), "
                "optionally with one 'prefix/'"
            )
        if not _TAG_VALUE.match(str(tag_value)):
            raise ValueError(
                f"tag value {tag_value!r} of {key!r} is not valid -> letters, digits, '_', '.', '-' "
                "(at most 63)"
            )
    return value


def _check_owners(value: list[str] | None) -> list[str] | None:
    for owner in value or []:
        if not _OWNER.match(owner):
            raise ValueError(f"owner {owner!r} is not valid -> an email address or 'team:name'")
    return value


class EntitySettings(Model):
    """Settings an entity may set and a flow may default (`defaults:`)."""

    home: HomeSettings | None = None
    store: StoreSettings | None = None
    run_type: RunType | None = None
    columns: list[str] | None = None
    keys: list[str] | None = None
    watermark: WatermarkSettings | None = None
    partition: PartitionSettings | None = None
    parallel: ParallelSettings | None = None
    tags: Tags | None = None
    owners: list[str] | None = None
    checks: ChecksSettings | None = None
    batch_size: PositiveInt | None = None
    sensor: bool | None = None
    # How a load changes the destination (mkpipe's names). Default: replace for full loads and
    # partitions, upsert by `keys` for incremental loads (append when there are no keys).
    write_strategy: WriteStrategy | None = None
    write_key: list[str] | None = None  # default: keys
    delete_missing: bool | None = None  # merge: delete rows whose keys a full snapshot no longer has
    schema_changes: SchemaPolicy | None = None  # default: evolve
    audit: AuditSettings | None = None
    # SQL or Python between home and store (see ingest_assets.transforms); an entity's replaces the defaults'.
    transform: TransformSettings | None = None

    @field_validator("write_key", mode="before")
    @classmethod
    def _write_key_shorthand(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("home", "store", mode="before")
    @classmethod
    def _connection_shorthand(cls, value: object) -> object:
        # `home: shop_db` is short for `home: {connection: shop_db}`.
        return {"connection": value} if isinstance(value, str) else value

    @field_validator("watermark", mode="before")
    @classmethod
    def _watermark_shorthand(cls, value: object) -> object:
        return {"column": value} if isinstance(value, str) else value

    @field_validator("tags", mode="before")
    @classmethod
    def _tags_list(cls, value: object) -> object:
        return _normalize_tags(value)

    @field_validator("tags")
    @classmethod
    def _tags_valid(cls, value: Tags | None) -> Tags | None:
        return _check_tags(value)

    @field_validator("owners")
    @classmethod
    def _owners_valid(cls, value: list[str] | None) -> list[str] | None:
        return _check_owners(value)


class EntityFile(EntitySettings):
    name: str | None = None  # defaults to the file name without extension
    description: str | None = None

    @field_validator("name")
    @classmethod
    def _name_valid(cls, value: str | None) -> str | None:
        return None if value is None else _check_name(value)


class ScheduleSettings(Model):
    cron: str
    timezone: str = "UTC"
    status: AutomationStatus | None = None  # default: options.schedule_status


class SensorSettings(Model):
    """The flow's new-data sensor over its incremental entities (`sensor: false` turns it off)."""

    enabled: bool = True
    status: AutomationStatus | None = None  # default: options.sensor_status
    interval_seconds: PositiveInt = 60


class LabelledFile(Model):
    """A file that gives its assets `tags` and `owners` (a flow, a derived asset): one way to validate them.

    The fields are declared by each file, where they belong in its order of keys.
    """

    @field_validator("tags", mode="before", check_fields=False)
    @classmethod
    def _tags_list(cls, value: object) -> object:
        return _normalize_tags(value)

    @field_validator("tags", check_fields=False)
    @classmethod
    def _tags_valid(cls, value: Tags) -> Tags:
        return _check_tags(value) or {}

    @field_validator("owners", check_fields=False)
    @classmethod
    def _owners_valid(cls, value: list[str]) -> list[str]:
        return _check_owners(value) or []


class FlowFile(LabelledFile):
    name: str | None = None  # defaults to the flow's folder name
    description: str | None = None
    home: HomeSettings | None = None
    store: StoreSettings | None = None
    run_type: RunType = "full_drop"
    defaults: EntitySettings = Field(default_factory=EntitySettings)
    tags: Tags = Field(default_factory=dict)
    owners: list[str] = Field(default_factory=list)
    schedule: ScheduleSettings | None = None
    sensor: SensorSettings = Field(default_factory=SensorSettings)
    entities: list[EntityFile] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name_valid(cls, value: str | None) -> str | None:
        return None if value is None else _check_name(value)

    @field_validator("home", "store", mode="before")
    @classmethod
    def _connection_shorthand(cls, value: object) -> object:
        return {"connection": value} if isinstance(value, str) else value

    @field_validator("schedule", mode="before")
    @classmethod
    def _cron_shorthand(cls, value: object) -> object:
        return {"cron": value} if isinstance(value, str) else value

    @field_validator("sensor", mode="before")
    @classmethod
    def _sensor_shorthand(cls, value: object) -> object:
        return {"enabled": value} if isinstance(value, bool) else value


ProjectFile.model_rebuild()
