"""Audit columns added to every row of a load: load time, run id, and a row hash.

The row hash is the hex MD5 of a JSON array of the chosen columns' text (as DuckDB renders each
value, timestamps in UTC; NULL stays `null`), so equal rows hash alike in every run and a NULL is
never confused with an empty string. It is meant for downstream de-duplication (mkpipe's
`mkpipe_id`), not for security.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import pyarrow as pa

from ingest_assets.errors import AuditColumnClash, RowHashColumnsMissing
from ingest_assets.plan.model import AuditPlan
from ingest_assets.sql.text import quote_identifier

if TYPE_CHECKING:
    import duckdb


class AuditColumns:
    def __init__(self, plan: AuditPlan, run_id: str, loaded_at: datetime) -> None:
        self._plan = plan
        self._run_id = run_id
        self._loaded_at = loaded_at
        self._hash_sql: str | None = None
        self._connection: duckdb.DuckDBPyConnection | None = None

    def schema(self, source: pa.Schema) -> pa.Schema:
        """The source's columns followed by the audit columns."""
        clashes = [name for name in self._plan.columns if name in source.names]
        if clashes:
            raise AuditColumnClash(column=clashes[0])
        fields = list(source)
        if self._plan.loaded_at:
            fields.append(pa.field(self._plan.loaded_at, pa.timestamp("us", tz="UTC")))
        if self._plan.run_id:
            fields.append(pa.field(self._plan.run_id, pa.string()))
        if self._plan.row_hash:
            hashed = self._plan.row_hash.columns or tuple(source.names)
            missing = [name for name in hashed if name not in source.names]
            if missing:
                raise RowHashColumnsMissing(columns=missing, available=source.names)
            texts = ", ".join(f"CAST({quote_identifier(name)} AS VARCHAR)" for name in hashed)
            self._hash_sql = f"SELECT md5(to_json([{texts}])) AS h FROM batch"
            fields.append(pa.field(self._plan.row_hash.column, pa.string()))
        return pa.schema(fields)

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if not self._plan.columns:
            return batch
        columns, names = list(batch.columns), list(batch.schema.names)
        if self._plan.loaded_at:
            columns.append(pa.repeat(pa.scalar(self._loaded_at, pa.timestamp("us", tz="UTC")), batch.num_rows))
            names.append(self._plan.loaded_at)
        if self._plan.run_id:
            columns.append(pa.repeat(pa.scalar(self._run_id, pa.string()), batch.num_rows))
            names.append(self._plan.run_id)
        if self._plan.row_hash:
            columns.append(self._row_hashes(batch))
            names.append(self._plan.row_hash.column)
        return pa.RecordBatch.from_arrays(columns, names=names)

    def _row_hashes(self, batch: pa.RecordBatch) -> pa.Array[pa.Scalar[pa.DataType]]:
        import duckdb

        assert self._hash_sql is not None, "schema() decides the hashed columns first"
        if self._connection is None:
            self._connection = duckdb.connect()
            self._connection.execute("SET TimeZone = 'UTC'")
        self._connection.register("batch", batch)
        try:
            hashes: pa.Table = self._connection.sql(self._hash_sql).to_arrow_table()  # duckdb types it Any
            return hashes.column(0).combine_chunks().cast(pa.string())
        finally:
            self._connection.unregister("batch")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
