"""A real PostgreSQL server for tests and benchmarks, from the `pgserver` wheel (no system packages).

It listens on a unix socket in its own folder and is deleted when the context ends. Each test gets
its own database (`create_database`), so tests never see each other's tables.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg


@dataclass(frozen=True)
class PostgresServer:
    socket_dir: str
    user: str = "postgres"

    def uri(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@/{database}?host={self.socket_dir}"

    def connect(self, database: str = "postgres", autocommit: bool = True) -> psycopg.Connection:
        return psycopg.connect(self.uri(database), autocommit=autocommit)

    def execute(self, database: str, sql: str, params: Any = None) -> list[tuple]:
        with self.connect(database) as connection, connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def create_database(self, name: str) -> str:
        with self.connect() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{name}"')
        return name

    def connection_yaml(self, database: str, **settings: object) -> str:
        """A `connections:` entry (indented for ingest.yml) reaching `database` on this server."""
        lines = ["type: postgres", f"host: {self.socket_dir}", f"database: {database}", f"user: {self.user}"]
        lines += [f"{key}: {value}" for key, value in settings.items()]
        return "\n".join("    " + line for line in lines)


@contextmanager
def postgres_server(directory: Path | None = None) -> Iterator[PostgresServer]:
    folder = Path(directory or tempfile.mkdtemp(prefix="ingest-pg-"))
    if "XDG_RUNTIME_DIR" not in os.environ:
        # platformdirs (used by pgserver) warns when it is unset, as on a CI machine; it wants 0700.
        runtime = folder / "runtime"
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    import pgserver

    server = pgserver.get_server(folder / "data", cleanup_mode="delete")
    try:
        yield PostgresServer(socket_dir=_socket_dir(server.get_uri()))
    finally:
        server.cleanup()


def _socket_dir(uri: str) -> str:
    return uri.split("host=", 1)[1].split("&", 1)[0]
