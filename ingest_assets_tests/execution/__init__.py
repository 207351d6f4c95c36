"""Execution tests: assets materialized in-process and through the Dagster CLI on real files, SQLite, DuckDB and PostgreSQL."""
