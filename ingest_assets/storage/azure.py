"""Open an Azure storage location: ADLS Gen2 / OneLake through the DFS API, or Blob storage.

The Azure SDK is imported inside the functions only, so loading definitions never imports it.
Every client gets the same short, bounded retries: the SDK's default (15 s backoff, growing) makes a
closed port or a dead network look like a hang, while the asset's RetryPolicy already retries a
`TransientError` with its own delay.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ingest_assets.connectors import azure_auth
from ingest_assets.errors import StorageSettingMalformed, UnknownStorageApi, UnknownStorageCredential
from ingest_assets.storage.azure_errors import AzureTarget
from ingest_assets.storage.base import Storage
from ingest_assets.storage.blob import BlobStorage
from ingest_assets.storage.dfs import DfsStorage

RETRY_TOTAL = 3
RETRY_BACKOFF_SECONDS = 1.0
CONNECTION_TIMEOUT_SECONDS = 10
# Between two reads of a response; a large download is many reads, so this is not a time limit.
READ_TIMEOUT_SECONDS = 60
# Blob uploads above this size go as blocks of this size (a commit makes them visible at once);
# each of the upload's threads holds one block in memory.
BLOCK_BYTES = 8 * 1024 * 1024

CREDENTIAL_KINDS = ("account_key", "sas", "connection_string", "service_principal", "managed_identity",
                    "azure_cli", "azure_default")


@dataclass(frozen=True)
class AzureLocation:
    """A container or file system and how to sign in to it; secrets are already resolved."""

    account_url: str | None
    filesystem: str
    api: str  # "dfs" (ADLS Gen2, OneLake) or "blob" (Blob storage, Azurite)
    credential: str  # one of CREDENTIAL_KINDS
    # repr=False: a location in a log or a traceback never shows a secret.
    account_key: str | None = field(default=None, repr=False)
    sas_token: str | None = field(default=None, repr=False)
    connection_string: str | None = field(default=None, repr=False)
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)


def open_azure_storage(location: AzureLocation) -> Storage:
    """A BlobStorage (`api: blob`) or DfsStorage (`api: dfs`) for `location`."""
    if location.credential not in CREDENTIAL_KINDS:
        raise UnknownStorageCredential(credential=location.credential, choices=CREDENTIAL_KINDS)
    if location.api == "blob":
        return _open_blob(location)
    if location.api == "dfs":
        return _open_dfs(location)
    raise UnknownStorageApi(api=location.api)


def account_name(account_url: str) -> str:
    """The account in `https://<account>.blob.core.windows.net` or in a path-style URL such as
    Azurite's `http://127.0.0.1:10000/<account>` (an IP address, localhost or a single-label host)."""
    parts = urlsplit(account_url)
    host = parts.hostname or ""
    segment = parts.path.strip("/").split("/", 1)[0]
    if segment and (_is_ip(host) or "." not in host):
        return segment
    return host.split(".", 1)[0]


def public_url(url: str) -> str:
    """`url` without its query string (a SAS token) or user info, for messages and metadata."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def client_options(retry_class: Any) -> dict[str, Any]:
    """Settings of every client; `retry_class` is the package's LinearRetry (blob or filedatalake)."""
    return {
        # Storage's own policy (it knows which storage errors are retryable); ~1 s apart, so a
        # closed port fails in a few seconds.
        "retry_policy": retry_class(backoff=RETRY_BACKOFF_SECONDS, retry_total=RETRY_TOTAL, random_jitter_range=0.5),
        "connection_timeout": CONNECTION_TIMEOUT_SECONDS,
        "read_timeout": READ_TIMEOUT_SECONDS,
        "max_single_put_size": BLOCK_BYTES,
        "max_block_size": BLOCK_BYTES,
    }


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost"
    return True


def _credential(location: AzureLocation) -> Any:
    """The SDK credential object (None for a connection string, which carries its own)."""
    kind = location.credential
    if kind == "connection_string":
        return None
    if kind == "account_key":
        from azure.core.credentials import AzureNamedKeyCredential

        assert location.account_url and location.account_key, "validated when the project loads"
        return AzureNamedKeyCredential(account_name(location.account_url), location.account_key)
    if kind == "sas":
        from azure.core.credentials import AzureSasCredential

        assert location.sas_token, "validated when the project loads"
        return AzureSasCredential(location.sas_token.lstrip("?"))
    return azure_auth.credential(kind, location.tenant_id, location.client_id, location.client_secret)


def _malformed(location: AzureLocation) -> StorageSettingMalformed:
    # The SDK's ValueError may quote the setting; only its name goes into the message.
    setting = "connection_string" if location.credential == "connection_string" else "account_url"
    return StorageSettingMalformed(setting=setting)


def _service(location: AzureLocation, client_class: Any, retry_class: Any) -> Any:
    """A Blob or DataLake service client (with its package's retry policy): from the connection
    string, or from the URL and the credential."""
    options = client_options(retry_class)
    if location.credential == "connection_string":
        assert location.connection_string, "validated when the project loads"
        return client_class.from_connection_string(location.connection_string, **options)
    assert location.account_url, "validated when the project loads"
    return client_class(location.account_url, credential=_credential(location), **options)


def _open_blob(location: AzureLocation) -> Storage:
    from azure.storage.blob import BlobServiceClient, LinearRetry

    try:
        container = _service(location, BlobServiceClient, LinearRetry).get_container_client(location.filesystem)
    except ValueError:
        raise _malformed(location) from None
    target = AzureTarget(public_url(container.url), location.filesystem, location.credential, "container")
    # A same-account copy is authorized by the destination's credential, except a SAS: the source URL
    # must carry it too.
    source_query = location.sas_token.lstrip("?") if location.credential == "sas" and location.sas_token else ""
    return BlobStorage(container, target, source_query=source_query)


def _open_dfs(location: AzureLocation) -> Storage:
    from azure.storage.filedatalake import DataLakeServiceClient, LinearRetry

    try:
        file_system = _service(location, DataLakeServiceClient, LinearRetry).get_file_system_client(location.filesystem)
    except ValueError:
        raise _malformed(location) from None
    target = AzureTarget(public_url(file_system.url), location.filesystem, location.credential, "file system")
    return DfsStorage(file_system, target)
