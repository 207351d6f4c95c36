"""A real MariaDB server for tests, from Debian's `mariadb-server` (see `.ci/system-packages`).

It runs in its own temporary folder on a free loopback port, as the `mysql` user when started by root
(mariadbd refuses to run as root), and is stopped by its process id and deleted when the context ends.
Each test gets its own database (`create_database`), so tests never see each other's tables.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pymysql

from ingest_assets_tests.servers.processes import free_port, running

STARTUP_SECONDS = 30
# The ODBC driver name Debian's odbc-mariadb registers (`odbcinst -q -d`).
ODBC_DRIVER = "MariaDB Unicode"


@dataclass(frozen=True)
class MariaDBServer:
    port: int
    host: str = "127.0.0.1"
    user: str = "root"

    def connect(self, database: str | None = None) -> pymysql.Connection:
        return pymysql.connect(host=self.host, port=self.port, user=self.user, database=database,
                               autocommit=True, charset="utf8mb4")

    def execute(self, database: str | None, sql: str, params: Any = None) -> list[tuple]:
        with self.connect(database) as connection, connection.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []

    def executemany(self, database: str, sql: str, rows: list[tuple]) -> None:
        with self.connect(database) as connection, connection.cursor() as cursor:
            cursor.executemany(sql, rows)

    def create_database(self, name: str) -> str:
        self.execute(None, f"DROP DATABASE IF EXISTS `{name}`")
        self.execute(None, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        return name

    def connection_yaml(self, database: str, **settings: object) -> str:
        """A `connections:` entry (indented for ingest.yml) reaching `database` through PyMySQL."""
        lines = ["type: mariadb", f"host: {self.host}", f"port: {self.port}", f"database: {database}",
                 f"user: {self.user}"]
        lines += [f"{key}: {value}" for key, value in settings.items()]
        return "\n".join("    " + line for line in lines)

    def odbc_connection_string(self, database: str, user: str | None = None, password: str | None = None) -> str:
        parts = [f"DRIVER={{{ODBC_DRIVER}}}", f"SERVER={self.host}", f"PORT={self.port}",
                 f"DATABASE={database}", f"UID={user or self.user}"]
        return ";".join(parts + ([f"PWD={password}"] if password is not None else []))

    def pyodbc_url(self, database: str) -> str:
        """A `mysql+pyodbc` SQLAlchemy URL. `odbc_connect` is given whole: from host and port the
        dialect would build SQL Server's `SERVER=host,port`, which MariaDB's driver does not read."""
        return "mysql+pyodbc:///?odbc_connect=" + quote_plus(self.odbc_connection_string(database))


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if found is None:
        raise RuntimeError(f"{name} is not installed -> run .ci/system-packages "
                           "(Debian: apt-get install mariadb-server odbc-mariadb)")
    return found


@contextmanager
def mariadb_server() -> Iterator[MariaDBServer]:
    # Its own folder under the system temp dir: pytest's folders are private to root, and the server
    # runs as `mysql`.
    folder = Path(tempfile.mkdtemp(prefix="ingest-mariadb-"))
    user_option = ["--user=mysql"] if os.geteuid() == 0 else []
    if user_option:
        shutil.chown(folder, "mysql", "mysql")
    data = folder / "data"
    try:
        subprocess.run([_binary("mariadb-install-db"), "--no-defaults", f"--datadir={data}", *user_option,
                        "--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve"],
                       check=True, capture_output=True, timeout=120)
        server = MariaDBServer(port=free_port())
        log = folder / "server.log"
        command = [_binary("mariadbd"), "--no-defaults", f"--datadir={data}", *user_option,
                   f"--port={server.port}", f"--bind-address={server.host}", f"--socket={folder / 'mysqld.sock'}",
                   f"--pid-file={folder / 'mysqld.pid'}", "--skip-log-bin", "--skip-name-resolve",
                   # A throwaway server: small memory, no flush per commit.
                   "--innodb-buffer-pool-size=64M", "--innodb-flush-log-at-trx-commit=0"]
        with running("mariadbd", command, log, lambda: _answers(server), STARTUP_SECONDS, 30):
            yield server
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _answers(server: MariaDBServer) -> bool:
    try:
        server.connect().close()
        return True
    except pymysql.err.OperationalError:
        return False
