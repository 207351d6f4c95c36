"""SQL text with its values kept apart, until one engine renders it.

A statement is literal text (keywords, quoted names, a user's query) with `Value`s between the text.
Rendering names each value once, `<prefix>_<n>` in order of first appearance (one value written three
times is one parameter), and writes it the way the engine binds it: `:name` for SQLAlchemy, `$name`
for DuckDB, a setting read back for PostgreSQL's COPY path. So values are bound, never pasted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True, eq=False)  # by identity: two equal values are still two parameters
class Value:
    """A bound value, and the column it is compared with (which decides the type it is bound as)."""

    value: object
    column: str | None = None


Piece = str | Value
# (the value's name, the value) -> the SQL that stands for it
Placeholder = Callable[[str, Value], str]


def _unchanged(text: str) -> str:
    return text


@dataclass(frozen=True)
class Rendered:
    text: str
    values: dict[str, Value] = field(default_factory=dict)  # by name, in order of first appearance

    @property
    def parameters(self) -> dict[str, object]:
        return {name: value.value for name, value in self.values.items()}


@dataclass(frozen=True)
class Sql:
    pieces: tuple[Piece, ...] = ()

    @classmethod
    def of(cls, *parts: Sql | Piece) -> Sql:
        """The parts one after the other."""
        pieces: list[Piece] = []
        for part in parts:
            pieces.extend(part.pieces if isinstance(part, Sql) else (part,))
        return cls(tuple(piece for piece in pieces if piece != ""))

    def __bool__(self) -> bool:
        return bool(self.pieces)

    def join(self, parts: Iterable[Sql]) -> Sql:
        """The parts with this statement between them, as `str.join`."""
        joined: list[Sql] = []
        for part in parts:
            joined.extend((self, part) if joined else (part,))
        return Sql.of(*joined)

    def render(self, placeholder: Placeholder, literal: Callable[[str], str] = _unchanged,
               prefix: str = "ingest") -> Rendered:
        """The text, with `literal` applied to the text pieces and each value written by `placeholder`."""
        written: dict[Value, str] = {}
        values: dict[str, Value] = {}
        parts: list[str] = []
        for piece in self.pieces:
            if isinstance(piece, str):
                parts.append(literal(piece))
                continue
            if piece not in written:
                name = f"{prefix}_{len(values) + 1}"
                values[name] = piece
                written[piece] = placeholder(name, piece)
            parts.append(written[piece])
        return Rendered("".join(parts), values)

    def literal_text(self) -> str:
        """The text of a statement that binds no value."""
        assert not any(isinstance(piece, Value) for piece in self.pieces), "a statement with values is rendered"
        return "".join(piece for piece in self.pieces if isinstance(piece, str))


def duckdb_text(sql: Sql) -> tuple[str, dict[str, object]]:
    """DuckDB's text and parameters: values as `$name`."""
    rendered = sql.render(lambda name, value: f"${name}")
    return rendered.text, rendered.parameters
