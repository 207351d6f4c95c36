"""The error classes, one module per group of causes. Import them from `ingest_assets.errors`, the
public surface, which lists the whole hierarchy."""
