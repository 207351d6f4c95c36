"""SQL databases as stores: PostgreSQL, SQL Server, MySQL / MariaDB, SQLite and any SQLAlchemy URL.

One module a role: `dialects` (what each database can do, as data), `names` (where a target lands),
`types` (Arrow to SQL column types), `ddl` (create and evolve tables), `statements` (the apply
statements of each write mode), `load` (staged Parquet into a staging table), `errors` (driver errors
as transient or terminal), `store` (the `Store` protocol, one transaction per commit).
"""
