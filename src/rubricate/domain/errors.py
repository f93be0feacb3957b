"""Errors the use cases raise; interfaces turn them into messages and exit codes."""

from __future__ import annotations


class RubricateError(Exception):
    """Base of every error rubricate reports to a user."""


class NotFound(RubricateError):
    """A named thing (metric, evaluation, run, version) does not exist."""


class Conflict(RubricateError):
    """The request contradicts what is stored (a duplicate name, a stale version)."""


class Forbidden(RubricateError):
    """The caller's role does not allow this (a reviewer resolving or accepting)."""


class Unavailable(RubricateError):
    """The database (or, later, a model) cannot be reached; the message says which."""


class InvalidInput(RubricateError):
    """A parameter or a value in a file is wrong.

    ``location`` names where: a file, its line and the field, or a parameter, so that the
    message alone tells the user what to fix.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = _printable(message)
        self.file = None if file is None else _printable(file)
        self.line = line
        self.field = None if field is None else _printable(field)
        super().__init__(self.render())

    @property
    def location(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(self.file if self.line is None else f"{self.file}:{self.line}")
        if self.field is not None:
            parts.append(f"field '{self.field}'")
        return ", ".join(parts)

    def render(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


def _printable(text: str) -> str:
    """``text`` with lone surrogates (a key written ``"\\ud800"`` in a file) as escapes,
    so that the message can be printed and sent as UTF-8 JSON."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text
