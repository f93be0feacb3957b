"""Alignment runs: the Start Alignment dialog, a run's page, and what can be done to it.

A run's panel (partials/run_panel.html) is both the body of its page and what a run in the
metric's history shows when expanded (``embedded``). Every action answers with the panel
again and fires ``runs-changed`` (the history refreshes itself on it) and, for an accept,
``metric-changed`` (the versions table does)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from rubricate.api.deps import Workspace
from rubricate.api.queueing import Queue, enqueue_or_cancel, queued_message
from rubricate.domain.errors import Conflict, InvalidInput, RubricateError
from rubricate.domain.metrics import active_version
from rubricate.domain.runs import LOW_CONFIDENCE_DISAGREEMENTS, RunStatus
from rubricate.domain.users import User
from rubricate.models.names import OFFLINE_ENGINE
from rubricate.service.workspace import Rubricate
from rubricate.web.alignment_view import alignment_sources, default_reflection_lm, run_view
from rubricate.web.pages.metrics import MetricName, is_htmx
from rubricate.web.session import Admin, CurrentUser
from rubricate.web.templating import page

router = APIRouter()

RunId = Annotated[str, Path(min_length=1, max_length=64)]
GuidelineId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Sources = Annotated[list[str], Form(max_length=200)]
ModelField = Annotated[str, Form(max_length=200)]
DeltaField = Annotated[str, Form(max_length=40)]
Embedded = Annotated[str, Form(max_length=1)]
DEFAULT_DELTA = "1"


# -- the Start Alignment dialog ------------------------------------------------------------


@router.get("/metrics/{name}/align")
def align_dialog(request: Request, rb: Workspace, user: CurrentUser, name: MetricName) -> Response:
    """The dialog's form; ``run_id`` is made now, so that a double submit is one run."""
    metric = rb.metrics.get(name)
    version = rb.metrics.version(name)
    sources, left_out = alignment_sources(rb, name)
    return page(
        request,
        "partials/align_dialog.html",
        metric=metric,
        version=version,
        sources=sources,
        left_out=left_out,
        run_id=uuid.uuid4().hex,
        default_lm=default_reflection_lm(rb),
        offline=OFFLINE_ENGINE,
        judge_hint=rb.settings.judge_model or metric.judge_model,
        delta=DEFAULT_DELTA,
    )


