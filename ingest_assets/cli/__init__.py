"""The `ingest` command: what Dagster's own CLI does not do (start, check and preview a project).

Running is Dagster's: `dagster asset materialize`, the UI, schedules and sensors.
"""
