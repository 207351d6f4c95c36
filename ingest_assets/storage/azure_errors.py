"""Azure SDK errors mapped onto the storage seam's error types, by exception type and status code.

`ResourceNotFoundError` is a missing file (`FileNotFoundError`) unless the service says the container
or file system itself is missing: that is a setting to fix (`TerminalError`). The service's
`x-ms-error-code` (`error.error_code`) is a structured protocol field, not message text, so it may
tell the two apart. Messages name the place (a URL without secrets) and the status and error code,
never the SDK's message (a transport error quotes the request URL, SAS token included).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ingest_assets.errors import (
    StorageAccessDenied,
    StorageContainerMissing,
    StorageRequestFailed,
    StorageRequestRefused,
    StorageUnreachable,
    first_line,
)

# `x-ms-error-code`s of a missing container (Blob endpoint) or file system (DFS endpoint).
MISSING_FILESYSTEM_CODES = frozenset({"ContainerNotFound", "FilesystemNotFound"})
# 4xx a retry may cure: a request timeout, throttling, a precondition that a concurrent change broke.
RETRYABLE_CLIENT_STATUS = frozenset({408, 412, 429})


@dataclass(frozen=True)
class AzureTarget:
    """What messages say about a backend: where it is (no secrets) and how it signs in."""

    url: str  # the container / file system URL, without a query string
    filesystem: str
    credential: str  # the credential kind, as configured
    noun: str = "container"  # "container" (Blob) or "file system" (DFS)

    def where(self, path: str = "") -> str:
        return f"{self.url}/{path}" if path else self.url


def error_code(error: BaseException) -> str:
    """The service's `x-ms-error-code`, or "" (for errors without a response)."""
    code = getattr(error, "error_code", None) or ""
    return str(getattr(code, "value", code))  # the SDK gives a StorageErrorCode enum member when it knows it


def status_code(error: BaseException) -> int | None:
    return getattr(error, "status_code", None)


def storage_error(error: BaseException, target: AzureTarget, path: str = "",
                  must_not_exist: str | None = None) -> BaseException | None:
    """The seam's error for an Azure SDK error, or None when `error` is not one.

    `must_not_exist` names the target of a call guarded by a must-not-exist condition: there a
    conflict (409) or a failed precondition (412) means that target already exists.
    """
    from azure.core.exceptions import AzureError, ClientAuthenticationError, ServiceRequestError, ServiceResponseError

    if not isinstance(error, AzureError):
        return None
    where = target.where(path)
    status = status_code(error)
    code = error_code(error)
    detail = f"HTTP {status}{' ' + code if code else ''}" if status else type(error).__name__
    if isinstance(error, ClientAuthenticationError) or status in (401, 403):
        # Without a status the credential itself failed (azure-identity, or signing with a bad key);
        # its first line says why (azure-identity never puts a secret in it).
        reason = detail if status else f"{type(error).__name__}: {first_line(error)}"
        return StorageAccessDenied(where=where, reason=reason, credential=target.credential, status=status)
    if status == 404:
        if code in MISSING_FILESYSTEM_CODES:
            return StorageContainerMissing(noun=target.noun, filesystem=target.filesystem,
                                           account_url=target.url.rsplit("/", 1)[0])
        return FileNotFoundError(f"{where} does not exist ({detail})")
    if must_not_exist is not None and status in (409, 412):
        return FileExistsError(f"{target.where(must_not_exist)} already exists ({detail})")
    if isinstance(error, (ServiceRequestError, ServiceResponseError)):
        # Cannot connect, connection dropped, or timed out (the timeout errors subclass these). Only the
        # type: the transport's message quotes the request URL, which carries a SAS token when one is used.
        return StorageUnreachable(where=where, error_type=type(error).__name__)
    if status is not None and 400 <= status < 500 and status not in RETRYABLE_CLIENT_STATUS:
        return StorageRequestRefused(where=where, detail=detail, status=status)
    # 5xx, throttling, a timeout, a response that could not be read (IncompleteReadError, DecodeError
    # come with the status of a good response), or a 412 outside a must-not-exist guard: the file
    # changed while a download read it in parts.
    return StorageRequestFailed(where=where, detail=detail, status=status)


@contextmanager
def azure_errors(target: AzureTarget, path: str = "", *, missing_ok: bool = False,
                 must_not_exist: str | None = None) -> Iterator[None]:
    """Raise Azure SDK errors in the block as the seam's errors.

    `missing_ok` swallows a missing file or folder (never a missing container / file system); code
    after the `with` block then runs as if the block had finished.
    """
    try:
        yield
    except Exception as error:
        mapped = storage_error(error, target, path, must_not_exist)
        if mapped is None:
            raise
        if missing_ok and isinstance(mapped, FileNotFoundError):
            return
        # Not chained: the SDK's messages may quote a request URL with its SAS token, or the string the
        # service signed; the mapped message keeps the type, status and error code.
        raise mapped from None