def _delta(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise InvalidInput(
            f"the delta threshold must be a number, not {text.strip()!r}", field="delta"
        ) from None
    if value != value:  # NaN
        raise InvalidInput("the delta threshold must be a number", field="delta")
    return value


@router.post("/metrics/{name}/align/preview")
def align_preview(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    name: MetricName,
    evaluations: Sources = [],  # noqa: B006 (FastAPI copies defaults)
    reflection_lm: ModelField = "",
    judge_model: ModelField = "",
    delta: DeltaField = DEFAULT_DELTA,
) -> Response:
    """What the run would find and cost, as the fields stand; nothing is written."""
    context: dict[str, Any] = {
        "preview": None,
        "problem": None,
        "threshold": LOW_CONFIDENCE_DISAGREEMENTS,
        "offline": OFFLINE_ENGINE,
    }
    if not evaluations:
        context["problem"] = "Choose at least one source evaluation to see what a run would find."
        return page(request, "partials/align_preview.html", **context)
    try:
        context["preview"] = rb.alignment_runs.preview(
            metric=name,
            evaluations=evaluations,
            delta=_delta(delta),
            reflection_lm=reflection_lm.strip() or None,
            judge_model=judge_model.strip() or None,
        )
    except RubricateError as error:
        context["problem"] = getattr(error, "message", None) or str(error)
    return page(request, "partials/align_preview.html", **context)


@router.post("/metrics/{name}/align")
def start_alignment(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    queue: Queue,
    name: MetricName,
    run_id: Annotated[str, Form(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")],
    evaluations: Sources = [],  # noqa: B006
    reflection_lm: ModelField = "",
    judge_model: ModelField = "",
    delta: DeltaField = DEFAULT_DELTA,
) -> Response:
    """Record the run and queue it (as the API does); the dialog closes and the history
    shows the run. A refusal is shown in the dialog, which stays open."""
    try:
        run = rb.alignment_runs.start(
            metric=name,
            evaluations=evaluations,
            delta=_delta(delta),
            reflection_lm=reflection_lm.strip() or None,
            judge_model=judge_model.strip() or None,
            run_id=run_id,
        )
        if not run.status.finished:
            enqueue_or_cancel(rb, queue, "alignment", run.id, retry=False)
    except RubricateError as error:
        if not is_htmx(request):
            raise
        message = getattr(error, "message", None) or str(error)
        response = page(request, "partials/align_problem.html", status_code=422, message=message)
        response.headers.update({"HX-Retarget": "#align-problem", "HX-Reswap": "innerHTML"})
        return response
    if not is_htmx(request):
        return RedirectResponse(f"/alignment-runs/{run.id}", status_code=303)
    message = queued_message(queue.alive_workers())
    response = page(
        request, "partials/align_started.html", message=f"Alignment run started: {message}."
    )
    response.headers.update(
        {
            "HX-Trigger": "close-dialog, runs-changed",
            "HX-Retarget": "#messages",
            "HX-Reswap": "innerHTML",
        }
    )
    return response


# -- a run ----------------------------------------------------------------------------------


def _panel(
    request: Request,
    rb: Rubricate,
    user: User,
    run_id: str,
    *,
    embedded: bool,
    notice: str | None = None,
    status_code: int = 200,
    queue_alive: int | None = None,
) -> Response:
    view = run_view(rb, rb.alignment_runs.get(run_id))
    return page(
        request,
        "partials/run_panel.html",
        status_code=status_code,
        view=view,
        run=view.run,
        user=user,
        embedded=embedded,
        notice=notice,
        alive=queue_alive,
    )


@router.get("/alignment-runs/{run_id}")
def run_page(
    request: Request, rb: Workspace, user: CurrentUser, queue: Queue, run_id: RunId
) -> Response:
    view = run_view(rb, rb.alignment_runs.get(run_id))
    alive = queue.alive_workers() if view.run.status is RunStatus.PENDING else None
    return page(
        request,
        "run.html",
        view=view,
        run=view.run,
        user=user,
        embedded=False,
        notice=None,
        alive=alive,
    )


@router.get("/alignment-runs/{run_id}/panel")
def run_panel(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    queue: Queue,
    run_id: RunId,
    embedded: Annotated[str, Query(max_length=1)] = "",
) -> Response:
    """The run's panel (polled while the run is in flight)."""
    run = rb.alignment_runs.get(run_id)
    alive = queue.alive_workers() if run.status is RunStatus.PENDING else None
    return _panel(request, rb, user, run_id, embedded=bool(embedded), queue_alive=alive)


def _done(
    request: Request,
    rb: Rubricate,
    user: User,
    run_id: str,
    embedded: str,
    *events: str,
    notice: str | None = None,
) -> Response:
    if not is_htmx(request):
        return RedirectResponse(f"/alignment-runs/{run_id}", status_code=303)
    response = _panel(request, rb, user, run_id, embedded=bool(embedded), notice=notice)
    response.headers["HX-Trigger"] = ", ".join(("runs-changed", *events))
    return response


@router.post("/alignment-runs/{run_id}/cancel")
def cancel(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    queue: Queue,
    run_id: RunId,
    embedded: Embedded = "",
) -> Response:
    """Cancel a run in flight; cancelling a finished run changes nothing."""
    before = rb.alignment_runs.get(run_id)
    rb.alignment_runs.cancel(run_id)
    if not before.status.finished:
        queue.cancel(run_id)
    return _done(request, rb, user, run_id, embedded)


@router.post("/alignment-runs/{run_id}/retry")
def retry(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    queue: Queue,
    run_id: RunId,
    embedded: Embedded = "",
) -> Response:
    """An Error run, queued again (the model calls it had finished are replayed)."""
    run = rb.alignment_runs.retry(run_id)
    enqueue_or_cancel(rb, queue, "alignment", run.id, retry=True)
    return _done(request, rb, user, run_id, embedded)


@router.post("/alignment-runs/{run_id}/guidelines/{guideline_id}/strike")
def strike(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    run_id: RunId,
    guideline_id: GuidelineId,
    embedded: Embedded = "",
) -> Response:
    rb.reviews.strike(run_id, guideline_id, by=user.name)
    return _done(request, rb, user, run_id, embedded)


@router.post("/alignment-runs/{run_id}/guidelines/{guideline_id}/restore")
def restore(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    run_id: RunId,
    guideline_id: GuidelineId,
    embedded: Embedded = "",
) -> Response:
    rb.reviews.restore(run_id, guideline_id, by=user.name)
    return _done(request, rb, user, run_id, embedded)


@router.post("/alignment-runs/{run_id}/guidelines/{guideline_id}/edit")
def edit(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    run_id: RunId,
    guideline_id: GuidelineId,
    text: Annotated[str, Form(max_length=5000)],
    embedded: Embedded = "",
) -> Response:
    rb.reviews.edit(run_id, guideline_id, text, by=user.name)
    return _done(request, rb, user, run_id, embedded)


@router.post("/alignment-runs/{run_id}/accept")
def accept(
    request: Request,
    rb: Workspace,
    user: Admin,
    run_id: RunId,
    merge: Annotated[str, Form(max_length=1)] = "",
    embedded: Embedded = "",
) -> Response:
    """Admins only. A stale base (another version became active meanwhile) is refused with
    the explanation, and the panel then offers Accept and merge."""
    try:
        rb.reviews.accept(run_id, merge=bool(merge), by=user.name)
    except Conflict as error:
        run = rb.alignment_runs.get(run_id)
        metric = rb.metrics.get(run.metric)
        active = active_version(metric, rb.metrics.versions(run.metric))
        if merge or active.id == run.base_version_id or not is_htmx(request):
            raise
        return _panel(
            request, rb, user, run_id, embedded=bool(embedded), notice=str(error), status_code=409
        )
    return _done(request, rb, user, run_id, embedded, "metric-changed")


@router.post("/alignment-runs/{run_id}/reject")
def reject(
    request: Request,
    rb: Workspace,
    user: Admin,
    run_id: RunId,
    embedded: Embedded = "",
) -> Response:
    """Admins only: the run's guidelines are not wanted; the run stays, as history."""
    rb.reviews.reject(run_id, by=user.name)
    return _done(request, rb, user, run_id, embedded)
