"""Terminal causes in an entity's transform: a step that cannot be called, returns the wrong thing,
or fails. `step` is the step's description (`TransformStep.describe()`); nothing was committed."""

from __future__ import annotations

from collections.abc import Sequence

from ingest_assets.causes.base import TerminalError


class TransformError(TerminalError):
    """A transform step cannot run, or fails on the rows it is given."""

    step: str


class TransformFunctionMissing(TransformError):
    """A Python step's `function` is not a callable of its module or file."""

    def __init__(self, *, step: str, function: str, module: str) -> None:
        self.step, self.function, self.module = step, function, module
        super().__init__(f"{step}: {function!r} is not a function of {module} -> name a function defined there")


class TransformSignatureMismatch(TransformError):
    """A Python step's function cannot be called with one batch and the step's `params`."""

    def __init__(self, *, step: str, function: str, params: Sequence[str], reason: str) -> None:
        self.step, self.function, self.params, self.reason = step, function, tuple(params), reason
        given = f"params {', '.join(self.params)}" if self.params else "no params"
        super().__init__(f"{step} cannot be called with one batch and {given} ({reason}) -> define it as "
                         f"def {function}(batch{''.join(', ' + n for n in self.params)}) (params arrive as "
                         "keyword arguments)")


class TransformInputUnsupported(TransformError):
    """A Python step's first parameter is annotated with a type no batch is converted to."""

    def __init__(self, *, step: str, annotation: object, accepted: str) -> None:
        self.step, self.annotation, self.accepted = step, annotation, accepted
        super().__init__(f"{step}: its first parameter is annotated {annotation!s} -> annotate it as {accepted}")


class TransformResultUnsupported(TransformError):
    """A Python step returned something that is not a table (`kind`), for `what` (a batch, ...)."""

    def __init__(self, *, step: str, kind: str, what: str, accepted: str) -> None:
        self.step, self.kind, self.what, self.accepted = step, kind, what, accepted
        super().__init__(f"{step} returned {kind} for {what} -> return {accepted}; nothing was committed")


class TransformColumnsChanged(TransformError):
    """A Python step returned other columns for a batch than for the empty batch that fixed its schema."""

    def __init__(self, *, step: str, batch_number: int, difference: str) -> None:
        self.step, self.batch_number, self.difference = step, batch_number, difference
        super().__init__(
            f"{step} returned other columns for batch {batch_number} than for an empty batch: "
            f"{difference} -> return the same columns and types for every batch "
            "(give computed columns an explicit type); nothing was committed"
        )


class PythonTransformFailed(TransformError):
    """A Python step raised on `what`; `file` and `line` are the user's own frame, where one is found,
    and `error` is the exception's type and text."""

    def __init__(self, *, step: str, what: str, error: str, file: str | None = None, line: int | None = None
                 ) -> None:
        self.step, self.what, self.error, self.file, self.line = step, what, error, file, line
        at = f" at {file}:{line}" if file is not None else ""
        super().__init__(f"{step} failed on {what}{at}: {error} -> fix the function; nothing was committed")


class TransformReturnsNoRows(TransformError):
    """A SQL step's last statement is not a query."""

    def __init__(self, *, step: str) -> None:
        self.step = step
        super().__init__(f"{step} returns no rows (its last statement is not a query) -> "
                         "end it with a SELECT over records")


class SqlTransformFailed(TransformError):
    """DuckDB refused or failed a SQL step; `reason` keeps DuckDB's `LINE n` and caret."""

    def __init__(self, *, step: str, reason: str) -> None:
        self.step, self.reason = step, reason
        super().__init__(f"{step} failed: {reason} -> fix the query; nothing was committed")


class TransformStepFailed(TransformError):
    """A step failed inside the stream that chains the steps (not by an error of its own kind)."""

    def __init__(self, *, step: str, reason: str) -> None:
        self.step, self.reason = step, reason
        super().__init__(f"{step} failed: {reason} -> nothing was committed")
