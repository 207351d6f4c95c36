"""What the Azure storage types share (`adls`, `open_mirroring`): where the files go (an ADLS Gen2 /
OneLake file system, an Azure Blob container, or a local folder standing in for one), how to sign
in, the resource that opens that storage, and its check.

Settings hold `${VAR}` references as written in the YAML; `open()` resolves them and the Azure SDK
is imported only during a run, so loading definitions stays free of both.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import AliasChoices, Field, model_validator

from ingest_assets.config.references import resolve_references
from ingest_assets.connectors.files import writable_folder
from ingest_assets.connectors.probe import CheckLine, ConnectionUse, fail, ok, probe_name
from ingest_assets.connectors.resource import ConnectionResource, resolved
from ingest_assets.connectors.settings import ConnectionSettings, Secret
from ingest_assets.errors import IngestError
from ingest_assets.storage.azure import AzureLocation, open_azure_storage
from ingest_assets.storage.base import Storage
from ingest_assets.storage.local import LocalStorage

AzureCredentialKind = Literal[
    "account_key", "sas", "connection_string", "service_principal", "managed_identity", "azure_cli", "azure_default",
]
StorageApi = Literal["dfs", "blob"]


# ---- settings --------------------------------------------------------------------------------------


class AzureStorageSettings(ConnectionSettings):
    """An ADLS Gen2 / OneLake file system, an Azure Blob container, or a local folder standing in for one.

    `credential` says how to sign in; its secrets are `${VAR}` references: `account_key`, `sas_token`,
    `connection_string`, or `service_principal` (tenant_id, client_id, client_secret). Without
    `credential`, a given secret picks its kind, else `azure_default` (DefaultAzureCredential).
    `api` is taken from the URL (`.dfs.` or `.blob.`); set it for other hosts (Azurite: `blob`).
    """

    LOCAL_SETTING: ClassVar[str] = "local_path"  # the local folder's name in the YAML

    account_url: str | None = None
    filesystem: str | None = Field(
        default=None, validation_alias=AliasChoices("filesystem", "file_system", "container", "workspace"),
    )
    local_path: str | None = None  # a local folder instead of an account (demo, tests, mounted shares)
    api: StorageApi | None = None
    credential: AzureCredentialKind | None = None
    account_key: Annotated[str | None, Secret()] = None
    sas_token: Annotated[str | None, Secret()] = None
    connection_string: Annotated[str | None, Secret()] = None
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: Annotated[str | None, Secret()] = None

    @model_validator(mode="after")
    def _location_and_credential(self) -> Self:
        if (self.local_path is None) == (self.account_url is None and self.connection_string is None):
            raise ValueError("say where the files go -> set 'account_url:' and 'filesystem:' (or "
                             f"'connection_string:'), or '{self.LOCAL_SETTING}:' for a local folder, not both")
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
        # A given secret picks its kind, in this order.
        given: tuple[tuple[str, AzureCredentialKind], ...] = (
            ("connection_string", "connection_string"), ("account_key", "account_key"), ("sas_token", "sas"))
        for setting, kind in given:
            if getattr(self, setting) is not None:
                return kind
        return "azure_default"

    @property
    def storage_api(self) -> StorageApi | None:
        """The API to use (None for a local folder)."""
        if self.local_path is not None:
            return None
        return self.api or _api_from_url(self.account_url or "") or "blob"

    def resource_fields(self) -> dict[str, Any]:
        # The resource holds the API and the credential these settings choose, not the choices as written.
        return {**super().resource_fields(), "api": self.storage_api, "credential": self.credential_kind}


def _api_from_url(url: str) -> StorageApi | None:
    host = url.split("://", 1)[-1].split("/", 1)[0].lower()
    if ".dfs." in host:
        return "dfs"
    if ".blob." in host:
        return "blob"
    return None


# ---- resource --------------------------------------------------------------------------------------


class StorageResource(ConnectionResource):
    project_root: str = Field(default=".", description="The folder a relative local_path is resolved against.")
    local_path: str | None = Field(default=None, description="A local folder instead of an Azure account.")
    account_url: str | None = None
    filesystem: str | None = Field(default=None, description="Container, file system or Fabric workspace.")
    api: str | None = Field(default=None, description="dfs (ADLS Gen2, OneLake) or blob (Blob storage, Azurite).")
    credential: str | None = None
    account_key: str | None = None
    sas_token: str | None = None
    connection_string: str | None = None
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = None

    def local_folder(self) -> Path:
        assert self.local_path is not None
        path = Path(resolve_references(self.local_path)).expanduser()
        return path if path.is_absolute() else Path(self.project_root) / path

    def open(self) -> Storage:
        if self.local_path is not None:
            return LocalStorage(self.local_folder())
        return open_azure_storage(self.location())

    def location(self) -> AzureLocation:
        """The account, file system and sign-in, with `${VAR}` references resolved (not a local folder)."""
        assert self.filesystem is not None and self.credential is not None and self.api is not None
        return AzureLocation(
            account_url=resolved(self.account_url), filesystem=resolve_references(self.filesystem),
            api=self.api, credential=self.credential,
            account_key=resolved(self.account_key, secret=True), sas_token=resolved(self.sas_token, secret=True),
            connection_string=resolved(self.connection_string, secret=True), tenant_id=resolved(self.tenant_id),
            client_id=resolved(self.client_id), client_secret=resolved(self.client_secret, secret=True),
        )

    def check_connection(self, use: ConnectionUse) -> Iterator[CheckLine]:
        return check_storage(self, use, self._check_folder())

    def _check_folder(self) -> str:
        """The folder below the file system that the check lists (the type's own)."""
        return ""


class StorageBacked:
    """What the file stores share: their connection's storage, opened on first use (or given, by tests)."""

    def __init__(self, resource: StorageResource, storage: Storage | None = None):
        self._resource = resource
        self._storage = storage

    @property
    def storage(self) -> Storage:
        if self._storage is None:
            self._storage = self._resource.open()
        return self._storage


# ---- check -----------------------------------------------------------------------------------------


def check_storage(resource: StorageResource, use: ConnectionUse, folder: str = "") -> Iterator[CheckLine]:
    """Reach the storage, then write and delete a probe file. Errors arrive already translated by the
    storage layer (`storage.azure_errors`): their text is the fix."""
    if resource.local_path is not None:
        # A local folder: writing a probe through the storage would create the missing folders.
        yield writable_folder(resource.local_folder() / folder)
        return
    try:
        storage = resource.open()
        storage.list(folder)
        yield ok(f"can list {storage.describe(folder)}")
        if use.writes:
            # At the top of the file system: a probe deeper down would leave the folders it creates (DFS).
            probe = probe_name()
            storage.write_bytes(probe, b"")
            storage.delete(probe)
            yield ok(f"can write and delete files in {storage.describe()}")
    except IngestError as error:
        yield fail(str(error))
    except OSError as error:
        yield fail(f"{error} -> check the connection's location settings and the identity's permissions")
