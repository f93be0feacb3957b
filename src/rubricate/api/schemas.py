"""Request and response bodies, made from the domain types (dataclasses are read by
attribute, so their properties, like ``completed``, come along)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from rubricate.domain.evaluations import EvaluationSource
from rubricate.domain.metrics import MetricKind, VersionOrigin
from rubricate.domain.resolution import Policy
from rubricate.domain.scale import Scale


def _finite(value: Any) -> Any:
    """nan (a figure that cannot be computed) is ``null`` in JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


Figure = Annotated[float | None, BeforeValidator(_finite)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
RunId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
# The bounds every body puts on the same kind of value, once.
MetricField = Annotated[str, Field(min_length=1, max_length=100)]  # a metric's name
ModelField = Annotated[str, Field(max_length=200)]  # provider:model (empty: the default)
Text = Annotated[str, Field(min_length=1)]  # a prompt, a guideline
Seed = Annotated[int, Field(ge=0, le=2**31 - 1)]
Amount = Annotated[float, Field(gt=0, le=10**9)]  # a delta, dollars
MaxCalls = Annotated[int, Field(ge=1, le=10**9)]
IdempotencyRunId = Annotated[
    RunId | None, Field(description="Idempotency key (or the Idempotency-Key header).")
]


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


OutT = TypeVar("OutT", bound=Out)


def out_of(model: type[OutT], source: object, **fields: Any) -> OutT:
    """``model`` read from ``source``'s attributes (a domain value), with ``fields`` beside
    or instead of them: what the API adds to the value, or names otherwise."""
    read = {
        name: getattr(source, name)
        for name in model.model_fields
        if name not in fields and hasattr(source, name)
    }
    return model.model_validate({**read, **fields})


def nul_at(value: Any, where: str = "") -> str | None:
    """Where a NUL character sits in ``value`` (a database cannot store one), or None."""
    if isinstance(value, str):
        return where if "\x00" in value else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if isinstance(key, str) and "\x00" in key:
            return f"{where}.{key}".strip(".")
        found = nul_at(item, f"{where}.{key}".strip("."))
        if found is not None:
            return found
    return None


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                if nul_at(value) is not None:
                    raise ValueError(f"{key}: text must not contain NUL characters")
        return data


# -- metrics -----------------------------------------------------------------------------


class MetricVersionOut(Out):
    id: int
    number: int
    prompt: str
    guidelines: str
    scale: Scale
    origin: VersionOrigin
    created_at: datetime
    parent_version_id: int | None
    source_run_id: str | None
    active: bool = False


class MetricOut(Out):
    name: str
    description: str
    kind: MetricKind
    judge_model: str | None
    pinned_version: int | None
    created_at: datetime
    active_version: int
    version_count: int
    scale: Scale


class MetricDetail(MetricOut):
    versions: list[MetricVersionOut]


class MetricCreate(In):
    name: MetricField
    scale: Scale
    prompt: Text
    description: str = ""
    judge_model: ModelField | None = None


class VersionCreate(In):
    prompt: Text
    guidelines: str = ""


class PinBody(In):
    version: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = Field(
        description="The version to make active; null: follow the newest version."
    )


class VersionDiff(Out):
    metric: str
    from_version: int
    to_version: int
    prompt_diff: str
    guidelines_diff: str
    scale_changed: bool


class PromptExport(Out):
    metric: str
    version: int
    format: str
    content: str


# -- evaluations -------------------------------------------------------------------------


class EvaluationOut(Out):
    name: str
    description: str
    source: EvaluationSource
    created_at: datetime
    row_count: int
    scoring_in_progress: int
    completed: bool


class CoverageOut(Out):
    metric: str
    annotated_rows: int
    annotations: int
    reviewers: int
    resolved_rows: int
    judged_rows: int


class EvaluationDetail(EvaluationOut):
    metrics: list[CoverageOut]


class RowOut(Out):
    id: str
    input: str
    output: str
    context: str | None
    expected: str | None
    metadata: dict[str, Any]


class JudgeResultOut(Out):
    row: str
    metric: str
    metric_version: int
    score: Figure
    rationale: str | None
    judge_model: str | None
    raw_output: str | None
    error: str | None
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: Figure
    evaluation_run_id: str | None
    created_at: datetime


# -- annotations -------------------------------------------------------------------------

Score = float | Annotated[str, Field(min_length=1, max_length=200)]
ScoreIn = Annotated[
    Score, Field(description="A number on the metric's scale, or one of its labels.")
]


class AnnotationIn(In):
    row: Name
    annotator: Name | None = Field(
        default=None, description="Who scored; default and, for a user's token, only: the caller."
    )
    score: ScoreIn
    comment: str | None = None


class AnnotationOut(Out):
    row: str
    metric: str
    annotator: str
    score: float
    comment: str | None
    source: str = Field(
        description="Where the score came from: import (a file or a connector), inline "
        "(one row, on the evaluation page or through the API) or queue:NAME (a review queue)."
    )
    created_at: datetime


class ResolveRowIn(In):
    row: Name
    value: Score
    user: Name | None = Field(
        default=None, description="Who decided; default and, for a user's token, only: the caller."
    )


class ResolutionOut(Out):
    row: str
    metric: str
    value: float
    resolved_by: str


class ResolveIn(In):
    policy: Policy
    replace: bool = False


class ResolveReportOut(Out):
    policy: Policy
    annotated_rows: int
    resolved: int
    unresolved: int
    kept: int
    cleared: int


class PairOut(Out):
    reviewer_a: str
    reviewer_b: str
    n_shared: int
    exact_agreement: Figure
    mean_abs_diff: Figure


class AgreementOut(Out):
    rows: int
    reviewers: int
    alpha_ordinal: Figure
    alpha_interval: Figure
    pairs: list[PairOut]


# -- transfer ----------------------------------------------------------------------------


class ImportReportOut(Out):
    evaluation: str
    evaluation_created: bool
    metrics_created: list[str]
    rows_added: int
    rows_unchanged: int
    annotations_added: int
    judge_results_added: int
    resolutions_added: int
    changed: bool
    dry_run: bool = False  # counted, then rolled back: nothing was kept
    spans_skipped: int | None = None  # format=otel: spans without a GenAI input and output
    log_records_skipped: int | None = None  # format=otel: log records that are not evaluations


ImportKind = Literal["rows", "annotations", "judge_results", "resolutions"]
