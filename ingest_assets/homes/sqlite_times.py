"""How SQLite's text datetimes are compared with a bound time.

SQLite has no time type: a DATETIME column holds text, and text compares as text. SQLAlchemy binds a
time as '2025-01-03 02:00:00.000000', but rows written by other programs hold other ISO 8601 forms:
Python's `isoformat()` ('2025-01-03T02:00:00', fractions only when not zero), JavaScript's
`toISOString()` ('2025-01-03T02:00:00.000Z'), or an offset ('2025-01-03T03:00:00+01:00'). Compared as
text, 'T' sorts after ' ', so the rows of a window's last day would be left behind a cursor that records
their maximum. The column is therefore compared as SQLite's own time functions read it, in UTC, with
the fraction padded to microseconds: the form SQLAlchemy binds.

Text those functions cannot read (ISO's basic form '20260304T050608', a locale's '03/04/2026') would
drop out of every window as NULL: the maximum, which every watermark load asks first, refuses it.
"""

from __future__ import annotations

DIGITS = "0123456789"


def compared_as_bound(column: str) -> str:
    """`column` (quoted) as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC; NULL for NULL or unreadable text."""
    # The fraction starts after 'YYYY-MM-DDTHH:MM:SS' (19 characters) and ends before a zone.
    after_seconds = f"substr({column}, 21)"
    fraction_digits = f"length({after_seconds}) - length(ltrim({after_seconds}, '{DIGITS}'))"
    fraction = f"iif(substr({column}, 20, 1) = '.', substr({column}, 21, {fraction_digits}), '')"
    return f"(strftime('%Y-%m-%d %H:%M:%S', {column}) || '.' || substr({fraction} || '000000', 1, 6))"


def first_unreadable(column: str) -> str:
    """A condition true for a value of `column` (quoted) SQLite's time functions cannot read."""
    return f"{column} IS NOT NULL AND strftime('%s', {column}) IS NULL"


def unreadable_fix(value: object) -> str:
    return (f"SQLite's time functions cannot read {value!r} as a time, so a window could not compare it -> "
            "write the times as ISO 8601 ('YYYY-MM-DD HH:MM:SS[.ffffff]', a 'T' and a zone allowed), "
            "or read a query that converts them")
