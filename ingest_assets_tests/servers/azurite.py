"""A real Azure Blob endpoint for tests: Azurite (Microsoft's emulator, from npm), Blob service only.

Azurite is installed once into `.cache/azurite/` in the repository (npm; a file lock keeps parallel
sessions from installing it twice) and started on a free loopback port with in-memory storage.
`--skipApiVersionCheck` is needed because current SDKs send API versions newer than Azurite knows.
It is stopped by its own process id when the context ends. Each test gets its own container
(`create_container`), so tests never see each other's blobs. Azurite has no DFS endpoint: the DFS
backend is tested against `dfs_server.py`.
"""

from __future__ import annotations

import fcntl
import http.client
import json
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest_assets_tests.servers.processes import free_port, running

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient

    from ingest_assets.storage.azure import AzureLocation

AZURITE_VERSION = "3.35.0"  # the last release that runs on Node 20
REPOSITORY = Path(__file__).resolve().parents[2]
INSTALL_DIR = REPOSITORY / ".cache" / "azurite"
STARTUP_SECONDS = 30
INSTALL_SECONDS = 300
# Azurite's well-known development account (published in Microsoft's documentation; not a secret).
ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass(frozen=True)
class AzuriteServer:
    port: int
    host: str = "127.0.0.1"
    account_name: str = ACCOUNT_NAME
    account_key: str = ACCOUNT_KEY

    @property
    def account_url(self) -> str:
        return f"http://{self.host}:{self.port}/{self.account_name}"  # path-style, as Azurite serves it

    @property
    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={self.account_name};AccountKey={self.account_key};"
                f"BlobEndpoint={self.account_url};")

    def location(self, container: str, **settings: Any) -> AzureLocation:
        """Where `open_azure_storage` finds `container`: the account key unless `settings` say otherwise."""
        from ingest_assets.storage.azure import AzureLocation

        values: dict[str, Any] = {"account_url": self.account_url, "filesystem": container, "api": "blob",
                                  "credential": "account_key", "account_key": self.account_key}
        return AzureLocation(**{**values, **settings})

    def create_container(self, prefix: str = "t") -> str:
        """A new, empty container with a unique name (3-63 lowercase letters, digits and dashes)."""
        name = f"{prefix.lower()[:40]}-{uuid.uuid4().hex[:12]}"
        with self._service() as service:
            service.create_container(name)
        return name

    def delete_container(self, name: str) -> None:
        with self._service() as service:
            service.delete_container(name)

    def _service(self) -> BlobServiceClient:
        from azure.core.credentials import AzureNamedKeyCredential
        from azure.storage.blob import BlobServiceClient

        credential = AzureNamedKeyCredential(self.account_name, self.account_key)
        return BlobServiceClient(self.account_url, credential=credential)


def azurite_binary() -> Path:
    """`azurite-blob` from the repository's cache, installed with npm on first use."""
    binary = INSTALL_DIR / "node_modules" / ".bin" / "azurite-blob"
    if _installed_version() == AZURITE_VERSION and binary.exists():
        return binary
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed -> install Node.js 20 and npm (Debian: apt-get install nodejs npm)")
    INSTALL_DIR.mkdir(parents=True, exist_ok=True)
    with open(INSTALL_DIR.parent / "azurite.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another session may be installing: wait for it, then look again
        if _installed_version() != AZURITE_VERSION or not binary.exists():
            result = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--prefix", str(INSTALL_DIR), f"azurite@{AZURITE_VERSION}"],
                capture_output=True, text=True, timeout=INSTALL_SECONDS,
            )
            if result.returncode != 0:
                raise RuntimeError(f"npm install azurite@{AZURITE_VERSION} failed:\n{result.stderr[-2000:]}")
    return binary


def _installed_version() -> str | None:
    package = INSTALL_DIR / "node_modules" / "azurite" / "package.json"
    try:
        return json.loads(package.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


@contextmanager
def azurite_server() -> Iterator[AzuriteServer]:
    binary = azurite_binary()
    server = AzuriteServer(port=free_port())
    folder = Path(tempfile.mkdtemp(prefix="ingest-azurite-"))
    log = folder / "azurite.log"
    try:
        # `azurite-blob` is a node script: the process started is node itself, so its pid is Azurite's.
        command = [str(binary), "--blobHost", server.host, "--blobPort", str(server.port), "--inMemoryPersistence",
                   "--disableTelemetry", "--skipApiVersionCheck", "--silent"]
        with running("azurite", command, log, lambda: _answers(server), STARTUP_SECONDS, 15, cwd=folder):
            yield server
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _answers(server: AzuriteServer) -> bool:
    """Ready when it answers HTTP (an unsigned request gets an error status, which is enough)."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=2)
    try:
        connection.request("GET", f"/{server.account_name}?comp=list")
        connection.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        connection.close()
