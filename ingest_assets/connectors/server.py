"""What the database server types share (postgres, mssql, mysql): an address given as a full `url`,
or as host/port/database/user/password, and the SQLAlchemy URL made of it at run time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Self

from pydantic import Field, PositiveInt, field_validator, model_validator

from ingest_assets.config.references import referenced_names, resolve_references
from ingest_assets.connectors.database import LOGIN_FIX, DatabaseResource, DatabaseSettings, require_url_references
from ingest_assets.connectors.resource import resolved
from ingest_assets.connectors.settings import Secret

if TYPE_CHECKING:
    import sqlalchemy


class ServerSettings(DatabaseSettings):
    """A database server: either a full `url`, or host/port/database/user/password."""

    url: str | None = None
    host: str | None = None
    port: PositiveInt | None = None
    database: str | None = None
    user: str | None = None
    password: Annotated[str | None, Secret()] = None

    @field_validator("url")
    @classmethod
    def _no_password_in_url(cls, value: str | None) -> str | None:
        require_url_references(value)
        return value

    @model_validator(mode="after")
    def _address_given(self) -> Self:
        if self.url is None and (self.host is None or self.database is None):
            raise ValueError(
                "missing address -> set 'host:' and 'database:' (with user/password), or a full 'url:'"
            )
        if self.url is not None and self.host is not None:
            raise ValueError("both 'url:' and 'host:' are set -> keep one of them")
        return self


class ServerResource(DatabaseResource):
    url: str | None = None
    host: str | None = None
    port: int | None = None
    database: str | None = None
    user: str | None = None
    password: str | None = Field(default=None, description="A ${VAR} reference, resolved at run time.")

    def login_fix(self) -> str:
        """The settings a refused login comes from, by the variables they read (the secret is never shown)."""
        if self.url is not None:
            return "check the user and password in 'url:'" + _reading(referenced_names(self.url))
        password = referenced_names(self.password or "")
        if not password:  # no password (another credential), or one given directly (not from the YAML)
            return LOGIN_FIX
        return f"check 'user:', and that {_variables(password)} (what 'password:' reads) holds that user's password"

    def _url(self, drivername: str, query: dict[str, str] | None = None) -> sqlalchemy.URL:
        import sqlalchemy

        if self.url is not None:
            url = sqlalchemy.make_url(resolve_references(self.url, secret=True)).set(drivername=drivername)
            return url.update_query_dict(query or {})
        host = resolved(self.host)
        query = dict(query or {})
        if host and host.startswith("/"):
            # A unix socket folder goes in the query string, where libpq and the drivers look for it.
            query["host"] = host
            if self.port:
                query["port"] = str(self.port)
            host, port = None, None
        else:
            port = self.port
        return sqlalchemy.URL.create(
            drivername, username=resolved(self.user), password=resolved(self.password, secret=True),
            host=host, port=port, database=resolved(self.database), query=query,
        )


def _variables(names: list[str]) -> str:
    return ", ".join(f"${{{name}}}" for name in dict.fromkeys(names))


def _reading(names: list[str]) -> str:
    return f" (it reads {_variables(names)})" if names else ""
