"""Evaluation runs and alignment runs: start (queued for workers; ``run_id`` or the
``Idempotency-Key`` header makes a repeated start one run), estimate, list, show, cancel,
retry; for alignment runs also the review: edit, strike, restore, accept, reject."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query

from rubricate.api.auth import Caller, CallerUser
from rubricate.api.deps import Workspace
from rubricate.api.errors import responses
from rubricate.api.pagination import Page, PageParams, page_of
from rubricate.api.queueing import Queue, enqueue_or_cancel, queued_message
from rubricate.api.schemas import (
    AcceptIn,
    AcceptOut,
    AlignmentParamsOut,
    AlignmentPreviewOut,
    AlignmentRunOut,
    AlignmentStart,
    BudgetIO,
    CostEstimateOut,
    EvaluationRunEstimateIn,
    EvaluationRunOut,
    EvaluationRunStart,
    GuidelineEdit,
    MetricVersionOut,
    QueuedAlignmentRun,
    QueuedEvaluationRun,
)
from rubricate.domain.errors import Conflict, InvalidInput, NotFound
from rubricate.domain.runs import AlignmentRun, Budget
from rubricate.service.workspace import Rubricate

evaluation_runs = APIRouter(prefix="/evaluation-runs", tags=["evaluation runs"])
alignment_runs = APIRouter(prefix="/alignment-runs", tags=["alignment runs"])

RunIdPath = Annotated[str, Path(min_length=1, max_length=64, description="The run's id.")]
GuidelineId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The guideline's id.")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.\-]+$",
        description="The run's id: a repeated start with the same key is one run.",
    ),
]


def _run_id(header: str | None, body: str | None) -> str | None:
    if header is not None and body is not None and header != body:
        raise InvalidInput(
            "the Idempotency-Key header and run_id differ: give one of them", field="run_id"
        )
    return header or body


def _not_the_other_kind(rb: Rubricate, kind: str, run_id: str | None) -> str | None:
    """A run id names one run: an evaluation run may not take an alignment run's id, nor
    the other way round (their journals of model calls are keyed by the id alone)."""
    if run_id is None:
        return None
    try:
        if kind == "evaluation":
            rb.alignment_runs.get(run_id)
        else:
            rb.evaluation_runs.get(run_id)
    except NotFound:
        return run_id
    other = "an alignment" if kind == "evaluation" else "an evaluation"
    raise Conflict(f"run id {run_id!r} is taken by {other} run: choose another")


def _alignment_out(run: AlignmentRun) -> AlignmentRunOut:
    params = run.params
    return AlignmentRunOut(
        id=run.id,
        metric=run.metric,
        base_version_id=run.base_version_id,
        status=run.status,
        params=AlignmentParamsOut(
            delta=params.delta,
            reflection_lm=params.reflection_lm,
            judge_model=params.judge_model,
            budget=BudgetIO.model_validate(params.budget),
            seed=params.seed,
        ),
        evaluations=list(run.evaluations),
        created_at=run.created_at,
        phase=run.phase,
        progress_done=run.progress_done,
        progress_total=run.progress_total,
        disagreements=run.disagreements,
        agreeing_skipped=run.agreeing_skipped,
        missing_skipped=run.missing_skipped,
        low_confidence=run.low_confidence,
        result=run.result,
        error=run.error,
        started_at=run.started_at,
        finished_at=run.finished_at,
        accepted_version_id=run.accepted_version_id,
    )


# -- evaluation runs -----------------------------------------------------------------------


@evaluation_runs.post("", status_code=202, responses=responses(404, 409, 503))
def start_evaluation_run(
    rb: Workspace, queue: Queue, body: EvaluationRunStart, idempotency_key: IdempotencyKey = None
) -> QueuedEvaluationRun:
    """Record a Pending run and queue it for a worker. The model (and its key) is checked
    first; nothing is written when anything is wrong."""
    run = rb.evaluation_runs.start(
        metric=body.metric,
        evaluation=body.evaluation,
        model=body.model,
        temperature=body.temperature,
        seed=body.seed,
        run_id=_not_the_other_kind(rb, "evaluation", _run_id(idempotency_key, body.run_id)),
    )
    queued = not run.status.finished
    if queued:
        enqueue_or_cancel(rb, queue, "evaluation", run.id, retry=False)
    alive = queue.alive_workers()
    return QueuedEvaluationRun(
        run=EvaluationRunOut.model_validate(rb.evaluation_runs.get(run.id)),
        queued=queued,
        alive_workers=alive,
        message=queued_message(alive) if queued else f"the run is {run.status.label} already",
    )


@evaluation_runs.post("/estimate", responses=responses(404))
def estimate_evaluation_run(rb: Workspace, body: EvaluationRunEstimateIn) -> CostEstimateOut:
    """Tokens and money for scoring every row; no model is called, no key is needed."""
    estimate = rb.evaluation_runs.estimate(
        metric=body.metric, evaluation=body.evaluation, model=body.model
    )
    return CostEstimateOut.model_validate(estimate)


@evaluation_runs.get("", responses=responses(404))
def list_evaluation_runs(
    rb: Workspace,
    paging: PageParams,
    evaluation: Annotated[str | None, Query(max_length=200, description="Of one evaluation.")] = (
        None
    ),
) -> Page[EvaluationRunOut]:
    """Runs, newest first."""
    return page_of(rb.evaluation_runs.list(evaluation), paging, EvaluationRunOut.model_validate)


@evaluation_runs.get("/{run_id}", responses=responses(404))
def get_evaluation_run(rb: Workspace, run_id: RunIdPath) -> EvaluationRunOut:
    return EvaluationRunOut.model_validate(rb.evaluation_runs.get(run_id))


@evaluation_runs.post("/{run_id}/cancel", responses=responses(404, 503))
def cancel_evaluation_run(rb: Workspace, queue: Queue, run_id: RunIdPath) -> EvaluationRunOut:
    """Stop a run at its next batch; cancelling a finished run changes nothing."""
    before = rb.evaluation_runs.get(run_id)
    run = rb.evaluation_runs.cancel(run_id)
    if not before.status.finished:
        queue.cancel(run_id)
    return EvaluationRunOut.model_validate(run)


@evaluation_runs.post("/{run_id}/retry", status_code=202, responses=responses(404, 409, 503))
def retry_evaluation_run(rb: Workspace, queue: Queue, run_id: RunIdPath) -> QueuedEvaluationRun:
    """An Error run, queued again: it scores only the rows it had not scored."""
    run = rb.evaluation_runs.retry(run_id)
    enqueue_or_cancel(rb, queue, "evaluation", run.id, retry=True)
    alive = queue.alive_workers()
    return QueuedEvaluationRun(
        run=EvaluationRunOut.model_validate(rb.evaluation_runs.get(run.id)),
        queued=True,
        alive_workers=alive,
        message=queued_message(alive),
    )


# -- alignment runs ------------------------------------------------------------------------


def _budget(body: AlignmentStart) -> Budget:
    b = body.budget
    return Budget(max_calls=b.max_calls, max_tokens=b.max_tokens, max_cost_usd=b.max_cost_usd)


@alignment_runs.post("", status_code=202, responses=responses(404, 409, 503))
def start_alignment_run(
    rb: Workspace, queue: Queue, body: AlignmentStart, idempotency_key: IdempotencyKey = None
) -> QueuedAlignmentRun:
    """Record a Pending run and queue it for a worker. Every parameter is checked first
    (completed sources with resolved annotations and judge results, a delta that fits the
    scale, models and keys); nothing is written when one is wrong."""
    run = rb.alignment_runs.start(
        metric=body.metric,
        evaluations=body.evaluations,
        delta=body.delta,
        reflection_lm=body.reflection_lm,
        judge_model=body.judge_model,
        budget=_budget(body),
        seed=body.seed,
        run_id=_not_the_other_kind(rb, "alignment", _run_id(idempotency_key, body.run_id)),
    )
    queued = not run.status.finished
    if queued:
        enqueue_or_cancel(rb, queue, "alignment", run.id, retry=False)
    alive = queue.alive_workers()
    return QueuedAlignmentRun(
        run=_alignment_out(rb.alignment_runs.get(run.id)),
        queued=queued,
        alive_workers=alive,
        message=queued_message(alive) if queued else f"the run is {run.status.label} already",
    )


@alignment_runs.post("/preview", responses=responses(404))
def preview_alignment_run(rb: Workspace, body: AlignmentStart) -> AlignmentPreviewOut:
    """Disagreements at the threshold, reviewers' agreement, the low-confidence flag and
    the estimated calls, tokens and cost; no model is called, nothing is written."""
    preview = rb.alignment_runs.preview(
        metric=body.metric,
        evaluations=body.evaluations,
        delta=body.delta,
        reflection_lm=body.reflection_lm,
        judge_model=body.judge_model,
        budget=_budget(body),
        seed=body.seed,
    )
    return AlignmentPreviewOut.model_validate(preview)


@alignment_runs.get("", responses=responses(404))
def list_alignment_runs(
    rb: Workspace,
    paging: PageParams,
    metric: Annotated[str, Query(min_length=1, max_length=100, description="The metric.")],
) -> Page[AlignmentRunOut]:
    """A metric's runs, newest first."""
    return page_of(rb.alignment_runs.list(metric), paging, _alignment_out)


