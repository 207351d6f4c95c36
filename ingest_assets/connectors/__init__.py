"""The connection types: one module per type (or family of aliases), each declaring its settings model,
its Dagster resource, its `ConnectorType` and its `ingest check`, registered as an entry point.

Shared by the types: `settings` (the settings base, secret markers), `resource` (the resource base,
made from settings by one rule), `check` (what a check reports), `connector_type` (capabilities),
`database` / `server` / `azure_storage` (families' bases). `plugins` discovers and validates every
registered type, built-in or not; `registry` answers what a type can do.
"""
