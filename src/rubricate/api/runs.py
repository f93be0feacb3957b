"""Evaluation runs and alignment runs: start (queued for workers; ``run_id`` or the
``Idempotency-Key`` header makes a repeated start one run), estimate, list, show, cancel,
retry; for alignment runs also the review: edit, strike, restore, accept, reject."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Header, Query

from rubricate.api.auth import Caller, CallerUser
from rubricate.api.deps import Workspace
from rubricate.api.errors import responses
from rubricate.api.pagination import Page, PageParams, page_of
from rubricate.api.paths import GuidelineId, RunIdPath
from rubricate.api.queueing import Control, queue_reply
from rubricate.api.reviewer_schemas import ReviewerWarningOut
from rubricate.api.roles import Access, requires
from rubricate.api.run_schemas import (
    AcceptIn,
    AcceptOut,
    AlignmentPreviewOut,
    AlignmentRunOut,
    AlignmentStart,
    CostEstimateOut,
    DroppedGuidelineOut,
    EvaluationRunEstimateIn,
    EvaluationRunOut,
    EvaluationRunStart,
    GuidelineEdit,
    QueuedAlignmentRun,
    QueuedEvaluationRun,
    QueuedRun,
    RowErrorOut,
    RowErrorsOut,
    RowRefOut,
)
from rubricate.api.schemas import Out, out_of
from rubricate.domain.acceptance import dropped_guidelines, nothing_to_accept, unverified_reason
from rubricate.domain.alignment_runs import AlignmentRun, Budget
from rubricate.domain.errors import InvalidInput
from rubricate.domain.evaluation_runs import EvaluationRun
from rubricate.limits import ROW_ERRORS_MAX
from rubricate.service.workspace import Rubricate

if TYPE_CHECKING:
    from rubricate.runs.control import RunControl
    from rubricate.service.alignment_runs import RunChoices

evaluation_runs = APIRouter(prefix="/evaluation-runs", tags=["evaluation runs"])
alignment_runs = APIRouter(prefix="/alignment-runs", tags=["alignment runs"])

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


def _alignment_out(run: AlignmentRun, rb: Rubricate | None = None) -> AlignmentRunOut:
    """The run; with ``rb``, also the user's ids of the rows its result names (one read)."""
    result = run.result
    refs = rb.alignment_runs.result_rows(result) if rb is not None else {}
    return out_of(
        AlignmentRunOut,
        run,
        row_refs=[RowRefOut.model_validate(ref) for ref in refs.values()],
        dropped=[DroppedGuidelineOut.model_validate(d) for d in dropped_guidelines(result)]
        if result
        else [],
        nothing_to_accept=nothing_to_accept(run.id, result) if result else None,
        unverified=unverified_reason(result) if result else None,
    )


Q = TypeVar("Q", bound=QueuedRun)


def _queued(
    reply: type[Q],
    control: RunControl,
    run: EvaluationRun | AlignmentRun,
    out: Out,
    queued: bool,
    **fields: Any,
) -> Q:
    """The reply to a start or a retry: the run (as ``out``), whether it was queued, the
    workers alive and what the caller is told."""
    alive, message = queue_reply(control, run.status.label, queued)
    return reply(run=out, queued=queued, alive_workers=alive, message=message, **fields)


# A route that queues a run: 202 Accepted, or why it could not be queued.
_QUEUES: dict[str, Any] = {
    "dependencies": [requires(Access.REVIEWER)],
    "status_code": 202,
    "responses": responses(404, 409, 503),
}


# -- evaluation runs -----------------------------------------------------------------------


@evaluation_runs.post("", **_QUEUES)
def start_evaluation_run(
    rb: Workspace,
    control: Control,
    body: EvaluationRunStart,
    idempotency_key: IdempotencyKey = None,
) -> QueuedEvaluationRun:
    """Record a Pending run and queue it for a worker. The model (and its key) is checked
    first; nothing is written when anything is wrong."""
    run = rb.evaluation_runs.start(
        metric=body.metric,
        evaluation=body.evaluation,
        model=body.model,
        temperature=body.temperature,
        seed=body.seed,
        run_id=_run_id(idempotency_key, body.run_id),  # one id namespace: the service checks
        max_calls=body.max_calls,
        max_cost_usd=body.max_cost_usd,
    )
    queued = control.evaluation.queue(run)
    return _queued(QueuedEvaluationRun, control, run, EvaluationRunOut.model_validate(run), queued)


