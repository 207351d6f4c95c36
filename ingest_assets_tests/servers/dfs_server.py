"""A small ADLS Gen2 (DFS) server for tests: a test double of the REST protocol, not of the SDK.

Azurite has no DFS endpoint, so this speaks the operations the DFS backend needs, written from
Microsoft's public Data Lake Storage Gen2 REST reference: Filesystem Create / Delete / Get
Properties; Path Create (file, directory, and rename via `x-ms-rename-source`), Update (append at a
position, flush at a position), Read (with a range), Get Properties, Delete (recursive for
directories) and List (`resource=filesystem&directory=..&recursive=..`, JSON `{"paths": [...]}`).
It also answers the Blob-endpoint calls the DataLake SDK makes (container create / delete /
properties, blob properties, ranged downloads): the SDK derives the Blob URL by replacing `.dfs.`
with `.blob.` in the host, so for `http://127.0.0.1:<port>/<account>` both endpoints are this server.

Real semantics where the stores depend on them: a created file exists with 0 bytes until a flush
makes the appended data readable; renames never lose data, honour `If-None-Match: *` on the
destination (412), need the destination's parent folder (404 RenameDestinationParentPathNotFound),
replace an existing file otherwise, and move a directory's children with it. Every request must
carry a SharedKey `Authorization` whose HMAC is verified with the account key, so tests prove the
credential path; errors carry `x-ms-error-code` and the DFS JSON (or, on Blob calls, XML) body.
Data is kept in memory; the server runs on a free loopback port in a thread.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from ingest_assets.storage.azure import AzureLocation

API_VERSION = "2025-01-05"
ACCOUNT_NAME = "dfsaccount"
# The headers a SharedKey signature covers, in order, before the x-ms-* headers.
SIGNED_HEADERS = ("content-encoding", "content-language", "content-length", "content-md5", "content-type",
                  "date", "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range")
_etags = itertools.count(0x8DC000000000000)


def _new_etag() -> str:
    return f'"0x{next(_etags):X}"'


def _now() -> str:
    return formatdate(usegmt=True)


@dataclass
class Node:
    """A file or directory. `data` is what readers see; appends wait in `pending` until a flush."""

    is_directory: bool
    data: bytes = b""
    pending: dict[int, bytes] = field(default_factory=dict)
    etag: str = field(default_factory=_new_etag)
    modified: str = field(default_factory=_now)
    created: str = field(default_factory=_now)

    def touch(self) -> None:
        self.etag, self.modified = _new_etag(), _now()


@dataclass
class FileSystem:
    paths: dict[str, Node] = field(default_factory=dict)  # "a/b/c.txt" -> node
    etag: str = field(default_factory=_new_etag)
    modified: str = field(default_factory=_now)

    def children(self, directory: str, recursive: bool) -> list[str]:
        prefix = f"{directory}/" if directory else ""
        return sorted(name for name in self.paths
                      if name.startswith(prefix) and (recursive or "/" not in name[len(prefix):]))


class ServiceError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class DfsServer:
    """What tests need: the endpoint, the account and key, and file systems to work in."""

    port: int
    account_key: str
    account_name: str = ACCOUNT_NAME
    host: str = "127.0.0.1"
    filesystems: dict[str, FileSystem] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def account_url(self) -> str:
        return f"http://{self.host}:{self.port}/{self.account_name}"

    @property
    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={self.account_name};AccountKey={self.account_key};"
                f"BlobEndpoint={self.account_url};")

    def location(self, filesystem: str, **settings: Any) -> AzureLocation:
        """Where `open_azure_storage` finds `filesystem`: the account key unless `settings` say otherwise."""
        from ingest_assets.storage.azure import AzureLocation

        values: dict[str, Any] = {"account_url": self.account_url, "filesystem": filesystem, "api": "dfs",
                                  "credential": "account_key", "account_key": self.account_key}
        return AzureLocation(**{**values, **settings})

    def create_filesystem(self, prefix: str = "fs") -> str:
        """A new, empty file system with a unique name."""
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        with self.lock:
            self.filesystems[name] = FileSystem()
        return name

    def delete_filesystem(self, name: str) -> None:
        with self.lock:
            self.filesystems.pop(name, None)


def _json_error(error: ServiceError, request_id: str) -> bytes:
    message = f"{error.message}\nRequestId:{request_id}\nTime:{_now()}"
    return json.dumps({"error": {"code": error.code, "message": message}}).encode()


def _xml_error(error: ServiceError, request_id: str) -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{error.code}</Code>'
            f"<Message>{error.message}\nRequestId:{request_id}</Message></Error>").encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects
    server_version = "IngestDfsTestServer/1.0"
    state: DfsServer  # set on the subclass made per server

    def log_message(self, format: str, *args: object) -> None:  # silences the access log
        pass

    # ---- plumbing -------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_PUT = do_PATCH = do_DELETE = do_POST = do_GET

    def _serve(self) -> None:
        self.request_id = str(uuid.uuid4())
        split = urlsplit(self.path)
        self.raw_path = split.path
        self.query = {name.lower(): unquote(value) for name, _, value in
                      (item.partition("=") for item in split.query.split("&") if item)}
        body = self._read_body()
        segments = [unquote(part) for part in self.raw_path.split("/")[1:]]
        account, filesystem, path = ([*segments, "", ""])[0], ([*segments, "", ""])[1], "/".join(segments[2:])
        # Blob-endpoint calls (container operations, blob reads) answer errors in XML, DFS ones in JSON.
        self.blob_style = "restype" in self.query or (
            self.command in ("GET", "HEAD") and path != "" and "action" not in self.query)
        try:
            self._authenticate(account)
            with self.state.lock:
                status, headers, payload = self._dispatch(filesystem, path.rstrip("/"), body)
        except ServiceError as error:
            payload = b"" if self.command == "HEAD" else (
                _xml_error if self.blob_style else _json_error)(error, self.request_id)
            content_type = "application/xml" if self.blob_style else "application/json;charset=utf-8"
            self._respond(error.status, {"x-ms-error-code": error.code, "Content-Type": content_type}, payload)
            return
        self._respond(status, headers, payload)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0], 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _respond(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        headers = {"x-ms-request-id": self.request_id, "x-ms-version": API_VERSION, **headers}
        headers.setdefault("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _authenticate(self, account: str) -> None:
        """SharedKey: the HMAC-SHA256, with the account key, of the canonical request."""
        scheme, _, credential = (self.headers.get("Authorization") or "").partition(" ")
        name, _, signature = credential.partition(":")
        if scheme != "SharedKey" or not signature:
            raise ServiceError(401, "NoAuthenticationInformation",
                               "Server failed to authenticate the request. Please refer to the information "
                               "in the www-authenticate header.")
        if name != self.state.account_name or account != self.state.account_name:
            raise ServiceError(403, "AuthenticationFailed", "The account in the request is not this account.")
        expected = base64.b64encode(hmac.new(base64.b64decode(self.state.account_key),
                                             self._string_to_sign().encode(), hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(expected, signature):
            raise ServiceError(403, "AuthenticationFailed",
                               "Server failed to authenticate the request. Make sure the value of "
                               "Authorization header is formed correctly including the signature.")

    def _string_to_sign(self) -> str:
        standard = []
        for name in SIGNED_HEADERS:
            value = self.headers.get(name, "")
            standard.append("" if name == "content-length" and value == "0" else value)
        ms_headers = sorted((name.lower(), value.strip()) for name, value in self.headers.items()
                            if name.lower().startswith("x-ms-"))
        canonical_headers = "".join(f"{name}:{value}\n" for name, value in ms_headers)
        resource = f"/{self.state.account_name}{self.raw_path}"
        resource += "".join(f"\n{name}:{value}" for name, value in sorted(self.query.items()))
        return "\n".join([self.command, *standard]) + "\n" + canonical_headers + resource

    # ---- operations -----------------------------------------------------------------------------

    def _dispatch(self, filesystem: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if not filesystem:
            raise ServiceError(400, "InvalidUri", "The request URI is invalid.")
        if not path:
            return self._filesystem_operation(filesystem)
        fs = self._filesystem(filesystem)
        if self.command == "PUT" and "x-ms-rename-source" in self.headers:
            return self._rename(fs, path)
        if self.command == "PUT":
            return self._create(fs, path)
        if self.command == "PATCH":
            return self._update(fs, path, body)
        if self.command in ("GET", "HEAD"):
            return self._read(fs, path)
        if self.command == "DELETE":
            return self._delete(fs, path)
        raise ServiceError(405, "UnsupportedHttpVerb", "The resource doesn't support the specified HTTP verb.")

    def _filesystem(self, name: str) -> FileSystem:
        fs = self.state.filesystems.get(name)
        if fs is None:
            code = "ContainerNotFound" if self.blob_style else "FilesystemNotFound"
            raise ServiceError(404, code, "The specified filesystem does not exist.")
        return fs

    def _filesystem_operation(self, name: str) -> tuple[int, dict[str, str], bytes]:
        kind = self.query.get("resource") or self.query.get("restype")
        if kind not in ("filesystem", "container"):
            raise ServiceError(400, "MissingRequiredQueryParameter", "resource=filesystem is required.")
        if self.command == "PUT":
            if name in self.state.filesystems:
                raise ServiceError(409, "ContainerAlreadyExists" if self.blob_style else "FilesystemAlreadyExists",
                                   "The specified filesystem already exists.")
            fs = self.state.filesystems[name] = FileSystem()
            return 201, {"ETag": fs.etag, "Last-Modified": fs.modified}, b""
        fs = self._filesystem(name)
        if self.command == "DELETE":
            del self.state.filesystems[name]
            return 202, {}, b""
        if self.command == "GET" and kind == "filesystem":
            return self._list(fs)
        if self.command in ("GET", "HEAD") and "comp" not in self.query:
            return 200, {"ETag": fs.etag, "Last-Modified": fs.modified, "x-ms-namespace-enabled": "true",
                         "x-ms-lease-state": "available", "x-ms-lease-status": "unlocked"}, b""
        raise ServiceError(400, "UnsupportedQueryParameter", "One of the query parameters is not supported.")

    def _list(self, fs: FileSystem) -> tuple[int, dict[str, str], bytes]:
        directory = self.query.get("directory", "").strip("/")
        if directory and not (directory in fs.paths and fs.paths[directory].is_directory):
            raise ServiceError(404, "PathNotFound", "The specified path does not exist.")
        names = fs.children(directory, self.query.get("recursive", "false").lower() == "true")
        start = int(base64.urlsafe_b64decode(self.query["continuation"])) if "continuation" in self.query else 0
        limit = int(self.query.get("maxresults") or 5000)
        page = names[start:start + limit]
        headers = {"Content-Type": "application/json;charset=utf-8"}
        if start + limit < len(names):
            headers["x-ms-continuation"] = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
        paths = []
        for name in page:
            node = fs.paths[name]
            entry = {"name": name, "contentLength": str(len(node.data)), "lastModified": node.modified,
                     "etag": node.etag.strip('"'), "owner": "$superuser", "group": "$superuser",
                     "permissions": "rwxr-x---"}
            if node.is_directory:
                entry["isDirectory"] = "true"
            paths.append(entry)
        return 200, headers, json.dumps({"paths": paths}).encode()

    def _check_conditions(self, node: Node | None, prefix: str = "") -> None:
        """If-Match / If-None-Match (or their x-ms-source-* forms on a rename's source)."""
        if_match = self.headers.get(f"{prefix}if-match")
        if_none_match = self.headers.get(f"{prefix}if-none-match")
        failed = (if_match is not None and (node is None or if_match not in ("*", node.etag))) or (
            if_none_match is not None and node is not None and if_none_match in ("*", node.etag))
        if failed:
            code = "SourceConditionNotMet" if prefix else "ConditionNotMet"
            raise ServiceError(412, code, "The condition specified using HTTP conditional header(s) is not met.")

    def _make_parents(self, fs: FileSystem, path: str) -> None:
        """Path Create makes missing parent directories; a file in the way is a conflict."""
        parts = path.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            parent = "/".join(parts[:depth])
            node = fs.paths.get(parent)
            if node is None:
                fs.paths[parent] = Node(is_directory=True)
            elif not node.is_directory:
                raise ServiceError(409, "PathConflict", "The specified path, or an element of the path, exists "
                                   "and its resource type is invalid for this operation.")

    def _create(self, fs: FileSystem, path: str) -> tuple[int, dict[str, str], bytes]:
        resource = self.query.get("resource")
        if resource not in ("file", "directory"):
            raise ServiceError(400, "InvalidQueryParameterValue", "resource must be file or directory.")
        existing = fs.paths.get(path)
        self._check_conditions(existing)
        is_directory = resource == "directory"
        if existing is not None and existing.is_directory != is_directory:
            raise ServiceError(409, "PathConflict", "The specified path exists and its resource type is invalid "
                               "for this operation.")
        self._make_parents(fs, path)
        if existing is not None and is_directory:
            existing.touch()  # a directory keeps its children
            node = existing
        else:
            node = fs.paths[path] = Node(is_directory=is_directory)  # a file starts again, empty
        return 201, {"ETag": node.etag, "Last-Modified": node.modified, "Content-Length": "0"}, b""

    def _rename(self, fs: FileSystem, path: str) -> tuple[int, dict[str, str], bytes]:
        source = urlsplit(self.headers["x-ms-rename-source"]).path  # a SAS may follow the path
        source_segments = [unquote(part) for part in source.split("/")[1:]]
        source_fs = self._filesystem(source_segments[0]) if source_segments else fs
        source_path = "/".join(source_segments[1:]).rstrip("/")
        node = source_fs.paths.get(source_path)
        if node is None:
            raise ServiceError(404, "SourcePathNotFound", "The source path for a rename operation does not exist.")
        self._check_conditions(node, prefix="x-ms-source-")
        existing = fs.paths.get(path)
        self._check_conditions(existing)
        parent = path.rpartition("/")[0]
        if parent and not (parent in fs.paths and fs.paths[parent].is_directory):
            raise ServiceError(404, "RenameDestinationParentPathNotFound",
                               "The parent directory of the destination path does not exist.")
        if source_fs is fs and (path == source_path or path.startswith(source_path + "/")):
            raise ServiceError(409, "InvalidRenameSourcePath", "The source directory cannot be the same as the "
                               "destination directory, nor can the destination be a subdirectory of the source.")
        if existing is not None and (existing.is_directory or node.is_directory):
            raise ServiceError(409, "PathAlreadyExists" if existing.is_directory == node.is_directory
                               else "InvalidSourceOrDestinationResourceType", "The destination cannot be replaced.")
        moved = [source_path, *source_fs.children(source_path, recursive=True)] if node.is_directory else [source_path]
        for name in moved:
            fs.paths[path + name[len(source_path):]] = source_fs.paths.pop(name)
        node.touch()
        return 201, {"ETag": node.etag, "Last-Modified": node.modified, "Content-Length": "0"}, b""

    def _update(self, fs: FileSystem, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        node = fs.paths.get(path)
        if node is None:
            raise ServiceError(404, "PathNotFound", "The specified path does not exist.")
        if node.is_directory:
            raise ServiceError(409, "ResourceTypeMismatch",
                               "The resource type does not match the type of the resource.")
        action, position = self.query.get("action"), int(self.query.get("position", "-1"))
        if action == "append":
            if position < len(node.data):
                raise ServiceError(400, "InvalidFlushPosition", "The uploaded data is not contiguous.")
            node.pending[position] = body
            return 202, {}, b""
        if action == "flush":
            self._check_conditions(node)
            data = bytearray(node.data)
            for offset in sorted(node.pending):
                if offset != len(data):
                    break
                data += node.pending[offset]
            if position != len(data):
                raise ServiceError(400, "InvalidFlushPosition", "The uploaded data is not contiguous or the position "
                                   "query parameter value is not equal to the length of the file after appending "
                                   "the uploaded data.")
            node.data, node.pending = bytes(data), {}
            node.touch()
            return 200, {"ETag": node.etag, "Last-Modified": node.modified, "Content-Length": "0"}, b""
        raise ServiceError(400, "InvalidQueryParameterValue", "action must be append or flush.")

    def _read(self, fs: FileSystem, path: str) -> tuple[int, dict[str, str], bytes]:
        node = fs.paths.get(path)
        if node is None:
            raise ServiceError(404, "BlobNotFound" if self.blob_style else "PathNotFound",
                               "The specified path does not exist.")
        self._check_conditions(node)
        headers = {"ETag": node.etag, "Last-Modified": node.modified, "x-ms-creation-time": node.created,
                   "x-ms-resource-type": "directory" if node.is_directory else "file",
                   "x-ms-blob-type": "BlockBlob", "x-ms-lease-state": "available", "x-ms-lease-status": "unlocked",
                   "x-ms-server-encrypted": "true", "Accept-Ranges": "bytes",
                   "Content-Type": "application/octet-stream"}
        if node.is_directory:
            headers["x-ms-meta-hdi_isfolder"] = "true"
        size = len(node.data)
        range_header = self.headers.get("x-ms-range") or self.headers.get("Range")
        if self.command == "HEAD" or not range_header:
            return 200, {**headers, "Content-Length": str(size)}, b"" if self.command == "HEAD" else node.data
        first, _, last = range_header.removeprefix("bytes=").partition("-")
        start, end = int(first), min(int(last) if last else size - 1, size - 1)
        if start >= size:
            raise ServiceError(416, "InvalidRange",
                               "The range specified is invalid for the current size of the resource.")
        return 206, {**headers, "Content-Range": f"bytes {start}-{end}/{size}"}, node.data[start:end + 1]

    def _delete(self, fs: FileSystem, path: str) -> tuple[int, dict[str, str], bytes]:
        node = fs.paths.get(path)
        if node is None:
            raise ServiceError(404, "PathNotFound", "The specified path does not exist.")
        self._check_conditions(node)
        children = fs.children(path, recursive=True) if node.is_directory else []
        if children and self.query.get("recursive", "false").lower() != "true":
            raise ServiceError(409, "DirectoryNotEmpty",
                               "The recursive query parameter value must be true to delete a non-empty directory.")
        for name in [path, *children]:
            del fs.paths[name]
        return 200, {}, b""


@contextmanager
def dfs_server(account_key: str | None = None) -> Iterator[DfsServer]:
    """Serve a fresh in-memory account on a free loopback port until the context ends."""
    state = DfsServer(port=0, account_key=account_key or base64.b64encode(os.urandom(64)).decode())
    handler = type("Handler", (_Handler,), {"state": state})
    httpd = ThreadingHTTPServer((state.host, 0), handler)
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, name="dfs-test-server", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
