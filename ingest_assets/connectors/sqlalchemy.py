"""`sqlalchemy`: any database SQLAlchemy can reach by URL, secrets as `${VAR}` references inside it."""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from ingest_assets.config.references import resolve_references
from ingest_assets.connectors.database import DatabaseResource, DatabaseSettings, require_url_references, sql_database


class SqlAlchemyConnection(DatabaseSettings):
    """Any database SQLAlchemy can reach; secrets as `${VAR}` references in the URL."""

    type: Literal["sqlalchemy"]
    url: str

    @field_validator("url")
    @classmethod
    def _no_password_in_url(cls, value: str) -> str:
        require_url_references(value)
        return value


class SqlAlchemyResource(DatabaseResource):
    """Any SQLAlchemy database URL; secrets as `${VAR}` references inside it."""

    url: str

    def sqlalchemy_url(self) -> str:
        return resolve_references(self.url, secret=True)  # a password is part of it


SQLALCHEMY = sql_database("sqlalchemy", SqlAlchemyResource, SqlAlchemyConnection, dagster_kind="sql")
