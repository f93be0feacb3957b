"""The shapes of one line of each import layout, validated by pydantic."""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from rubricate.domain.scale import Scale


def _id_text(value: Any) -> Any:
    # Ids may be written as numbers; they are compared and stored as text.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


RowId = Annotated[str, BeforeValidator(_id_text), Field(min_length=1, max_length=200)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScoreOrLabel(_Strict):
    """A score may be given as a number, a label on the scale, or both if they agree."""

    score: float | None = None
    label: str | None = None

    @model_validator(mode="after")
    def _one_given(self) -> Self:
        if self.score is None and self.label is None:
            raise ValueError("give a score or a label")
        return self


class AnnotationIn(ScoreOrLabel):
    annotator: Name
    comment: str | None = None


class JudgeIn(_Strict):
    score: float | None = None
    label: str | None = None
    rationale: str | None = None
    model: str | None = Field(default=None, max_length=200)
    metric_version: int | None = Field(default=None, ge=1)  # default: the imported version
    error: str | None = None

    @model_validator(mode="after")
    def _score_or_error(self) -> Self:
        if self.score is None and self.label is None and self.error is None:
            raise ValueError("give a score, a label, or the error the judge hit")
        return self


class ResolvedIn(_Strict):
    value: float | None = None
    label: str | None = None
    by: Name

    @model_validator(mode="after")
    def _one_given(self) -> Self:
        if self.value is None and self.label is None:
            raise ValueError("give a value or a label")
        return self


class RowIn(_Strict):
    """One line of rows.jsonl in the annotation dataset layout."""

    id: RowId
    input: str
    output: str
    context: str | None = None
    expected: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    annotations: dict[str, list[AnnotationIn]] = Field(default_factory=dict)
    judge: dict[str, JudgeIn | list[JudgeIn]] = Field(default_factory=dict)
    resolved: dict[str, ResolvedIn] = Field(default_factory=dict)

    def content(self) -> tuple[str, str, str | None, str | None, dict[str, Any]]:
        return (self.input, self.output, self.context, self.expected, self.metadata)


class Criterion(_Strict):
    name: Name
    scale: Scale
    description: str = ""


class Manifest(BaseModel):
    """dataset.json: what the rows are and which criteria (metrics) score them."""

    model_config = ConfigDict(extra="allow", frozen=True)  # source, license, ... are kept out

    name: str | None = None
    rows: int | None = None
    task: str | None = None
    criteria: list[Criterion] = Field(min_length=1)


# The flat layouts: one record per row, annotation, judge result or resolution.


class FlatRow(_Strict):
    id: RowId
    input: str
    output: str
    context: str | None = None
    expected: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class FlatAnnotation(AnnotationIn):
    row_id: RowId
    metric: Name


class FlatJudgeResult(JudgeIn):
    row_id: RowId
    metric: Name


class FlatResolution(ResolvedIn):
    row_id: RowId
    metric: Name
