"""Integration tests: real servers and tools (PostgreSQL, MariaDB, Azurite, the ingest CLI, the webserver); SQL Server only live."""
