"""Where delta-rs finds a table in Azure storage: its `abfss://` URI and `storage_options`.

The connection's Azure settings (`AzureLocation`, the ones `adls` and `open_mirroring` have) are
translated here, in one place, into the options of delta-rs' object store: the account and its key,
a SAS token, a service principal, the Azure CLI's sign-in, managed identity, OneLake's endpoint, and
a custom endpoint (Azurite, path-style over http) when the account URL is not Azure's own.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ingest_assets.errors import DeltaSignInUnsupported
from ingest_assets.storage.azure import AzureLocation, account_name

# Hosts whose accounts delta-rs addresses by name; any other host is a custom endpoint (Azurite).
_AZURE_SUFFIXES = (".core.windows.net", ".fabric.microsoft.com")
_ONELAKE_SUFFIX = ".fabric.microsoft.com"


def table_uri(location: AzureLocation, path: str) -> str:
    """`abfss://<file system>@<account>.dfs.<suffix>/<path>`, the form Fabric and Spark show too."""
    host = _dfs_host(location)
    return f"abfss://{location.filesystem}@{host}/{path.strip('/')}"


def storage_options(location: AzureLocation) -> dict[str, str]:
    """delta-rs' options for `location`; secrets stay in this dict, never in the URI or a message."""
    url = _account_url(location)
    options: dict[str, str] = {"account_name": account_name(url)}
    host = urlsplit(url).hostname or ""
    if host.endswith(_ONELAKE_SUFFIX):
        options["use_fabric_endpoint"] = "true"
    elif not host.endswith(_AZURE_SUFFIXES):
        options["azure_storage_endpoint"] = url.rstrip("/")
        if url.startswith("http://"):
            options["allow_http"] = "true"
    options.update(_credential_options(location))
    return options


def _credential_options(location: AzureLocation) -> dict[str, str]:
    kind = location.credential
    if kind in ("account_key", "connection_string"):
        key = location.account_key or _connection_string_part(location, "AccountKey")
        return {"account_key": key}
    if kind == "sas":
        assert location.sas_token, "validated when the project loads"
        return {"sas_key": location.sas_token.lstrip("?")}
    if kind == "service_principal":
        assert location.tenant_id and location.client_id and location.client_secret, "validated when the project loads"
        return {"tenant_id": location.tenant_id, "client_id": location.client_id,
                "client_secret": location.client_secret}
    if kind == "azure_cli":
        return {"use_azure_cli": "true"}
    if kind == "managed_identity":
        # The object store asks the instance metadata endpoint when no secret is given; a client id
        # picks a user-assigned identity.
        return {"client_id": location.client_id} if location.client_id else {}
    if kind == "azure_default":
        return {}  # environment variables (AZURE_CLIENT_ID, ...), then managed identity
    raise DeltaSignInUnsupported(problem=f"credential {kind!r} is not one delta-rs can use",
                                 fix="use account_key, sas, service_principal, azure_cli, managed_identity or "
                                     "azure_default")


def _account_url(location: AzureLocation) -> str:
    if location.account_url:
        return location.account_url
    endpoint = _connection_string_part(location, "BlobEndpoint", required=False)
    if endpoint:
        return endpoint
    name = _connection_string_part(location, "AccountName")
    return f"https://{name}.blob.core.windows.net"


def _dfs_host(location: AzureLocation) -> str:
    url = _account_url(location)
    host = urlsplit(url).hostname or ""
    if host.endswith(_AZURE_SUFFIXES):
        return host.replace(".blob.", ".dfs.", 1)
    # A custom endpoint: the URI names the account; `azure_storage_endpoint` says where it is.
    return f"{account_name(url)}.dfs.core.windows.net"


def _connection_string_part(location: AzureLocation, name: str, required: bool = True) -> str:
    parts = dict(part.split("=", 1) for part in (location.connection_string or "").split(";") if "=" in part)
    value = parts.get(name, "")
    if required and not value:
        raise DeltaSignInUnsupported(problem=f"connection string has no {name}",
                                     fix=f"give {name}=... in it, or use account_url and account_key")
    return value
