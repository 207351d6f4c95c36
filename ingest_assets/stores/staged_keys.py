"""Write keys of a staged load: no nulls, and one row per key before an upsert or merge applies it.

The rule for several rows with one key in a load: the row with the highest `latest_by` value (the
entity's watermark) wins. Without that column, or when two rows tie on it, no row can be called the
latest, so the load fails before anything is written instead of picking one by read order.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ingest_assets.errors import LatestRowTied, NullWriteKey, WriteKeyNotUnique
from ingest_assets.sql.text import parquet_files, quote_identifier
from ingest_assets.stores.staging import ROW_GROUP_ROWS, ParquetStage, parquet_rows

if TYPE_CHECKING:
    import pyarrow as pa


def resolve_duplicate_keys(
    files: list[Path], schema: pa.Schema, keys: tuple[str, ...], latest_by: str | None, label: str, output: Path,
    token: str,
) -> tuple[list[Path], int]:
    """The staged files to apply (rewritten into `output` only when keys repeat) and the rows dropped.

    `token` names the rewritten files: unique per run, since a store keeps staged file names.
    """
    import duckdb

    staged = parquet_files(files)
    key_list = ", ".join(quote_identifier(k) for k in keys)
    # Lossless: the latest rows read back keep their Arrow types (UUIDs as arrow.uuid, not text).
    with duckdb.connect(config={"arrow_lossless_conversion": True}) as connection:
        null_checks = " OR ".join(f"{quote_identifier(k)} IS NULL" for k in keys)
        null_rows = connection.sql(f"SELECT count(*) FROM {staged} WHERE {null_checks}").fetchall()[0][0]
        if null_rows:
            raise NullWriteKey(label=label, keys=keys, rows=null_rows)
        repeated = connection.sql(
            f"SELECT {key_list}, count(*) AS n FROM {staged} GROUP BY ALL HAVING count(*) > 1 "
            "ORDER BY n DESC LIMIT 1"
        ).fetchall()
        if not repeated:
            return files, 0
        example = _describe_key(keys, repeated[0][:-1])
        if latest_by is None:
            raise WriteKeyNotUnique(label=label, keys=keys, example=example, count=repeated[0][-1])
        latest = quote_identifier(latest_by)
        ties = connection.sql(
            f"SELECT {key_list} FROM (SELECT {key_list}, {latest} FROM {staged} "
            f"QUALIFY {latest} = max({latest}) OVER (PARTITION BY {key_list})) "
            f"GROUP BY ALL HAVING count(*) > 1 LIMIT 1"
        ).fetchall()
        if ties:
            raise LatestRowTied(label=label, keys=keys, example=_describe_key(keys, ties[0]), latest_by=latest_by)
        total = connection.sql(f"SELECT count(*) FROM {staged}").fetchall()[0][0]
        latest_rows = connection.sql(
            f"SELECT * FROM {staged} QUALIFY row_number() OVER (PARTITION BY {key_list} ORDER BY {latest} DESC) = 1"
        )
        stage = ParquetStage(output, schema, token, label)
        # Through Arrow, so the rewritten file keeps the staged Arrow types exactly.
        for batch in latest_rows.to_arrow_reader(ROW_GROUP_ROWS):
            stage.write(batch)
        kept_files = stage.finish()
    return kept_files, total - parquet_rows(kept_files)


def _describe_key(keys: tuple[str, ...], values: tuple[object, ...]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in zip(keys, values, strict=True))