@evaluation_runs.post(
    "/estimate", dependencies=[requires(Access.REVIEWER)], responses=responses(404)
)
def estimate_evaluation_run(rb: Workspace, body: EvaluationRunEstimateIn) -> CostEstimateOut:
    """Tokens and money for scoring every row; no model is called, no key is needed."""
    estimate = rb.evaluation_runs.estimate(
        metric=body.metric, evaluation=body.evaluation, model=body.model
    )
    return CostEstimateOut.model_validate(estimate)


@evaluation_runs.get("", dependencies=[requires(Access.REVIEWER)], responses=responses(404))
def list_evaluation_runs(
    rb: Workspace,
    paging: PageParams,
    evaluation: Annotated[str | None, Query(max_length=200, description="Of one evaluation.")] = (
        None
    ),
) -> Page[EvaluationRunOut]:
    """Runs, newest first."""
    return page_of(rb.evaluation_runs.list(evaluation), paging, EvaluationRunOut.model_validate)


@evaluation_runs.get(
    "/{run_id}", dependencies=[requires(Access.REVIEWER)], responses=responses(404)
)
def get_evaluation_run(rb: Workspace, run_id: RunIdPath) -> EvaluationRunOut:
    return EvaluationRunOut.model_validate(rb.evaluation_runs.get(run_id))


@evaluation_runs.get(
    "/{run_id}/errors", dependencies=[requires(Access.REVIEWER)], responses=responses(404)
)
def evaluation_run_errors(
    rb: Workspace,
    run_id: RunIdPath,
    limit: Annotated[
        int, Query(ge=1, le=ROW_ERRORS_MAX, description="At most this many rows.")
    ] = 50,
) -> RowErrorsOut:
    """The rows the run could not score, with each one's error, in the evaluation's order."""
    errors, total = rb.evaluation_runs.errors(run_id, limit=limit)
    return RowErrorsOut(rows=[RowErrorOut.model_validate(e) for e in errors], total=total)


@evaluation_runs.post(
    "/{run_id}/cancel", dependencies=[requires(Access.REVIEWER)], responses=responses(404, 503)
)
def cancel_evaluation_run(control: Control, run_id: RunIdPath) -> EvaluationRunOut:
    """Stop a run at its next batch; cancelling a finished run changes nothing."""
    return EvaluationRunOut.model_validate(control.evaluation.cancel(run_id))


@evaluation_runs.post("/{run_id}/retry", **_QUEUES)
def retry_evaluation_run(control: Control, run_id: RunIdPath) -> QueuedEvaluationRun:
    """An Error run, queued again: it scores only the rows it had not scored."""
    run = control.evaluation.retry(run_id)
    return _queued(QueuedEvaluationRun, control, run, EvaluationRunOut.model_validate(run), True)


# -- alignment runs ------------------------------------------------------------------------


def _choices(body: AlignmentStart) -> RunChoices:
    """What a start and a preview read from the body besides metric, sources and delta."""
    return {
        "reflection_lm": body.reflection_lm,
        "judge_model": body.judge_model,
        "budget": Budget(**body.budget.model_dump()),
        "seed": body.seed,
    }


@alignment_runs.post("", **_QUEUES)
def start_alignment_run(
    rb: Workspace, control: Control, body: AlignmentStart, idempotency_key: IdempotencyKey = None
) -> QueuedAlignmentRun:
    """Record a Pending run and queue it for a worker. Every parameter is checked first
    (completed sources with resolved annotations and judge results, a delta that fits the
    scale, models and keys); nothing is written when one is wrong."""
    run = rb.alignment_runs.start(
        metric=body.metric,
        evaluations=body.evaluations,
        delta=body.delta,
        run_id=_run_id(idempotency_key, body.run_id),
        **_choices(body),
    )
    queued = control.alignment.queue(run)
    warning = rb.alignment_runs.reviewer_warning(metric=body.metric, evaluations=body.evaluations)
    return _queued(
        QueuedAlignmentRun,
        control,
        run,
        _alignment_out(run, rb),
        queued,
        reviewer_warning=None if warning is None else ReviewerWarningOut.model_validate(warning),
    )


@alignment_runs.post("/preview", dependencies=[requires(Access.REVIEWER)], responses=responses(404))
def preview_alignment_run(rb: Workspace, body: AlignmentStart) -> AlignmentPreviewOut:
    """Disagreements at the threshold, reviewers' agreement, the low-confidence flag and
    the estimated calls, tokens and cost; no model is called, nothing is written."""
    preview = rb.alignment_runs.preview(
        metric=body.metric, evaluations=body.evaluations, delta=body.delta, **_choices(body)
    )
    return AlignmentPreviewOut.model_validate(preview)


