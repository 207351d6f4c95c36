"""The error hierarchy: each cause's attributes, its exact message, and whether a retry can cure it."""

from __future__ import annotations

import copy
import pickle
from types import SimpleNamespace

import dagster as dg
import pytest

from ingest_assets import errors
from ingest_assets.errors import (
    AuditColumnClash,
    ColumnError,
    DestinationError,
    DestinationMissing,
    EntityColumnsMissing,
    HomeDatabaseRefused,
    HomeDatabaseUnavailable,
    IncrementalNeedsEveryRow,
    IngestError,
    LandingZoneError,
    LockHeld,
    LookbackNotApplicable,
    MissingEnvironmentVariable,
    RebuildOfPartition,
    RowHashColumnsMissing,
    RowSelectionColumnsMissing,
    RunConfigConflict,
    SampleOfMirroredTable,
    SampleWithIncremental,
    SampleWithRebuild,
    SchemaChangesRefused,
    SchemaError,
    SourceColumnsMissing,
    SourceError,
    StagedCountMismatch,
    StagingError,
    StorageError,
    StorageRequestFailed,
    StoreDatabaseRefused,
    StoreDatabaseUnavailable,
    TableMustBeRebuilt,
    TerminalError,
    TransformOutputColumnsMissing,
    TransientError,
    TranslatorError,
    TranslatorKeyMismatch,
    WatermarkError,
    WatermarkSettingsChanged,
    WatermarkValueUnsupported,
    WriteKeyNotUnique,
)
from ingest_assets.runtime.failures import ingest_errors

# Raised before or outside a run (loading the project, a resource, a plugin): neither retried nor
# terminal, as before the hierarchy. The groups that hold both kinds are never raised themselves.
NOT_RUN_TIME = {"ConfigError", "MissingEnvironmentVariable", "TranslatorError", "TranslatorKeyMismatch"}
MIXED_GROUPS = {SourceError, DestinationError, StorageError}
ROOTS = {IngestError, TerminalError, TransientError}


def _classes() -> list[type[IngestError]]:
    found = (getattr(errors, name) for name in errors.__all__)
    return [c for c in found if isinstance(c, type) and issubclass(c, IngestError)]


def _run_time(cls: type[IngestError]) -> bool:
    return cls.__name__ not in NOT_RUN_TIME and not issubclass(cls, errors.PluginError)


# ---- every class ---------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [c for c in _classes() if c not in ROOTS | MIXED_GROUPS and _run_time(c)],
                         ids=lambda c: c.__name__)
def test_every_run_time_class_is_either_terminal_or_transient(cls):
    assert issubclass(cls, TerminalError) != issubclass(cls, TransientError)


