"""Definitions tests: fixture projects loaded into Dagster Definitions (keys, checks, jobs, sensors, code versions, plugins)."""
