"""The storage seam's contract, held by every backend: a local folder, Blob storage (Azurite) and
ADLS Gen2 through the DFS API (the protocol test server), plus how Azure failures are reported.

The `live_azure` test runs the same round trip against a real ADLS Gen2 / OneLake / Blob account
when INGEST_TEST_ADLS_URL and INGEST_TEST_ADLS_FILESYSTEM are set.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import UTC
from pathlib import Path

import pytest

from ingest_assets.errors import TerminalError, TransientError
from ingest_assets.storage.azure import AzureLocation, account_name, open_azure_storage, public_url
from ingest_assets.storage.base import Entry, Storage
from ingest_assets_tests.conftest import REPOSITORY
from ingest_assets_tests.servers.processes import free_port

LARGE_BYTES = 20 * 1024 * 1024


@pytest.fixture(scope="module")
def large_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """~20 MB of random bytes: several blocks / append chunks, and no run a backend could compress."""
    path = tmp_path_factory.mktemp("large") / "large.bin"
    path.write_bytes(os.urandom(LARGE_BYTES))
    return path


def names(entries: list[Entry]) -> list[str]:
    return [entry.name for entry in entries]


# ---- the contract, per backend ------------------------------------------------------------------


def test_list_gives_direct_children_sorted_with_sizes(storage_backend) -> None:
    storage, _label = storage_backend
    storage.write_bytes("data/b.parquet", b"bbb")
    storage.write_bytes("data/a.parquet", b"a")
    storage.write_bytes("data/sub/deeper/c.parquet", b"cc")
    storage.write_bytes("data2/other.parquet", b"x")  # shares the prefix "data", is not inside it

    assert storage.list("data") == [Entry("a.parquet", False, 1), Entry("b.parquet", False, 3), Entry("sub", True, 0)]
    assert storage.list("data/") == storage.list("data")
    assert storage.list("data/sub") == [Entry("deeper", True, 0)]
    assert names(storage.list("")) == ["data", "data2"]
    assert storage.list("missing") == []
    assert storage.list("data/a.parquet/nothing") == []


def test_exists_is_true_for_files_only(storage_backend) -> None:
    storage, _ = storage_backend
    storage.write_bytes("folder/file.txt", b"1")

    assert storage.exists("folder/file.txt")
    assert not storage.exists("folder")
    assert not storage.exists("folder/missing.txt")
    assert not storage.exists("missing/file.txt")


def test_write_bytes_creates_and_replaces(storage_backend) -> None:
    storage, _ = storage_backend
    storage.write_bytes("x/state.json", b'{"v": 1}')
    storage.write_bytes("x/state.json", b'{"v": 2, "longer": true}')
    storage.write_bytes("x/empty", b"")
    storage.write_bytes("x/binary", bytes(range(256)))

    assert storage.read_bytes("x/state.json") == b'{"v": 2, "longer": true}'
    assert storage.read_bytes("x/empty") == b""
    assert storage.read_bytes("x/binary") == bytes(range(256))
    # Replacing with nothing replaces too (the DFS SDK's upload sends no request for empty data).
    storage.write_bytes("x/state.json", b"")
    assert storage.read_bytes("x/state.json") == b""
    # No temporary names are left beside the files.
    assert storage.list("x") == [Entry("binary", False, 256), Entry("empty", False, 0), Entry("state.json", False, 0)]


def test_read_of_a_missing_file_raises_file_not_found(storage_backend) -> None:
    storage, _ = storage_backend
    with pytest.raises(FileNotFoundError):
        storage.read_bytes("missing/file.txt")


def test_upload_and_download_a_large_file_byte_for_byte(storage_backend, large_file: Path, tmp_path: Path) -> None:
    storage, _ = storage_backend
    storage.write_bytes("big/large.bin", b"an older, smaller version")
    storage.upload("big/large.bin", large_file)
    target = tmp_path / "downloaded.bin"
    storage.download("big/large.bin", target)

    assert storage.list("big") == [Entry("large.bin", False, LARGE_BYTES)]
    assert target.stat().st_size == LARGE_BYTES
    assert target.read_bytes() == large_file.read_bytes()


def test_download_of_a_missing_file_leaves_no_file(storage_backend, tmp_path: Path) -> None:
    storage, _ = storage_backend
    target = tmp_path / "never.bin"
    with pytest.raises(FileNotFoundError):
        storage.download("missing.bin", target)
    assert not target.exists()


def test_nested_paths_and_names_with_spaces_and_non_ascii(storage_backend, tmp_path: Path) -> None:
    storage, _ = storage_backend
    path = "año 2026/größe & maße/日本語 フォルダ/naïve file #1.txt"
    storage.write_bytes(path, "ünïcødé".encode())
    source = tmp_path / "source.txt"
    source.write_bytes(b"uploaded")
    storage.upload("año 2026/größe & maße/uploaded 2.txt", source)

    assert storage.exists(path)
    assert storage.read_bytes(path) == "ünïcødé".encode()
    assert storage.list("año 2026/größe & maße") == [Entry("uploaded 2.txt", False, 8), Entry("日本語 フォルダ", True, 0)]
    storage.rename(path, "año 2026/renamed ñ.txt")
    assert storage.read_bytes("año 2026/renamed ñ.txt") == "ünïcødé".encode()
    assert not storage.exists(path)


def test_names_that_look_url_encoded_stay_as_they_are(storage_backend) -> None:
    storage, _ = storage_backend
    # Hive-style partition values are %-escaped; `+`, `?` and `#` mean something in URLs.
    storage.write_bytes("t/d=2026-01-01%2000%3A00/50%41 off+x?#.txt", b"1")
    storage.rename("t/d=2026-01-01%2000%3A00/50%41 off+x?#.txt", "u/ts=%2F%25/a%20b.txt")

    assert storage.list("t/d=2026-01-01%2000%3A00") == []
    assert names(storage.list("u")) == ["ts=%2F%25"]
    assert storage.read_bytes("u/ts=%2F%25/a%20b.txt") == b"1"


def test_rename_moves_the_content(storage_backend) -> None:
    storage, _ = storage_backend
    storage.write_bytes("staging/_part-0.parquet.tmp", b"complete content")
    storage.rename("staging/_part-0.parquet.tmp", "table/year=2026/part-0.parquet")  # into a new folder

    assert storage.read_bytes("table/year=2026/part-0.parquet") == b"complete content"
    assert not storage.exists("staging/_part-0.parquet.tmp")
    assert storage.list("staging") == []
    assert storage.list("table/year=2026") == [Entry("part-0.parquet", False, 16)]


def test_rename_never_overwrites(storage_backend) -> None:
    storage, _ = storage_backend
    storage.write_bytes("t/new", b"new content")
    storage.write_bytes("t/existing", b"existing content")

    with pytest.raises(FileExistsError):
        storage.rename("t/new", "t/existing")
    assert storage.read_bytes("t/new") == b"new content"
    assert storage.read_bytes("t/existing") == b"existing content"


def test_rename_of_a_missing_source_raises_file_not_found(storage_backend) -> None:
    storage, _ = storage_backend
    with pytest.raises(FileNotFoundError):
        storage.rename("t/missing", "t/target")
    assert not storage.exists("t/target")


def test_delete_is_repeatable(storage_backend) -> None:
    storage, _ = storage_backend
    storage.write_bytes("d/file", b"1")
    storage.write_bytes("d/keep", b"2")
    storage.delete("d/file")
    storage.delete("d/file")
    storage.delete("never/existed")

    assert not storage.exists("d/file")
    assert storage.list("d") == [Entry("keep", False, 1)]


def test_delete_folder_is_recursive_and_repeatable(storage_backend) -> None:
    storage, _ = storage_backend
    for path in ("table/a.parquet", "table/sub/b.parquet", "table/sub/deeper/c.parquet", "table2/kept.parquet"):
        storage.write_bytes(path, b"x")
    storage.delete_folder("table")
    storage.delete_folder("table")
    storage.delete_folder("never/existed")

    assert storage.list("table") == []
    assert not storage.exists("table/sub/deeper/c.parquet")
    assert names(storage.list("")) == ["table2"]
    assert storage.read_bytes("table2/kept.parquet") == b"x"


def test_make_folder_is_repeatable_and_holds_files(storage_backend) -> None:
    storage, label = storage_backend
    storage.make_folder("Files/LandingZone/orders")
    storage.make_folder("Files/LandingZone/orders")
    if label != "blob":  # Blob folders are implicit: they appear with their first blob
        assert storage.list("Files/LandingZone") == [Entry("orders", True, 0)]
        assert storage.list("Files/LandingZone/orders") == []
    storage.write_bytes("Files/LandingZone/orders/_metadata.json", b"{}")
    assert storage.list("Files/LandingZone/orders") == [Entry("_metadata.json", False, 2)]


def test_describe_names_the_place(storage_backend) -> None:
    storage, label = storage_backend
    where = storage.describe("folder/file.parquet")
    assert where.endswith("folder/file.parquet")
    if label != "local":
        assert where.startswith("http://127.0.0.1:")


# ---- Azure credentials and failures -------------------------------------------------------------


def test_account_name_comes_from_the_host_or_a_path_style_url() -> None:
    assert account_name("https://myaccount.dfs.core.windows.net") == "myaccount"
    assert account_name("https://myaccount.blob.core.windows.net/") == "myaccount"
    assert account_name("https://onelake.dfs.fabric.microsoft.com") == "onelake"
    assert account_name("http://127.0.0.1:10000/devstoreaccount1") == "devstoreaccount1"
    assert account_name("http://localhost:10000/devstoreaccount1/") == "devstoreaccount1"
    assert account_name("http://azurite:10000/devstoreaccount1") == "devstoreaccount1"


def test_descriptions_and_reprs_carry_no_secret() -> None:
    url = "https://user:pw@acct.blob.core.windows.net/c?sv=2024-01-01&sig=SECRET"
    assert public_url(url) == "https://acct.blob.core.windows.net/c"
    location = AzureLocation(account_url="https://acct.blob.core.windows.net", filesystem="c", api="blob",
                             credential="sas", sas_token="sv=2024&sig=SECRET", account_key="KEY-SECRET",
                             connection_string="AccountKey=CS-SECRET", client_secret="CLIENT-SECRET")
    assert "SECRET" not in repr(location)
    assert "SECRET" not in open_azure_storage(location).describe("a/b")


def test_blob_works_with_a_connection_string_and_a_sas(azurite) -> None:
    from datetime import datetime, timedelta

    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    container = azurite.create_container()
    by_string = open_azure_storage(azurite.location(container, credential="connection_string", account_url=None,
                                                    account_key=None, connection_string=azurite.connection_string))
    by_string.write_bytes("a/file", b"via connection string")
    sas = generate_container_sas(azurite.account_name, container, account_key=azurite.account_key,
                                 permission=ContainerSasPermissions(read=True, write=True, delete=True, list=True,
                                                                    create=True, add=True),
                                 expiry=datetime.now(UTC) + timedelta(hours=1))
    by_sas = open_azure_storage(azurite.location(container, credential="sas", account_key=None, sas_token=sas))
    assert by_sas.read_bytes("a/file") == b"via connection string"
    by_sas.rename("a/file", "b/file")  # the copy's source is authorized by the SAS as well
    assert by_sas.list("b") == [Entry("file", False, 21)]
    assert "sig=" not in by_sas.describe("b/file")


def test_dfs_works_with_a_connection_string(dfs_server) -> None:
    filesystem = dfs_server.create_filesystem()
    storage = open_azure_storage(dfs_server.location(filesystem, credential="connection_string", account_url=None,
                                                     account_key=None, connection_string=dfs_server.connection_string))
    storage.write_bytes("a/file", b"via connection string")
    assert storage.read_bytes("a/file") == b"via connection string"


def _wrong_key(key: str) -> str:
    return ("B" if key[0] == "A" else "A") + key[1:]


@pytest.mark.parametrize("api", ["blob", "dfs"])
def test_wrong_account_key_is_terminal_with_the_fix(api: str, azurite_or_dfs) -> None:
    server, filesystem = azurite_or_dfs(api)
    storage = open_azure_storage(server.location(filesystem, account_key=_wrong_key(server.account_key)))
    for operation in (lambda: storage.list(""), lambda: storage.exists("a"), lambda: storage.write_bytes("a", b"1")):
        with pytest.raises(TerminalError, match="credential: account_key") as raised:
            operation()
        assert server.account_key not in str(raised.value)
        assert "Storage Blob Data Contributor" in str(raised.value)


@pytest.mark.parametrize("api", ["blob", "dfs"])
def test_missing_container_is_terminal_and_named(api: str, azurite_or_dfs) -> None:
    server, _ = azurite_or_dfs(api)
    storage = open_azure_storage(server.location("no-such-filesystem"))
    operations = {"list": lambda: storage.list("a"), "exists": lambda: storage.exists("a/b"),
                  "read": lambda: storage.read_bytes("a/b"), "write": lambda: storage.write_bytes("a/b", b"1"),
                  "rename": lambda: storage.rename("a/b", "a/c"), "delete": lambda: storage.delete("a/b")}
    for operation in operations.values():
        with pytest.raises(TerminalError, match="'no-such-filesystem' does not exist.*create it or check filesystem:"):
            operation()


@pytest.mark.parametrize("api", ["blob", "dfs"])
def test_closed_port_is_transient_within_seconds(api: str) -> None:
    url = f"http://127.0.0.1:{free_port()}/devstoreaccount1"  # nothing listens there
    storage = open_azure_storage(AzureLocation(account_url=url, filesystem="c", api=api, credential="account_key",
                                               account_key="a2V5"))
    started = time.monotonic()
    with pytest.raises(TransientError, match="could not reach"):
        storage.read_bytes("a/b")
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(("error", "guarded", "expected"), [
    ("status 503", False, TransientError),
    ("status 500", False, TransientError),
    ("status 429", False, TransientError),
    ("status 408", False, TransientError),
    ("status 412", False, TransientError),  # a download's If-Match: the file changed meanwhile
    ("status 412", True, FileExistsError),
    ("status 409", True, FileExistsError),
    ("status 409", False, TerminalError),
    ("status 400", False, TerminalError),
    ("status 403", False, TerminalError),
    ("status 404 BlobNotFound", False, FileNotFoundError),
    ("status 404 PathNotFound", False, FileNotFoundError),
    ("status 404 ContainerNotFound", False, TerminalError),
    ("status 404 FilesystemNotFound", False, TerminalError),
    ("identity", False, TerminalError),
    ("timeout", False, TransientError),
    ("incomplete read", False, TransientError),
    ("not azure", False, type(None)),
])
def test_azure_errors_are_classified_by_type_and_status(error: str, guarded: bool, expected: type) -> None:
    """The mapping table, with the SDK's own exception types (what the servers above cannot provoke)."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        IncompleteReadError,
        ServiceResponseTimeoutError,
    )

    from ingest_assets.storage.azure_errors import AzureTarget, storage_error

    if error.startswith("status"):
        _, status, *code = error.split()
        sdk_error: Exception = HttpResponseError(message="the service's text is never parsed")
        sdk_error.status_code, sdk_error.error_code = int(status), (code[0] if code else None)
    else:
        sdk_error = {"identity": ClientAuthenticationError("az login first"),
                     "timeout": ServiceResponseTimeoutError("read timed out"),
                     "incomplete read": IncompleteReadError("connection closed mid-body"),
                     "not azure": ValueError("not ours")}[error]
    target = AzureTarget("https://acct.blob.core.windows.net/box", "box", "azure_default")
    mapped = storage_error(sdk_error, target, "a/b", must_not_exist="a/c" if guarded else None)
    assert type(mapped) is expected or isinstance(mapped, expected)
    if isinstance(mapped, TerminalError) and "NotFound" in error:
        assert "'box' does not exist" in str(mapped) and "create it or check filesystem:" in str(mapped)