@pytest.mark.parametrize("cls", sorted(MIXED_GROUPS, key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_a_group_holding_both_kinds_is_neither(cls):
    assert not issubclass(cls, (TerminalError, TransientError))
    members = [c for c in _classes() if issubclass(c, cls) and c is not cls]
    assert any(issubclass(c, TerminalError) for c in members) and any(issubclass(c, TransientError) for c in members)


@pytest.mark.parametrize("name", [*sorted(NOT_RUN_TIME), "PluginError", "PluginImportFailed"])
def test_project_errors_stay_neither_terminal_nor_transient(name):
    cls = getattr(errors, name)
    assert issubclass(cls, IngestError) and not issubclass(cls, (TerminalError, TransientError))


def test_everything_public_is_an_ingest_error_or_a_helper():
    others = {name for name in errors.__all__ if not (isinstance(getattr(errors, name), type)
                                                      and issubclass(getattr(errors, name), IngestError))}
    assert others == {"ConfigProblem", "first_line"}


def test_the_roots_still_take_a_plain_message():
    # Plugins and raise sites without a class of their own raise these directly.
    assert str(TerminalError("the table is gone")) == "the table is gone"
    assert str(TransientError("the server restarts")) == "the server restarts"


# ---- run config conflicts ------------------------------------------------------------------------


def test_sample_of_a_mirrored_table():
    error = SampleOfMirroredTable(rows=10, table="orders")
    assert (error.rows, error.table) == (10, "orders")
    assert str(error) == (
        "sample_rows: 10 would replace the mirrored table orders with a sample, which Fabric replicates "
        "(dropping the table first) -> sample into a development store, or run with run config {sample_rows: 0}")
    assert isinstance(error, RunConfigConflict) and isinstance(error, TerminalError)


def test_sample_with_rebuild_or_incremental():
    assert str(SampleWithRebuild(rows=5)) == (
        "run config sets both rebuild (load everything) and sample_rows: 5 -> keep one")
    error = SampleWithIncremental(rows=5)
    assert error.rows == 5
    assert str(error) == (
        "run config sets both run_type: incremental (rows past the watermark) and sample_rows: 5 (a sample that "
        "replaces the destination and records no watermark) -> keep one")


def test_incremental_needs_every_row():
    error = IncrementalNeedsEveryRow(write="merge", delete_missing=True)
    assert (error.write, error.delete_missing) == ("merge", True)
    assert str(error) == ("this run reads only the rows past the watermark, but merge with delete_missing needs "
                          "every row -> run without run config {run_type: incremental}")
    assert str(IncrementalNeedsEveryRow(write="replace", delete_missing=False)) == (
        "this run reads only the rows past the watermark, but replace needs every row -> run without run config "
        "{run_type: incremental}")


def test_rebuild_of_a_partition():
    assert str(RebuildOfPartition()) == (
        "rebuild replaces the whole table, and this run loads one partition -> rebuild runs without a partition; "
        "run the entity's partitions afterwards")
    assert isinstance(RebuildOfPartition(), RunConfigConflict)


# ---- the watermark -------------------------------------------------------------------------------


def test_watermark_settings_changed():
    error = WatermarkSettingsChanged(committed_column="updated_at", cursor_value=41, column="id")
    assert (error.committed_column, error.cursor_value, error.column) == ("updated_at", 41, "id")
    assert str(error) == (
        "the watermark column changed from 'updated_at' (cursor 41) to 'id' -> nothing was read; to reset "
        "deliberately, run once with run config {reset_watermark: true} (a full reload that starts a new cursor)")
    assert isinstance(error, WatermarkError) and isinstance(error, TerminalError)


def test_watermark_value_unsupported_names_the_type():
    assert str(WatermarkValueUnsupported(value=True)) == (
        "a boolean (True) cannot be a watermark -> use a timestamp, date, integer or string column")
    error = WatermarkValueUnsupported(value=b"x")
    assert error.value == b"x"
    assert str(error) == "a bytes (b'x') cannot be a watermark -> use a timestamp, date, integer or string column"


def test_lookback_not_applicable():
    error = LookbackNotApplicable(lookback="2h", value=7)
    assert (error.lookback, error.value) == ("2h", 7)
    assert str(error) == ("lookback '2h' does not apply to a watermark value of type int -> a duration ('2h') for "
                          "time columns, a number for integer columns")


# ---- columns and schema --------------------------------------------------------------------------


def test_missing_columns_show_the_list_and_the_columns_there():
    error = EntityColumnsMissing(columns=["id", "ts"], available=("name",))
    assert (error.columns, error.available) == (("id", "ts"), ("name",))
    assert str(error) == ("columns ['id', 'ts'] named in the entity's settings are not in the source -> source "
                          "columns: name")
    assert str(RowSelectionColumnsMissing(columns=["ts"], available=["a", "b"])) == (
        "columns ['ts'] select the rows to read but are not in the source -> source columns: a, b")
    assert str(TransformOutputColumnsMissing(columns=["id"], available=["x"])) == (
        "columns ['id'] named in the entity's settings are not in the transform's output -> keep or compute them "
        "in the transform (its columns: x)")
    assert str(RowHashColumnsMissing(columns=["z"], available=["a"])) == (
        "audit.row_hash.columns names ['z'] which the source does not have -> source columns: a")
    assert str(SourceColumnsMissing(columns=["z"], source="table 'orders'", available={"a": 1, "b": 2})) == (
        "columns ['z'] are not in table 'orders' -> columns there: a, b")
    assert all(isinstance(e, ColumnError) for e in (error, AuditColumnClash(column="x")))


def test_audit_column_clash():
    error = AuditColumnClash(column="loaded_at")
    assert (error.column, error.columns) == ("loaded_at", ("loaded_at",))
    assert str(error) == ("audit column 'loaded_at' is also a source column -> name the audit column differently "
                          "(audit: {...: <name>})")


def test_schema_changes_refused_and_table_must_be_rebuilt():
    error = SchemaChangesRefused(policy="fail", changes=["column b added", "column c removed"])
    assert (error.policy, error.changes) == ("fail", ("column b added", "column c removed"))
    assert str(error) == ("the source's columns changed in a way schema_changes: fail does not allow -> nothing was "
                          "written; column b added; column c removed")
    rebuilt = TableMustBeRebuilt(destination="duckdb main.orders", reasons=["a is narrowed"])
    assert str(rebuilt) == (
        "duckdb main.orders cannot follow this load: a is narrowed. The table must be rebuilt -> nothing was "
        "written; run once with run config {rebuild: true} to drop it and load everything again")
    assert isinstance(error, SchemaError) and isinstance(rebuilt, SchemaError)


# ---- staging, write keys, the destination --------------------------------------------------------


def test_staged_count_mismatch():
    error = StagedCountMismatch(rows_out=10, rows_staged=9, transformed=True)
    assert (error.rows_out, error.rows_staged, error.transformed) == (10, 9, True)
    assert str(error) == ("10 rows were transformed but 9 were staged -> nothing was committed; run again, and "
                          "report this if it repeats")
    assert str(StagedCountMismatch(rows_out=3, rows_staged=2, transformed=False)).startswith("3 rows were read but 2")
    assert isinstance(error, StagingError) and isinstance(error, TerminalError)


def test_write_key_not_unique():
    error = WriteKeyNotUnique(label="orders", keys=["id"], example="id=1", count=2)
    assert (error.keys, error.example, error.count) == (("id",), "id=1", 2)
    assert str(error) == (
        "orders: the write key (id) is not unique in this load (id=1 appears 2 times) -> nothing was written; "
        "declare a watermark so the latest row of a key wins, or choose a write_key that is unique in the source")


def test_destination_missing():
    error = DestinationMissing(destination="duckdb main.orders", cursor_value=41)
    assert (error.destination, error.cursor_value) == ("duckdb main.orders", 41)
    assert str(error) == (
        "the destination duckdb main.orders does not exist, but the committed watermark says rows up to 41 were "
        "loaded -> run once with run config {reset_watermark: true} to reload everything")
    assert isinstance(error, DestinationError) and isinstance(error, TerminalError)


def test_a_held_lock_is_transient():
    error = LockHeld(path="/lake/orders.lock", timeout_seconds=29.6)
    assert (error.path, error.timeout_seconds) == ("/lake/orders.lock", 29.6)
    assert str(error) == "another run held /lake/orders.lock for 30s; retrying later"
    assert isinstance(error, TransientError) and not isinstance(error, TerminalError)


def test_database_errors_are_transient_or_terminal_by_class():
    lost = StoreDatabaseUnavailable(what="orders: the commit failed", reason="server closed the connection",
                                    sqlstate="08006")
    assert lost.sqlstate == "08006"
    assert str(lost) == ("orders: the commit failed: server closed the connection -> nothing was written; the run "
                         "is retried")
    refused = StoreDatabaseRefused(what="orders: the commit failed", reason="duplicate key", fix="fix the rows")
    assert str(refused) == "orders: the commit failed: duplicate key -> nothing was written; fix the rows"
    assert isinstance(lost, TransientError) and isinstance(refused, TerminalError)
    assert isinstance(lost, DestinationError) and isinstance(refused, DestinationError)
    assert isinstance(HomeDatabaseUnavailable(reason="x"), TransientError)
    assert str(HomeDatabaseRefused(reason="denied")) == "the home database refused the read: denied"
    assert isinstance(StorageRequestFailed(where="https://a/c/f", detail="HTTP 503"), StorageError)


class _DriverError(Exception):
    """A driver's error: its text, and the SQLSTATE it reports (psycopg and ADBC give none for a failed
    connection, which libpq reports as text alone)."""

    def __init__(self, text: str, sqlstate: str | None = None):
        super().__init__(text)
        self.sqlstate = sqlstate


_LIBPQ = 'IO: [libpq] Failed to connect: connection to server on socket "/run/pg/.s.PGSQL.5432" failed: '
WRONG_PASSWORD = _DriverError(_LIBPQ + 'FATAL:  password authentication failed for user "loader"')
UNKNOWN_DATABASE = _DriverError(_LIBPQ + 'FATAL:  database "shpo" does not exist')
UNREACHABLE = _DriverError(_LIBPQ + "No such file or directory")


def test_a_refused_login_is_told_from_an_unreachable_server_without_a_sqlstate(monkeypatch):
    from ingest_assets.connectors.database import LOGIN_FIX, refused_login_fix
    from ingest_assets.connectors.postgres import PostgresResource

    assert refused_login_fix(WRONG_PASSWORD) == LOGIN_FIX
    assert refused_login_fix(_DriverError(_LIBPQ + 'FATAL:  role "nobody" does not exist')) == LOGIN_FIX
    assert refused_login_fix(_DriverError("connection failed: fe_sendauth: no password supplied")) == LOGIN_FIX
    assert refused_login_fix(UNKNOWN_DATABASE) == "check 'database:', or create the database"
    assert refused_login_fix(UNREACHABLE) is None  # may pass: retried
    # A code, where the driver gives one, decides alone: the text is read only for libpq's failed connection.
    assert refused_login_fix(_DriverError("authentication failed", sqlstate="28P01")) == LOGIN_FIX
    assert refused_login_fix(_DriverError('role "x" does not exist', sqlstate="42704")) is None
    assert refused_login_fix(_DriverError('FATAL:  password authentication failed for user "x"', "08006")) is None

    # The connection's own settings, by the variables they read: never the secret.
    monkeypatch.setenv("PG_PASSWORD", "s3cret")
    resource = PostgresResource(host="/run/pg", database="shop", user="loader", password="${PG_PASSWORD}")
    fix = refused_login_fix(WRONG_PASSWORD, resource)
    assert fix == "check 'user:', and that ${PG_PASSWORD} (what 'password:' reads) holds that user's password"
    assert refused_login_fix(UNKNOWN_DATABASE, resource) == "check 'database:', or create the database"
    by_url = PostgresResource(url="postgresql://${PG_USER}:${PG_PASSWORD}@db/shop")
    assert by_url.login_fix() == "check the user and password in 'url:' (it reads ${PG_USER}, ${PG_PASSWORD})"
    assert PostgresResource(host="db", database="shop").login_fix() == LOGIN_FIX


def test_homes_and_stores_classify_a_refused_login_alike():
    from ingest_assets.connectors.postgres import PostgresResource
    from ingest_assets.homes.postgres import _home_error
    from ingest_assets.stores.sql.errors import database_error

    resource = PostgresResource(host="/run/pg", database="shop", user="loader", password="${PG_PASSWORD}")
    refused = _home_error(WRONG_PASSWORD, connecting=True, resource=resource)  # type: ignore[arg-type]
    assert isinstance(refused, HomeDatabaseRefused) and isinstance(refused, TerminalError)
    assert str(refused) == (f"the home database refused the read: {WRONG_PASSWORD} -> check 'user:', and that "
                            "${PG_PASSWORD} (what 'password:' reads) holds that user's password")
    assert isinstance(_home_error(UNREACHABLE, connecting=True, resource=resource),  # type: ignore[arg-type]
                      HomeDatabaseUnavailable)

    store = database_error(WRONG_PASSWORD, "reading the catalog for sales.orders")
    assert isinstance(store, StoreDatabaseRefused)
    assert str(store) == (f"reading the catalog for sales.orders: {WRONG_PASSWORD} -> nothing was written; check "
                          "'user:' and the environment variable behind 'password:' (or the credential settings)")


def test_an_unreadable_file_is_named_once():
    from ingest_assets.errors import SourceFileUnreadable

    fix = "-> fix or remove that file, or narrow 'path:' to the good ones (a glob such as '*.parquet')"
    arrow = "Could not open Parquet input source '/d/orders/b.parquet': Parquet file size is 0 bytes"
    named_by_arrow = SourceFileUnreadable(file_format="parquet", path="orders", reason=arrow, file="/d/orders/b.parquet")
    assert str(named_by_arrow) == f"parquet home 'orders': a file cannot be read as parquet: {arrow} {fix}"
    unnamed = SourceFileUnreadable(file_format="parquet", path="orders", reason="Unexpected end of stream",
                                   file="/d/orders/b.parquet")
    assert str(unnamed) == ("parquet home 'orders': file /d/orders/b.parquet cannot be read as parquet: Unexpected "
                            f"end of stream {fix}")
    assert isinstance(unnamed, TerminalError)


def test_landing_zone_error_names_the_file_where_there_is_one():
    error = LandingZoneError(where="lz/orders", problem="columns appear twice: id", file="00000000000000000002.parquet")
    assert (error.where, error.file, error.problem) == ("lz/orders", "00000000000000000002.parquet",
                                                        "columns appear twice: id")
    assert str(error) == "lz/orders: 00000000000000000002.parquet: columns appear twice: id"
    assert str(LandingZoneError(where="lz/orders", problem="sequence gap")) == "lz/orders: sequence gap"


# ---- the project ---------------------------------------------------------------------------------


def test_missing_environment_variable():
    error = MissingEnvironmentVariable(name="LAKE_DIR")
    assert error.name == "LAKE_DIR"
    assert str(error) == ("environment variable LAKE_DIR is not set -> export LAKE_DIR=..., or give the setting a "
                          "default in flows/ingest.yml: ${LAKE_DIR:-default}")


def test_a_missing_secret_suggests_no_default():
    """A secret's default is refused when the project loads, so the message must not suggest one."""
    assert str(MissingEnvironmentVariable(name="ERP_PASSWORD", secret=True)) == (
        "environment variable ERP_PASSWORD is not set -> export ERP_PASSWORD=... where the code location runs (or "
        "put it in the .env file that dagster dev reads); a secret takes no default in the YAML")


def test_translator_key_mismatch():
    error = TranslatorKeyMismatch(translator="Prefixed", entity="shop.orders", spec_key="raw/orders",
                                  asset_key="shop/orders")
    assert (error.translator, error.entity, error.spec_key, error.asset_key) == (
        "Prefixed", "shop.orders", "raw/orders", "shop/orders")
    assert str(error) == ("Prefixed.get_asset_spec gives shop.orders the key 'raw/orders', but get_asset_key gives "
                          "'shop/orders' -> change keys in get_asset_key only (checks, jobs, sensors and runs all "
                          "use it)")
    assert isinstance(error, TranslatorError)


# ---- behaviour -----------------------------------------------------------------------------------


@pytest.mark.parametrize("error", [
    WriteKeyNotUnique(label="orders", keys=["id"], example="id=1", count=2),
    LockHeld(path="/l", timeout_seconds=1),
    errors.ConfigError([errors.ConfigProblem("flows/a.yml", 3, "a.b", "bad")]),
    TerminalError("plain"),
], ids=lambda e: type(e).__name__)
def test_errors_survive_pickle_and_copy(error):
    for again in (pickle.loads(pickle.dumps(error)), copy.copy(error)):
        assert type(again) is type(error) and str(again) == str(error) and vars(again) == vars(error)


class _Log:
    def warning(self, message: str) -> None:
        self.warned = message


def _fail_with(error: IngestError) -> BaseException:
    context = SimpleNamespace(log=_Log())
    plan = SimpleNamespace(label="shop.orders", declared_at="flows/shop.yml:3")
    with pytest.raises((dg.RetryRequested, dg.Failure)) as raised, \
            ingest_errors(context, plan, retries=2):  # type: ignore[arg-type]
        raise error
    return raised.value


def test_a_transient_cause_is_retried_and_a_terminal_one_fails_the_step():
    assert isinstance(_fail_with(LockHeld(path="/l", timeout_seconds=1)), dg.RetryRequested)
    failure = _fail_with(DestinationMissing(destination="d", cursor_value=1))
    assert isinstance(failure, dg.Failure)
    assert failure.description == ("shop.orders (declared at flows/shop.yml:3): the destination d does not exist, "
                                   "but the committed watermark says rows up to 1 were loaded -> run once with run "
                                   "config {reset_watermark: true} to reload everything")