@alignment_runs.get("/{run_id}", responses=responses(404))
def get_alignment_run(rb: Workspace, run_id: RunIdPath) -> AlignmentRunOut:
    """Status, phase, guidelines, counts, verification figures, calls and cost."""
    return _alignment_out(rb.alignment_runs.get(run_id))


@alignment_runs.post("/{run_id}/cancel", responses=responses(404, 503))
def cancel_alignment_run(rb: Workspace, queue: Queue, run_id: RunIdPath) -> AlignmentRunOut:
    """Cancel a run in flight; cancelling a finished run changes nothing."""
    before = rb.alignment_runs.get(run_id)
    run = rb.alignment_runs.cancel(run_id)
    if not before.status.finished:
        queue.cancel(run_id)
    return _alignment_out(run)


@alignment_runs.post("/{run_id}/retry", status_code=202, responses=responses(404, 409, 503))
def retry_alignment_run(rb: Workspace, queue: Queue, run_id: RunIdPath) -> QueuedAlignmentRun:
    """An Error run, queued again; the model calls it had finished are replayed."""
    run = rb.alignment_runs.retry(run_id)
    enqueue_or_cancel(rb, queue, "alignment", run.id, retry=True)
    alive = queue.alive_workers()
    return QueuedAlignmentRun(
        run=_alignment_out(rb.alignment_runs.get(run.id)),
        queued=True,
        alive_workers=alive,
        message=queued_message(alive),
    )


