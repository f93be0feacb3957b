"""Places in the input (file, line, field) and the checks of a score against a scale,
shared by every layout's import."""

from __future__ import annotations

from dataclasses import dataclass

from rubricate.domain.errors import InvalidInput
from rubricate.domain.scale import Scale, ScaleError
from rubricate.io.records import ResolvedIn


@dataclass(frozen=True, slots=True)
class Where:
    """A place in the input, for error messages."""

    file: str
    line: int
    section: str = ""  # annotations, judge, resolved; "" for a flat record's top level
    criterion: str = ""
    index: int | None = None  # the place in a list of records

    @property
    def field(self) -> str:
        """``annotations.grammar[1]``: built only for a message, not for every record."""
        if not self.section:
            return ""
        name = f"{self.section}.{self.criterion}"
        return name if self.index is None else f"{name}[{self.index}]"

    def error(self, message: str, sub: str = "") -> InvalidInput:
        name = ".".join(part for part in (self.field, sub) if part) or None
        return InvalidInput(message, file=self.file, line=self.line, field=name)

    def since(self, first: Where) -> str:
        if first.line != self.line:
            return f"first on line {first.line}"
        return f"first at '{first.field}'" if first.field else "first on this line"


def score_of(
    scale: Scale, score: float | None, label: str | None, where: Where, name: str = "score"
) -> float:
    """A number on the scale from a score (the field ``name``), a label, or both when they
    agree."""
    try:
        by_label = scale.value_of(label) if label is not None else None
    except ScaleError as exc:
        raise where.error(str(exc), "label") from None
    if score is None:
        assert by_label is not None  # the record's validator asks for one of them
        return by_label
    try:
        number = scale.check(score)
    except ScaleError as exc:
        raise where.error(str(exc), name) from None
    if by_label is not None and by_label != number:
        raise where.error(
            f"label {label!r} means {by_label:g}, but the score is {number:g}", "label"
        )
    return number


def resolved_value(scale: Scale, resolved: ResolvedIn, where: Where) -> float:
    if resolved.value is not None and resolved.label is None and scale.is_numeric:
        # a mean of reviewers may be fractional, so only the range is checked
        if not scale.low <= resolved.value <= scale.high:
            raise where.error(
                f"value {resolved.value:g} is outside the scale {scale.describe()}", "value"
            )
        return resolved.value
    return score_of(scale, resolved.value, resolved.label, where, "value")


class Repeated(InvalidInput):
    """A record that an earlier batch of the same import already wrote: the importer
    looks for its first line and reports both."""

    def __init__(self, what: str, where: Where, field: str, record: object) -> None:
        self.what, self.where, self.record = what, where, record
        self.sub = field
        error = where.error(f"{what} is given twice for this row (also on an earlier line)", field)
        super().__init__(error.message, file=error.file, line=error.line, field=error.field)

    def with_first(self, line: int | None) -> InvalidInput:
        if line is None:
            return self
        message = f"{self.what} is given twice for this row (first on line {line})"
        return self.where.error(message, self.sub)


def show(value: object) -> str:
    """A stored or given value, short, for messages."""
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:g}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
