"""Azure AD (Entra ID) credentials from azure-identity, for SQL Server today and Azure storage later.

Secrets (a client secret) arrive as `${VAR}` references already resolved by the caller; nothing here
reads YAML or logs a token.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from ingest_assets.errors import AuthLibraryMissing, AzureTokenUnavailable

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

SQL_SCOPE = "https://database.windows.net/.default"
# msodbcsql's pre-connect attribute that takes an access token instead of a password.
SQL_COPT_SS_ACCESS_TOKEN = 1256


def credential(
    method: str, tenant_id: str | None = None, client_id: str | None = None, client_secret: str | None = None
) -> TokenCredential:
    try:
        from azure import identity
    except ImportError as error:
        raise AuthLibraryMissing(method=method, extra="mssql") from error
    if method == "managed_identity":
        return identity.ManagedIdentityCredential(client_id=client_id) if client_id else identity.ManagedIdentityCredential()
    if method == "azure_cli":
        return identity.AzureCliCredential(tenant_id=tenant_id) if tenant_id else identity.AzureCliCredential()
    if method == "service_principal":
        assert tenant_id and client_id and client_secret, "validated when the project loads"
        return identity.ClientSecretCredential(tenant_id, client_id, client_secret)
    if method == "azure_default":
        return identity.DefaultAzureCredential()
    raise ValueError(f"unknown Azure authentication method {method!r}")


def sql_server_token(source: TokenCredential) -> bytes:
    """An access token packed as the ODBC driver expects it: a length-prefixed UTF-16-LE string."""
    try:
        token = source.get_token(SQL_SCOPE).token
    except Exception as error:  # azure-identity raises several unrelated types; all mean "no token"
        raise AzureTokenUnavailable(reason=str(error)) from error
    encoded = token.encode("utf-16-le")
    return struct.pack(f"<I{len(encoded)}s", len(encoded), encoded)
