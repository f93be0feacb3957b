"""Request and response bodies, made from the domain types (dataclasses are read by
attribute, so their properties, like ``completed``, come along)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from rubricate.domain.alignment import AlignmentResult
from rubricate.domain.evaluation_runs import EvaluationRunStatus
from rubricate.domain.evaluations import EvaluationSource
from rubricate.domain.metrics import MetricKind, VersionOrigin
from rubricate.domain.resolution import Policy
from rubricate.domain.runs import Phase, RunStatus
from rubricate.domain.scale import Scale


def _finite(value: Any) -> Any:
    """nan (a figure that cannot be computed) is ``null`` in JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


Figure = Annotated[float | None, BeforeValidator(_finite)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
RunId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


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
    name: Annotated[str, Field(min_length=1, max_length=100)]
    scale: Scale
    prompt: Annotated[str, Field(min_length=1)]
    description: str = ""
    judge_model: Annotated[str, Field(max_length=200)] | None = None


class VersionCreate(In):
    prompt: Annotated[str, Field(min_length=1)]
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


class AnnotationIn(In):
    row: Name
    annotator: Name
    score: Score = Field(description="A number on the metric's scale, or one of its labels.")
    comment: str | None = None


class AnnotationOut(Out):
    row: str
    metric: str
    annotator: str
    score: float
    comment: str | None
    created_at: datetime


class ResolveRowIn(In):
    row: Name
    value: Score
    user: Name | None = Field(
        default=None, description="Who decided; default: the API token's name."
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


# -- evaluation runs ---------------------------------------------------------------------


class EvaluationRunStart(In):
    metric: Annotated[str, Field(min_length=1, max_length=120)] = Field(
        description="NAME (its active version) or NAME@N."
    )
    evaluation: Name
    model: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = 0.0
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    run_id: RunId | None = Field(
        default=None, description="Idempotency key (or the Idempotency-Key header)."
    )


class EvaluationRunEstimateIn(In):
    metric: Annotated[str, Field(min_length=1, max_length=120)]
    evaluation: Name
    model: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class EvaluationRunOut(Out):
    id: str
    evaluation_id: int
    metric_version_id: int
    model: str
    params: dict[str, Any]
    status: EvaluationRunStatus
    created_at: datetime
    rows_total: int
    rows_done: int
    rows_failed: int
    rows_scored: int
    calls: int
    cache_hits: int
    input_tokens: int
    output_tokens: int
    cost_usd: Figure
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None


class QueuedEvaluationRun(Out):
    run: EvaluationRunOut
    queued: bool
    alive_workers: int
    message: str


class CostEstimateOut(Out):
    model: str
    rows: int
    input_tokens: int
    output_tokens: int
    cost_usd: Figure


# -- alignment runs ----------------------------------------------------------------------


class BudgetIO(Out):
    max_calls: Annotated[int, Field(ge=1, le=10**9)] = 1000
    max_tokens: Annotated[int, Field(ge=1, le=10**12)] = 3_000_000
    max_cost_usd: Annotated[float, Field(gt=0, le=10**9)] | None = 10.0


class AlignmentStart(In):
    metric: Name
    evaluations: Annotated[list[Name], Field(min_length=1, max_length=100)]
    delta: Annotated[float, Field(gt=0, le=10**9)] = 1.0
    reflection_lm: Annotated[str, Field(max_length=200)] | None = None
    judge_model: Annotated[str, Field(max_length=200)] | None = None
    budget: BudgetIO = Field(default_factory=BudgetIO)
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    run_id: RunId | None = Field(
        default=None, description="Idempotency key (or the Idempotency-Key header)."
    )


class AlignmentParamsOut(Out):
    delta: float
    reflection_lm: str
    judge_model: str | None
    budget: BudgetIO
    seed: int


class AlignmentRunOut(Out):
    id: str
    metric: str
    base_version_id: int
    status: RunStatus
    params: AlignmentParamsOut
    evaluations: list[str]
    created_at: datetime
    phase: Phase | None
    progress_done: int
    progress_total: int
    disagreements: int | None
    agreeing_skipped: int | None
    missing_skipped: int | None
    low_confidence: bool
    result: AlignmentResult | None
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None
    accepted_version_id: int | None


class QueuedAlignmentRun(Out):
    run: AlignmentRunOut
    queued: bool
    alive_workers: int
    message: str


class AlignmentPreviewOut(Out):
    rows_used: int
    disagreements: int
    agreeing: int
    missing_judge: int
    missing_human: int
    reviewer_alpha: Figure
    low_confidence: bool
    reflection_lm: str
    judge_model: str | None
    reflection_calls: int
    judge_calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: Figure


class GuidelineEdit(In):
    text: Annotated[str, Field(min_length=1)]


class AcceptIn(In):
    merge: bool = Field(
        default=False,
        description="Accept on top of a version made after the run started, combining them.",
    )


class AcceptOut(Out):
    run: AlignmentRunOut
    metric: str
    version: MetricVersionOut
    created: bool
    forked: bool
    merged: bool


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


ImportKind = Literal["rows", "annotations", "judge_results", "resolutions"]
