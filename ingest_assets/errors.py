"""Every error the package raises derives from `IngestError`; import them all from here.

Configuration errors carry a list of located problems; run-time errors say whether a retry can help
(`TransientError`, retried by the asset's RetryPolicy) or not (`TerminalError`). Errors are classified
by where they are raised, never by parsing message text: each cause has its own class, built from
keyword attributes (`raise DestinationMissing(destination=..., cursor_value=...)`), which also make
its message. The classes live in `ingest_assets/causes/`, one module per group:

    IngestError
    |-- ConfigError, MissingEnvironmentVariable, TranslatorError, PluginError   (project.py: not retried)
    |-- TerminalError
    |   |-- RunConfigConflict, WatermarkError                                   (run.py)
    |   |-- ColumnError, SchemaError > ColumnTypeUnsupported                    (columns.py)
    |   |-- StagingError, WriteKeyError                                         (staging.py)
    |   |-- TransformError                                                      (transforms.py)
    |   `-- ConnectionSetupError > DriverMissing                                (connections.py)
    |-- TransientError
    `-- SourceError, DestinationError, StorageError   (source.py, destination.py, storage.py)
        groups that hold both kinds: never raised themselves, each of their classes is also a
        TerminalError or a TransientError (`class LockHeld(DestinationError, TransientError)`).

`TerminalError` and `TransientError` still take a plain message, for plugins (every raise site of this
package has a class of its own).
"""

from __future__ import annotations

from ingest_assets.causes.base import IngestError, TerminalError, TransientError, first_line
from ingest_assets.causes.columns import (
    ArrowTypeUnwritable,
    AuditColumnClash,
    ColumnError,
    ColumnTypeUnreadable,
    ColumnTypeUnsupported,
    DecimalTooWide,
    EntityColumnsMissing,
    RowHashColumnsMissing,
    RowSelectionColumnsMissing,
    SchemaChangesRefused,
    SchemaError,
    SourceColumnMissing,
    SourceColumnsMissing,
    TableMustBeRebuilt,
    TransformOutputColumnsMissing,
)
from ingest_assets.causes.connections import (
    AuthLibraryMissing,
    AzureTokenUnavailable,
    ConnectionSetupError,
    DriverMissing,
    FreeTdsCannotUseToken,
    HomeDriverMissing,
    StoreDriverMissing,
)
from ingest_assets.causes.destination import (
    DestinationError,
    DestinationMissing,
    DestinationOccupied,
    FolderWriteModeUnsupported,
    KeySnapshotMissing,
    LandingZoneError,
    LockHeld,
    PartitionReplaceUnsupported,
    PublishInProgress,
    PublishTargetTaken,
    StagedFileLost,
    StoreDatabaseRefused,
    StoreDatabaseUnavailable,
    TableChangedDuringLoad,
    TableCommitConflict,
    TableLoadInProgress,
    WriteModeUnsupported,
)
from ingest_assets.causes.project import (
    ConfigError,
    ConfigProblem,
    MissingEnvironmentVariable,
    NoBuiltInConnectors,
    PluginAliasUnregistered,
    PluginError,
    PluginImportFailed,
    PluginModelMissing,
    PluginNameMismatch,
    PluginNotAConnectorType,
    PluginShadowsBuiltIn,
    TranslatorError,
    TranslatorKeyMismatch,
)
from ingest_assets.causes.run import (
    IncrementalNeedsEveryRow,
    LookbackNotApplicable,
    RebuildOfPartition,
    RunConfigConflict,
    SampleOfMirroredTable,
    SampleWithIncremental,
    SampleWithRebuild,
    WatermarkError,
    WatermarkSettingsChanged,
    WatermarkTypeUnsupported,
    WatermarkValueUnsupported,
)
from ingest_assets.causes.source import (
    BatchTypesChanged,
    BatchValueDoesNotFit,
    DeltaTableUnreadable,
    DerivedQueryFailed,
    FetchedValueDoesNotFit,
    FileValueDoesNotFit,
    HomeDatabaseRefused,
    HomeDatabaseUnavailable,
    InputDatabaseBusy,
    InputNotMaterialized,
    MaxValueUnreadable,
    NoFilesMatch,
    ParallelColumnUnsplittable,
    RowMarkerInvalid,
    SourceDatabaseMissing,
    SourceError,
    SourceFileUnreadable,
    SourcePathMissing,
    SourceQueryInvalid,
    SourceTableMissing,
    SourceTextNotUtf8,
    SourceValueDoesNotFit,
    UnexpectedSnapshot,
)
from ingest_assets.causes.staging import (
    BatchColumnsChanged,
    BatchDoesNotFit,
    CommitBeforeStaging,
    LatestRowTied,
    NullWriteKey,
    StagedCountMismatch,
    StagedFileCollision,
    StagedLayoutMismatch,
    StagedRowsDoNotFit,
    StagingError,
    WriteKeyError,
    WriteKeyNotUnique,
)
from ingest_assets.causes.storage import (
    BlobCopyFailed,
    DeltaSignInUnsupported,
    StorageAccessDenied,
    StorageContainerMissing,
    StorageError,
    StorageRequestFailed,
    StorageRequestRefused,
    StorageSettingInvalid,
    StorageSettingMalformed,
    StorageUnreachable,
    UnknownStorageApi,
    UnknownStorageCredential,
)
from ingest_assets.causes.transforms import (
    PythonTransformFailed,
    SqlTransformFailed,
    TransformColumnsChanged,
    TransformError,
    TransformFunctionMissing,
    TransformInputUnsupported,
    TransformResultUnsupported,
    TransformReturnsNoRows,
    TransformSignatureMismatch,
    TransformStepFailed,
)