def test_the_dagster_resource_opens_azure_storage(azurite, monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest_assets.connectors.azure_storage import StorageResource

    monkeypatch.setenv("INGEST_TEST_AZURITE_KEY", azurite.account_key)
    container = azurite.create_container()
    resource = StorageResource(account_url=azurite.account_url, filesystem=container, api="blob",
                               credential="account_key", account_key="${INGEST_TEST_AZURITE_KEY}")
    storage = resource.open()
    storage.write_bytes("via/resource.txt", b"ok")
    assert storage.read_bytes("via/resource.txt") == b"ok"
    assert storage.describe("via/resource.txt") == f"{azurite.account_url}/{container}/via/resource.txt"


@pytest.fixture
def azurite_or_dfs(request: pytest.FixtureRequest):
    """`api -> (server, fresh filesystem)`, starting only the server the test asks for."""

    def pick(api: str):
        if api == "blob":
            server = request.getfixturevalue("azurite")
            return server, server.create_container()
        server = request.getfixturevalue("dfs_server")
        return server, server.create_filesystem()

    return pick


def test_definitions_modules_do_not_import_the_azure_sdk() -> None:
    code = ("import sys, ingest_assets.storage.azure, ingest_assets.storage.blob, ingest_assets.storage.dfs, "
            "ingest_assets.connectors.azure_storage; sys.exit(any(m.startswith('azure') for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], cwd=REPOSITORY).returncode == 0


# ---- the DFS test server's own semantics (through the SDK, as the backend meets them) -----------


def test_dfs_server_shows_appended_data_only_after_flush(dfs_server) -> None:
    from azure.core.credentials import AzureNamedKeyCredential
    from azure.core.exceptions import ResourceNotFoundError
    from azure.storage.filedatalake import DataLakeServiceClient

    filesystem = dfs_server.create_filesystem()
    credential = AzureNamedKeyCredential(dfs_server.account_name, dfs_server.account_key)
    with DataLakeServiceClient(dfs_server.account_url, credential=credential) as service:
        fs = service.get_file_system_client(filesystem)
        file = fs.create_file("dir/file.bin")
        file.append_data(b"world", offset=5, length=5)
        file.append_data(b"hello", offset=0, length=5)  # appends may arrive out of order
        assert file.get_file_properties().size == 0
        assert file.download_file().readall() == b""
        file.flush_data(10)
        assert file.download_file().readall() == b"helloworld"
        assert file.download_file(offset=3, length=4).readall() == b"lowo"

        directory = fs.get_directory_client("dir")
        with pytest.raises(ResourceNotFoundError) as raised:  # a rename needs the destination's parent
            directory.rename_directory(f"{filesystem}/moved/dir")
        assert raised.value.error_code == "RenameDestinationParentPathNotFound"
        fs.create_directory("moved")
        directory.rename_directory(f"{filesystem}/moved/dir")
        assert [path.name for path in fs.get_paths(recursive=True)] == ["moved", "moved/dir", "moved/dir/file.bin"]
        assert fs.get_file_client("moved/dir/file.bin").download_file().readall() == b"helloworld"


# ---- a real account, opt in ---------------------------------------------------------------------


@pytest.mark.live_azure
@pytest.mark.skipif(not (os.environ.get("INGEST_TEST_ADLS_URL") and os.environ.get("INGEST_TEST_ADLS_FILESYSTEM")),
                    reason="set INGEST_TEST_ADLS_URL and INGEST_TEST_ADLS_FILESYSTEM (and INGEST_TEST_ADLS_KEY, "
                           "else azure_default signs in) to test a real ADLS Gen2 / OneLake / Blob account")
def test_live_account_round_trip(tmp_path: Path) -> None:
    url = os.environ["INGEST_TEST_ADLS_URL"]
    key = os.environ.get("INGEST_TEST_ADLS_KEY")
    api = os.environ.get("INGEST_TEST_ADLS_API") or ("blob" if ".blob." in url else "dfs")
    storage: Storage = open_azure_storage(AzureLocation(
        account_url=url, filesystem=os.environ["INGEST_TEST_ADLS_FILESYSTEM"], api=api,
        credential="account_key" if key else "azure_default", account_key=key,
    ))
    root = f"{os.environ.get('INGEST_TEST_ADLS_FOLDER', 'ingest_assets_tests')}/{uuid.uuid4().hex[:12]}"
    try:
        storage.make_folder(f"{root}/table")
        storage.write_bytes(f"{root}/table/_part.tmp", b"content")
        storage.rename(f"{root}/table/_part.tmp", f"{root}/table/part.parquet")
        storage.write_bytes(f"{root}/table/other", b"other")
        with pytest.raises(FileExistsError):
            storage.rename(f"{root}/table/other", f"{root}/table/part.parquet")
        with pytest.raises(FileNotFoundError):
            storage.rename(f"{root}/table/missing", f"{root}/table/x")
        source = tmp_path / "upload.bin"
        source.write_bytes(os.urandom(3 * 1024 * 1024))
        storage.upload(f"{root}/new folder/ü.bin", source)
        storage.download(f"{root}/new folder/ü.bin", tmp_path / "back.bin")
        assert (tmp_path / "back.bin").read_bytes() == source.read_bytes()
        assert storage.list(f"{root}/table") == [Entry("other", False, 5), Entry("part.parquet", False, 7)]
        assert storage.exists(f"{root}/table/part.parquet") and not storage.exists(f"{root}/table")
    finally:
        storage.delete_folder(root)
    assert storage.list(root) == []