@alignment_runs.get("", dependencies=[requires(Access.REVIEWER)], responses=responses(404))
def list_alignment_runs(
    rb: Workspace,
    paging: PageParams,
    metric: Annotated[str, Query(min_length=1, max_length=100, description="The metric.")],
) -> Page[AlignmentRunOut]:
    """A metric's runs, newest first."""
    return page_of(rb.alignment_runs.list(metric), paging, _alignment_out)


@alignment_runs.get("/{run_id}", dependencies=[requires(Access.REVIEWER)], responses=responses(404))
def get_alignment_run(rb: Workspace, caller: CallerUser, run_id: RunIdPath) -> AlignmentRunOut:
    """Status, phase, guidelines, counts, verification figures, calls and cost (without
    the test rows a blind review queue withholds from the caller)."""
    return _alignment_out(rb.alignment_runs.get(run_id, viewer=caller), rb)


@alignment_runs.post(
    "/{run_id}/cancel", dependencies=[requires(Access.REVIEWER)], responses=responses(404, 503)
)
def cancel_alignment_run(rb: Workspace, control: Control, run_id: RunIdPath) -> AlignmentRunOut:
    """Cancel a run in flight; cancelling a finished run changes nothing."""
    return _alignment_out(control.alignment.cancel(run_id), rb)


@alignment_runs.post("/{run_id}/retry", **_QUEUES)
def retry_alignment_run(rb: Workspace, control: Control, run_id: RunIdPath) -> QueuedAlignmentRun:
    """An Error run, queued again; the model calls it had finished are replayed."""
    run = control.alignment.retry(run_id)
    return _queued(QueuedAlignmentRun, control, run, _alignment_out(run, rb), True)


@alignment_runs.put(
    "/{run_id}/guidelines/{guideline_id}",
    dependencies=[requires(Access.REVIEWER)],
    responses=responses(404, 409),
)
def edit_guideline(
    rb: Workspace, caller: Caller, run_id: RunIdPath, guideline_id: GuidelineId, body: GuidelineEdit
) -> AlignmentRunOut:
    """Replace one guideline's text before accepting (the result records the edit)."""
    return _alignment_out(rb.reviews.edit(run_id, guideline_id, body.text, by=caller), rb)


def _add_marking(action: Literal["strike", "restore"], doc: str) -> None:
    """Strike and restore: two operations with their own ids in the schema, one body."""

    def mark(
        rb: Workspace, caller: Caller, run_id: RunIdPath, guideline_id: GuidelineId
    ) -> AlignmentRunOut:
        review = rb.reviews.strike if action == "strike" else rb.reviews.restore
        return _alignment_out(review(run_id, guideline_id, by=caller), rb)

    mark.__name__ = mark.__qualname__ = f"{action}_guideline"
    mark.__doc__ = doc
    alignment_runs.post(
        f"/{{run_id}}/guidelines/{{guideline_id}}/{action}",
        dependencies=[requires(Access.REVIEWER)],
        responses=responses(404, 409),
    )(mark)


_add_marking("strike", "Leave one guideline out of what an accept keeps.")
_add_marking("restore", "Undo a strike.")


@alignment_runs.post(
    "/{run_id}/accept", dependencies=[requires(Access.ADMIN)], responses=responses(403, 404, 409)
)
def accept_run(
    rb: Workspace, caller: CallerUser, run_id: RunIdPath, body: AcceptIn | None = None
) -> AcceptOut:
    """Built-in metric: a new custom metric (a fork); custom: its next version, made
    active. Accepting twice creates nothing new; a run whose base version is no longer
    active is refused (409) unless ``merge``; a run that is not verified is refused
    (409, with the reason) unless ``confirm_unverified``. Admins only."""
    given = body if body is not None else AcceptIn()
    accepted = rb.reviews.accept(
        run_id,
        merge=given.merge,
        confirm_unverified=given.confirm_unverified,
        by=caller.name,
    )
    return out_of(AcceptOut, accepted, run=_alignment_out(accepted.run, rb))


@alignment_runs.post(
    "/{run_id}/reject", dependencies=[requires(Access.ADMIN)], responses=responses(403, 404, 409)
)
def reject_run(rb: Workspace, caller: CallerUser, run_id: RunIdPath) -> AlignmentRunOut:
    """The run's guidelines are not wanted; the run stays, as history. Admins only."""
    return _alignment_out(rb.reviews.reject(run_id, by=caller.name), rb)