@alignment_runs.put("/{run_id}/guidelines/{guideline_id}", responses=responses(404, 409))
def edit_guideline(
    rb: Workspace, caller: Caller, run_id: RunIdPath, guideline_id: GuidelineId, body: GuidelineEdit
) -> AlignmentRunOut:
    """Replace one guideline's text before accepting (the result records the edit)."""
    return _alignment_out(rb.reviews.edit(run_id, guideline_id, body.text, by=caller))


@alignment_runs.post("/{run_id}/guidelines/{guideline_id}/strike", responses=responses(404, 409))
def strike_guideline(
    rb: Workspace, caller: Caller, run_id: RunIdPath, guideline_id: GuidelineId
) -> AlignmentRunOut:
    """Leave one guideline out of what an accept keeps."""
    return _alignment_out(rb.reviews.strike(run_id, guideline_id, by=caller))


@alignment_runs.post("/{run_id}/guidelines/{guideline_id}/restore", responses=responses(404, 409))
def restore_guideline(
    rb: Workspace, caller: Caller, run_id: RunIdPath, guideline_id: GuidelineId
) -> AlignmentRunOut:
    """Undo a strike."""
    return _alignment_out(rb.reviews.restore(run_id, guideline_id, by=caller))


@alignment_runs.post("/{run_id}/accept", responses=responses(403, 404, 409))
def accept_run(
    rb: Workspace, caller: CallerUser, run_id: RunIdPath, body: AcceptIn | None = None
) -> AcceptOut:
    """Built-in metric: a new custom metric (a fork); custom: its next version, made
    active. Accepting twice creates nothing new; a run whose base version is no longer
    active is refused (409) unless ``merge``. Admins only."""
    caller.require_admin("accept a run")
    merge = body.merge if body is not None else False
    accepted = rb.reviews.accept(run_id, merge=merge, by=caller.name)
    return AcceptOut(
        run=_alignment_out(accepted.run),
        metric=accepted.metric,
        version=MetricVersionOut.model_validate(accepted.version),
        created=accepted.created,
        forked=accepted.forked,
        merged=accepted.merged,
    )


@alignment_runs.post("/{run_id}/reject", responses=responses(403, 404, 409))
def reject_run(rb: Workspace, caller: CallerUser, run_id: RunIdPath) -> AlignmentRunOut:
    """The run's guidelines are not wanted; the run stays, as history. Admins only."""
    caller.require_admin("reject a run")
    return _alignment_out(rb.reviews.reject(run_id, by=caller.name))
