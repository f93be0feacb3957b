"""The shapes of one line of each import layout, validated by pydantic.

An empty optional text (context, comment, ...) is the same as a missing one, as it is in
a CSV cell, so that every layout round-trips alike. What the databases cannot store (a NUL
character, a number that is not finite) is refused by ``storable_problem``, which the
readers call only when a line may hold such a thing: a validator on every text would cost
a Python call per field.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    model_validator,
)

from rubricate.domain.scale import Scale
from rubricate.limits import METADATA_MAX_DEPTH

ONE, MANY = "<one>", "<list>"  # tags of a judge entry: one result or a list of them


def _id_text(value: Any) -> Any:
    # Ids may be written as numbers; they are compared and stored as text.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _empty_is_none(value: Any) -> Any:
    return None if value == "" else value


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, not {str(value).lower()}")
    return value


Text = str  # NUL and non-finite numbers are refused by readers.check_storable
OptionalText = Annotated[Text | None, BeforeValidator(_empty_is_none)]
Number = Annotated[float, BeforeValidator(_not_bool), Field(allow_inf_nan=False)]
Count = Annotated[int, BeforeValidator(_not_bool), Field(ge=0)]
RowId = Annotated[Text, BeforeValidator(_id_text), Field(min_length=1, max_length=200)]
Name = Annotated[Text, Field(min_length=1, max_length=200)]


def nesting_depth(value: object, limit: int = METADATA_MAX_DEPTH) -> int:
    """How deep lists and objects nest in ``value`` (``{}`` is 1), counted without
    recursion and only up to ``limit + 1``: enough to tell that it is too deep."""
    deepest, level = 0, [value]
    depth = 0
    while level and depth <= limit:
        containers = [v for v in level if isinstance(v, dict | list)]
        if not containers:
            break
        depth += 1
        deepest = depth
        level = [item for c in containers for item in (c.values() if isinstance(c, dict) else c)]
    return deepest


def too_deep() -> str:
    return f"nested deeper than {METADATA_MAX_DEPTH} levels of lists and objects"


def _shallow(value: dict[str, Any]) -> dict[str, Any]:
    # Export writes back what import accepts: the JSON readers stop well before Python's
    # own recursion limit, so the depth is kept far below both.
    if nesting_depth(value) > METADATA_MAX_DEPTH:
        raise ValueError(too_deep())
    return value


Metadata = Annotated[dict[str, Any], AfterValidator(_shallow)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScoreOrLabel(_Strict):
    """A score may be given as a number, a label on the scale, or both if they agree."""

    score: Number | None = None
    label: OptionalText = None

    @model_validator(mode="after")
    def _one_given(self) -> Self:
        if self.score is None and self.label is None:
            raise ValueError("give a score or a label")
        return self


class AnnotationIn(ScoreOrLabel):
    annotator: Name
    comment: OptionalText = None


class JudgeIn(_Strict):
    score: Number | None = None
    label: OptionalText = None
    rationale: OptionalText = None
    model: Annotated[OptionalText, Field(max_length=200)] = None
    metric_version: Annotated[int, BeforeValidator(_not_bool), Field(ge=1)] | None = None
    error: OptionalText = None  # the judge failed; a result without a score
    raw_output: OptionalText = None
    input_tokens: Count | None = None
    output_tokens: Count | None = None
    cost_usd: Annotated[Number, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _score_or_error(self) -> Self:
        if self.score is None and self.label is None and self.error is None:
            raise ValueError("give a score, a label, or the error the judge hit")
        return self


class ResolvedIn(_Strict):
    value: Number | None = None
    label: OptionalText = None
    by: Name

    @model_validator(mode="after")
    def _one_given(self) -> Self:
        if self.value is None and self.label is None:
            raise ValueError("give a value or a label")
        return self


def _judge_shape(value: Any) -> str:
    return MANY if isinstance(value, list) else ONE


JudgeEntry = Annotated[
    Annotated[JudgeIn, Tag(ONE)] | Annotated[list[JudgeIn], Tag(MANY)],
    Discriminator(_judge_shape),
]


class FlatRow(_Strict):
    """A row: one line of rows.jsonl/rows.csv in the flat layouts."""

    id: RowId
    input: Text
    output: Text
    context: OptionalText = None
    expected: OptionalText = None
    metadata: Metadata = Field(default_factory=dict)


class RowIn(FlatRow):
    """One line of rows.jsonl in the annotation dataset layout: a row with its scores."""

    annotations: dict[str, list[AnnotationIn]] = Field(default_factory=dict)
    judge: dict[str, JudgeEntry] = Field(default_factory=dict)  # one result or a list
    resolved: dict[str, ResolvedIn] = Field(default_factory=dict)


class Criterion(_Strict):
    name: Name
    scale: Scale
    description: Text = ""


class Manifest(BaseModel):
    """dataset.json: what the rows are and which criteria (metrics) score them."""

    model_config = ConfigDict(extra="allow", frozen=True)  # source, license, ... are kept out

    name: str | None = None
    rows: int | None = None
    task: Text | None = None
    criteria: list[Criterion]


# The flat layouts: one record per row, annotation, judge result or resolution.


class FlatAnnotation(AnnotationIn):
    row_id: RowId
    metric: Name


class FlatJudgeResult(JudgeIn):
    row_id: RowId
    metric: Name


class FlatResolution(ResolvedIn):
    row_id: RowId
    metric: Name


def storable_problem(value: object) -> tuple[tuple[int | str, ...], str] | None:
    """Where in a record (its path, and what) a value sits that the databases cannot
    store: a NUL character or a number that is not finite."""
    return next(_problems(value, ()), None)


def _problems(
    value: object, loc: tuple[int | str, ...]
) -> Iterator[tuple[tuple[int | str, ...], str]]:
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _problems(getattr(value, name), (*loc, name))
    elif isinstance(value, str) and "\x00" in value:
        yield loc, "text must not contain the NUL character (\\u0000)"
    elif isinstance(value, float) and not math.isfinite(value):
        yield loc, f"{value} is not a finite number: only finite numbers can be stored"
    elif isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in str(key):
                yield loc, f"key {key!r} contains the NUL character (\\u0000)"
            yield from _problems(item, (*loc, key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _problems(item, (*loc, index))
