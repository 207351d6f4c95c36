"""Row filters as pyarrow dataset expressions, typed to the column they compare."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from ingest_assets.errors import SourceColumnMissing
from ingest_assets.plan.window import RowFilter


def filter_expression(row_filter: RowFilter | None, schema: pa.Schema, source: str) -> ds.Expression | None:
    if row_filter is None:
        return None
    if row_filter.column not in schema.names:
        raise SourceColumnMissing(column=row_filter.column, source=source, available=schema.names)
    column_type = schema.field(row_filter.column).type
    field = pc.field(row_filter.column)
    expression = None
    if row_filter.lower is not None:
        lower = pa.scalar(row_filter.lower, type=column_type)
        expression = (field >= lower) if row_filter.lower_inclusive else (field > lower)
    if row_filter.upper is not None:
        upper = pa.scalar(row_filter.upper, type=column_type)
        upper_expression = (field <= upper) if row_filter.upper_inclusive else (field < upper)
        expression = upper_expression if expression is None else expression & upper_expression
    if expression is not None and row_filter.include_nulls:
        expression = expression | field.is_null()
    return expression