# Grouped as causes/ groups them, not sorted.
__all__ = [  # noqa: RUF022
    # roots
    "IngestError", "TerminalError", "TransientError", "first_line",
    # the project (not retried)
    "ConfigError", "ConfigProblem", "MissingEnvironmentVariable", "TranslatorError", "TranslatorKeyMismatch",
    "PluginError", "NoBuiltInConnectors", "PluginAliasUnregistered", "PluginImportFailed", "PluginModelMissing",
    "PluginNameMismatch", "PluginNotAConnectorType", "PluginShadowsBuiltIn",
    # run config and watermark
    "RunConfigConflict", "IncrementalNeedsEveryRow", "RebuildOfPartition", "SampleOfMirroredTable",
    "SampleWithIncremental", "SampleWithRebuild",
    "WatermarkError", "WatermarkSettingsChanged", "WatermarkTypeUnsupported", "WatermarkValueUnsupported", "LookbackNotApplicable",
    # columns and schema
    "ColumnError", "AuditColumnClash", "EntityColumnsMissing", "RowHashColumnsMissing", "RowSelectionColumnsMissing",
    "SourceColumnMissing", "SourceColumnsMissing", "TransformOutputColumnsMissing",
    "SchemaError", "SchemaChangesRefused", "TableMustBeRebuilt",
    "ColumnTypeUnsupported", "ArrowTypeUnwritable", "ColumnTypeUnreadable", "DecimalTooWide",
    # staging and write keys
    "StagingError", "BatchColumnsChanged", "BatchDoesNotFit", "CommitBeforeStaging", "StagedCountMismatch",
    "StagedFileCollision", "StagedLayoutMismatch", "StagedRowsDoNotFit",
    "WriteKeyError", "LatestRowTied", "NullWriteKey", "WriteKeyNotUnique",
    # transforms
    "TransformError", "PythonTransformFailed", "SqlTransformFailed", "TransformColumnsChanged",
    "TransformFunctionMissing", "TransformInputUnsupported", "TransformResultUnsupported", "TransformReturnsNoRows",
    "TransformSignatureMismatch", "TransformStepFailed",
    # connections
    "ConnectionSetupError", "DriverMissing", "AuthLibraryMissing", "AzureTokenUnavailable", "FreeTdsCannotUseToken",
    "HomeDriverMissing", "StoreDriverMissing",
    # the source
    "SourceError", "DerivedQueryFailed", "HomeDatabaseRefused", "HomeDatabaseUnavailable", "InputDatabaseBusy", "InputNotMaterialized",
    "MaxValueUnreadable", "NoFilesMatch", "ParallelColumnUnsplittable", "SourceDatabaseMissing", "SourcePathMissing",
    "DeltaTableUnreadable",
    "SourceQueryInvalid", "SourceTableMissing", "UnexpectedSnapshot",
    "SourceValueDoesNotFit", "BatchTypesChanged", "BatchValueDoesNotFit", "FetchedValueDoesNotFit",
    "FileValueDoesNotFit", "SourceFileUnreadable", "SourceTextNotUtf8", "RowMarkerInvalid",
    # the destination
    "DestinationError", "DestinationMissing", "DestinationOccupied", "KeySnapshotMissing", "LandingZoneError",
    "LockHeld", "PublishInProgress", "PublishTargetTaken", "StagedFileLost",
    "StoreDatabaseRefused", "StoreDatabaseUnavailable", "TableChangedDuringLoad", "TableCommitConflict",
    "TableLoadInProgress",
    "WriteModeUnsupported", "FolderWriteModeUnsupported", "PartitionReplaceUnsupported",
    # storage
    "StorageError", "BlobCopyFailed", "StorageAccessDenied", "StorageContainerMissing", "StorageRequestFailed",
    "StorageRequestRefused", "StorageUnreachable",
    "StorageSettingInvalid", "StorageSettingMalformed", "DeltaSignInUnsupported", "UnknownStorageApi",
    "UnknownStorageCredential",
]
