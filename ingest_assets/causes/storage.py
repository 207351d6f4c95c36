"""Causes in file storage (Azure Blob / ADLS Gen2 / OneLake): settings that cannot work, and SDK
errors mapped by exception type and HTTP status, never by text. Messages name the place without
secrets (a URL without its query string) and the status and `x-ms-error-code`, never the SDK's text."""

from __future__ import annotations

from collections.abc import Sequence

from ingest_assets.causes.base import IngestError, TerminalError, TransientError


class StorageError(IngestError):
    """A storage backend refused or failed a request, or cannot be set up.

    Never raised itself: each cause below is also a TerminalError or a TransientError.
    """


# ---- settings ------------------------------------------------------------------------------------


class StorageSettingInvalid(StorageError, TerminalError):
    """A storage connection's setting has a value the backend does not know or cannot parse."""

    setting: str


class UnknownStorageCredential(StorageSettingInvalid):
    """`credential:` is none of the kinds the backend signs in with (`choices`)."""

    def __init__(self, *, credential: str, choices: Sequence[str]) -> None:
        self.setting, self.credential, self.choices = "credential", credential, tuple(choices)
        super().__init__(f"unknown credential {credential!r} -> use one of {', '.join(self.choices)}")


class UnknownStorageApi(StorageSettingInvalid):
    """`api:` is neither dfs nor blob."""

    def __init__(self, *, api: str) -> None:
        self.setting, self.api = "api", api
        super().__init__(f"unknown api {api!r} -> use 'api: dfs' (ADLS Gen2, OneLake) or 'api: blob'")


class StorageSettingMalformed(StorageSettingInvalid):
    """The SDK cannot parse `setting` (connection_string or account_url); its value is never shown."""

    def __init__(self, *, setting: str) -> None:
        self.setting = setting
        super().__init__(f"the storage {setting} is malformed -> check it (and the environment variable it comes from)")


class DeltaSignInUnsupported(StorageSettingInvalid):
    """Settings delta-rs' object store cannot sign in with; no secret is shown."""

    def __init__(self, *, problem: str, fix: str) -> None:
        self.problem, self.fix = problem, fix
        super().__init__(f"the delta connection's {problem} -> {fix}")


# ---- requests ------------------------------------------------------------------------------------


class StorageAccessDenied(StorageError, TerminalError):
    """The service denied access (401/403), or the credential failed before a request (no `status`)."""

    def __init__(self, *, where: str, reason: str, credential: str, status: int | None = None) -> None:
        self.where, self.reason, self.credential, self.status = where, reason, credential, status
        super().__init__(
            f"access to {where} was denied ({reason}) -> check 'credential: {credential}' and the "
            "environment variable its secret comes from; an Entra ID identity needs the 'Storage Blob Data "
            "Contributor' role on the storage account (OneLake: Contributor on the Fabric workspace)"
        )


class StorageContainerMissing(StorageError, TerminalError):
    """The container (Blob) or file system (DFS) itself does not exist: a setting to fix."""

    def __init__(self, *, noun: str, filesystem: str, account_url: str) -> None:
        self.noun, self.filesystem, self.account_url = noun, filesystem, account_url
        super().__init__(f"the {noun} {filesystem!r} does not exist at {account_url} "
                         "-> create it or check filesystem: in the connection")


class StorageUnreachable(StorageError, TransientError):
    """Cannot connect, the connection dropped, or timed out (`error_type` only: the transport's
    message quotes the request URL, SAS token included)."""

    def __init__(self, *, where: str, error_type: str) -> None:
        self.where, self.error_type = where, error_type
        super().__init__(f"could not reach {where} ({error_type})")


class StorageRequestRefused(StorageError, TerminalError):
    """A 4xx that a retry cannot cure; `detail` is the status and error code."""

    def __init__(self, *, where: str, detail: str, status: int | None = None) -> None:
        self.where, self.detail, self.status = where, detail, status
        super().__init__(f"{where} was refused ({detail})")


class StorageRequestFailed(StorageError, TransientError):
    """A 5xx, throttling, a timeout, or a response that could not be read: a retry may pass."""

    def __init__(self, *, where: str, detail: str, status: int | None = None) -> None:
        self.where, self.detail, self.status = where, detail, status
        super().__init__(f"{where} failed ({detail}); a retry may pass")


class BlobCopyFailed(StorageError, TransientError):
    """A server-side copy (Blob storage's rename) ended other than successfully; the source is kept.
    `status` is the SDK's copy status (None when the service reported none)."""

    def __init__(self, *, target: str, status: str | None) -> None:
        self.target, self.status = target, status
        super().__init__(f"copying to {target} ended as {status!r}; the source is kept, a retry copies again")
