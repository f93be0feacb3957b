"""Request and response bodies of runs: evaluation runs, alignment runs, their previews and
reviews (the rest of the API's bodies are in schemas.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from rubricate.api.reviewer_schemas import ReviewerWarningOut
from rubricate.api.schemas import (
    Amount,
    Figure,
    IdempotencyRunId,
    In,
    MaxCalls,
    MetricVersionOut,
    ModelField,
    Name,
    Out,
    Seed,
    Text,
)
from rubricate.domain.alignment import AlignmentResult
from rubricate.domain.alignment_runs import Budget, Phase, RunStatus
from rubricate.domain.evaluation_runs import EvaluationRunStatus

MetricRef = Annotated[str, Field(min_length=1, max_length=120)]  # NAME or NAME@N

# -- evaluation runs ---------------------------------------------------------------------


class EvaluationRunStart(In):
    metric: MetricRef = Field(description="NAME (its active version) or NAME@N.")
    evaluation: Name
    model: Name | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = 0.0
    seed: Seed | None = None
    run_id: IdempotencyRunId = None
    max_calls: MaxCalls | None = Field(
        default=None, description="Stop the run after this many model calls."
    )
    max_cost_usd: Amount | None = Field(
        default=None,
        description="Stop the run once it has spent this many dollars (a priced model only).",
    )


class EvaluationRunEstimateIn(In):
    metric: MetricRef
    evaluation: Name
    model: Name | None = None


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


class RowErrorOut(Out):
    row: str  # the user's row id
    error: str


class RowErrorsOut(Out):
    rows: list[RowErrorOut]
    total: int  # rows that failed in all; ``rows`` holds at most ``limit`` of them


class QueuedRun(Out):
    """A run just started or retried, and whether a worker will take it."""

    run: Out  # each kind's own run body (a subclass's field keeps this place)
    queued: bool
    alive_workers: int
    message: str


class QueuedEvaluationRun(QueuedRun):
    run: EvaluationRunOut


class CostEstimateOut(Out):
    model: str
    rows: int
    calls: int = Field(description="Model calls: one a row (before retries and cache hits).")
    input_tokens: int
    output_tokens: int
    cost_usd: Figure


# -- alignment runs ----------------------------------------------------------------------


_BUDGET = Budget()  # BudgetIO's defaults are the domain's (a docstring would enter the schema)


class BudgetIO(Out):
    max_calls: MaxCalls = _BUDGET.max_calls
    max_tokens: Annotated[int, Field(ge=1, le=10**12)] = _BUDGET.max_tokens
    max_cost_usd: Amount | None = _BUDGET.max_cost_usd


class AlignmentStart(In):
    metric: Name
    evaluations: Annotated[list[Name], Field(min_length=1, max_length=100)]
    delta: Amount = 1.0
    reflection_lm: ModelField | None = None
    judge_model: ModelField | None = None
    budget: BudgetIO = Field(default_factory=BudgetIO)
    seed: Seed = 0
    run_id: IdempotencyRunId = None


class AlignmentParamsOut(Out):
    delta: float
    reflection_lm: str
    judge_model: str | None
    budget: BudgetIO
    seed: int


class RowRefOut(Out):
    row_id: int = Field(description="The database's id, as the result's row_ids keep it.")
    evaluation: str
    external_id: str = Field(description="The row's id in the user's files.")


class DroppedGuidelineOut(Out):
    id: int
    text: str
    reason: str


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
    row_refs: list[RowRefOut] = Field(
        default_factory=list,
        description="The user's ids of every row the result's guidelines and proposals "
        "name (row_ids and counter_row_ids are database ids); empty in lists.",
    )
    dropped: list[DroppedGuidelineOut] = Field(
        default_factory=list,
        description="Every proposed guideline verification did not put forward, and why.",
    )
    nothing_to_accept: str | None = Field(
        default=None, description="Why an accept would create nothing (then it answers 409)."
    )
    unverified: str | None = Field(
        default=None,
        description="Why the run is not verified: an accept needs confirm_unverified.",
    )


class QueuedAlignmentRun(QueuedRun):
    run: AlignmentRunOut
    reviewer_warning: ReviewerWarningOut | None = Field(
        default=None, description="As the preview's: reviewers agree too little on its rows."
    )


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
    cannot_start: str | None = None  # e.g. a model's key is missing: the estimate needs none
    reviewer_warning: ReviewerWarningOut | None = Field(
        default=None,
        description="Reviewers agree too little on the rows the run would use: their alpha, "
        "the threshold, and who pulls it down. A warning only: the run may start.",
    )


class GuidelineEdit(In):
    text: Text


class AcceptIn(In):
    merge: bool = Field(
        default=False,
        description="Accept on top of a version made after the run started, combining them.",
    )
    confirm_unverified: bool = Field(
        default=False,
        description="Accept a run that is not verified (no judge model, too few rows, a "
        "budget cut, edited guidelines, or a drop on the held-out test rows). Without it "
        "such a run is refused (409) with the reason.",
    )


class AcceptOut(Out):
    run: AlignmentRunOut
    metric: str
    version: MetricVersionOut
    created: bool
    forked: bool
    merged: bool
