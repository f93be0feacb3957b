"""Alignment runs: the Start Alignment dialog, a run's page, and what can be done to it.

A run's panel (partials/run_panel.html) is both the body of its page and what a run in the
metric's history shows when expanded (``embedded``). Every action answers with the panel
again and fires ``runs-changed`` (the history refreshes itself on it) and, for an accept,
``metric-changed`` (the versions table does)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal, TypedDict

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from rubricate.api.deps import Workspace
from rubricate.api.paths import GuidelineId, MetricName, RunIdPath
from rubricate.api.queueing import Control, Queue, RunQueue, queue_reply
from rubricate.api.roles import Access
from rubricate.domain.acceptance import UnverifiedRun
from rubricate.domain.alignment_runs import LOW_CONFIDENCE_DISAGREEMENTS, RunStatus
from rubricate.domain.errors import Conflict, InvalidInput, RubricateError
from rubricate.domain.metrics import active_version
from rubricate.domain.users import User
from rubricate.models.names import OFFLINE_ENGINE
from rubricate.service.workspace import Rubricate
from rubricate.web.alignment_view import RunView, alignment_sources, run_view
from rubricate.web.pages.common import is_htmx, problem, see_other
from rubricate.web.session import CurrentUser, requires
from rubricate.web.templating import page

router = APIRouter()

Embedded = Annotated[str, Form(max_length=1)]
DEFAULT_DELTA = "1"


# -- the Start Alignment dialog ------------------------------------------------------------


@router.get("/metrics/{name}/align", dependencies=[requires(Access.REVIEWER)])
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
        default_lm=rb.alignment_runs.default_reflection_lm(),
        offline=OFFLINE_ENGINE,
        judge_hint=rb.settings.judge_model or metric.judge_model,
        delta=DEFAULT_DELTA,
    )


class Asked(TypedDict):
    """What the dialog asks of a run: the keywords preview and start both take."""

    evaluations: list[str]
    delta: float
    reflection_lm: str | None
    judge_model: str | None


class AlignFields(BaseModel):
    """The dialog's fields, declared once for the preview and for Start, and what they ask
    of the run (``asked``: the keywords both use cases take)."""

    evaluations: list[str] = Field([], max_length=200)
    reflection_lm: str = Field("", max_length=200)
    judge_model: str = Field("", max_length=200)
    delta: str = Field(DEFAULT_DELTA, max_length=40)

    def asked(self) -> Asked:
        return {
            "evaluations": self.evaluations,
            "delta": _delta(self.delta),
            "reflection_lm": self.reflection_lm.strip() or None,
            "judge_model": self.judge_model.strip() or None,
        }


class StartFields(AlignFields):
    """Start's fields: the same, and the run's id, made when the dialog opened."""

    run_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")


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


@router.post("/metrics/{name}/align/preview", dependencies=[requires(Access.REVIEWER)])
def align_preview(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    name: MetricName,
    fields: Annotated[AlignFields, Form()],
) -> Response:
    """What the run would find and cost, as the fields stand; nothing is written."""
    context: dict[str, Any] = {
        "preview": None,
        "problem": None,
        "threshold": LOW_CONFIDENCE_DISAGREEMENTS,
        "offline": OFFLINE_ENGINE,
    }
    if not fields.evaluations:
        context["problem"] = "Choose at least one source evaluation to see what a run would find."
        return page(request, "partials/align_preview.html", **context)
    try:
        context["preview"] = rb.alignment_runs.preview(metric=name, **fields.asked())
    except RubricateError as error:
        context["problem"] = problem(error)
    return page(request, "partials/align_preview.html", **context)


@router.post("/metrics/{name}/align", dependencies=[requires(Access.REVIEWER)])
def start_alignment(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    control: Control,
    name: MetricName,
    fields: Annotated[StartFields, Form()],
) -> Response:
    """Record the run and queue it (as the API does); the dialog closes and the history
    shows the run. A refusal is shown in the dialog, which stays open."""
    try:
        run = rb.alignment_runs.start(metric=name, run_id=fields.run_id, **fields.asked())
        queued = control.alignment.queue(run)
    except RubricateError as error:
        if not is_htmx(request):
            raise
        message = problem(error)
        response = page(request, "partials/align_problem.html", status_code=422, message=message)
        response.headers.update({"HX-Retarget": "#align-problem", "HX-Reswap": "innerHTML"})
        return response
    if not is_htmx(request):
        return see_other(f"/alignment-runs/{run.id}")
    _, message = queue_reply(control, run.status.label, queued)
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


def _ask_verifying(view: RunView, queue: RunQueue) -> bool:
    """Note on the view whether a Verify again is under way, asking the workers' queue
    only for a run that could be verified again."""
    if view.open_for_review and view.run.params.judge_model:
        state = queue.verify_state(view.run.id)
        view.verifying, view.verify_failure = state.pending, state.failure
    return view.verifying


def panel_response(
    request: Request,
    rb: Rubricate,
    user: User,
    run_id: str,
    *,
    embedded: bool,
    notice: str | None = None,
    status_code: int = 200,
    queue_alive: int | None = None,
    queue: RunQueue | None = None,
) -> Response:
    """The run's panel. With ``queue``: whether a Verify again is under way, asked of the
    workers' queue only when the run could be verified again."""
    view = run_view(rb, rb.alignment_runs.get(run_id, viewer=user))
    if queue is not None and _ask_verifying(view, queue):
        queue_alive = queue.alive_workers()
    return _render(
        request, "partials/run_panel.html", view, user, embedded, notice, queue_alive, status_code
    )


def _render(
    request: Request,
    template: str,
    view: RunView,
    user: User,
    embedded: bool,
    notice: str | None,
    alive: int | None,
    status_code: int = 200,
) -> Response:
    """A run's page or panel: the same view, the same words, either way."""
    return page(
        request,
        template,
        status_code=status_code,
        view=view,
        run=view.run,
        user=user,
        embedded=embedded,
        notice=notice,
        alive=alive,
    )


@router.get("/alignment-runs/{run_id}", dependencies=[requires(Access.REVIEWER)])
def run_page(
    request: Request, rb: Workspace, user: CurrentUser, queue: Queue, run_id: RunIdPath
) -> Response:
    view = run_view(rb, rb.alignment_runs.get(run_id, viewer=user))
    alive = queue.alive_workers() if view.run.status is RunStatus.PENDING else None
    if _ask_verifying(view, queue):
        alive = queue.alive_workers()
    return _render(request, "run.html", view, user, False, None, alive)


@router.get("/alignment-runs/{run_id}/panel", dependencies=[requires(Access.REVIEWER)])
def run_panel(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    queue: Queue,
    run_id: RunIdPath,
    embedded: Annotated[str, Query(max_length=1)] = "",
) -> Response:
    """The run's panel (polled while the run is in flight)."""
    run = rb.alignment_runs.get(run_id)
    alive = queue.alive_workers() if run.status is RunStatus.PENDING else None
    return panel_response(
        request, rb, user, run_id, embedded=bool(embedded), queue_alive=alive, queue=queue
    )


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
        return see_other(f"/alignment-runs/{run_id}")
    response = panel_response(request, rb, user, run_id, embedded=bool(embedded), notice=notice)
    response.headers["HX-Trigger"] = ", ".join(("runs-changed", *events))
    return response


def _add_run_action(action: Literal["cancel", "retry"], doc: str) -> None:
    """Cancel and retry: a route each (an action as a path parameter would shadow accept,
    reject and verify), one body."""

    def act(
        request: Request,
        rb: Workspace,
        user: CurrentUser,
        control: Control,
        run_id: RunIdPath,
        embedded: Embedded = "",
    ) -> Response:
        runs = control.alignment
        (runs.cancel if action == "cancel" else runs.retry)(run_id)
        return _done(request, rb, user, run_id, embedded)

    act.__name__ = act.__qualname__ = action
    act.__doc__ = doc
    router.post(f"/alignment-runs/{{run_id}}/{action}", dependencies=[requires(Access.REVIEWER)])(
        act
    )


_add_run_action("cancel", "Cancel a run in flight; cancelling a finished run changes nothing.")
_add_run_action(
    "retry", "An Error run, queued again (the model calls it had finished are replayed)."
)


@router.post(
    "/alignment-runs/{run_id}/guidelines/{guideline_id}/edit",
    dependencies=[requires(Access.REVIEWER)],
)
def edit(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    run_id: RunIdPath,
    guideline_id: GuidelineId,
    text: Annotated[str, Form(max_length=5000)],
    embedded: Embedded = "",
) -> Response:
    rb.reviews.edit(run_id, guideline_id, text, by=user.name)
    return _done(request, rb, user, run_id, embedded)


# After edit's route, so that a POST to .../edit never reaches this one.
@router.post(
    "/alignment-runs/{run_id}/guidelines/{guideline_id}/{strike_or_restore}",
    dependencies=[requires(Access.REVIEWER)],
)
def mark_guideline(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    run_id: RunIdPath,
    guideline_id: GuidelineId,
    strike_or_restore: Literal["strike", "restore"],
    embedded: Embedded = "",
) -> Response:
    """Strike a guideline (left out of what an accept keeps), or restore it."""
    change = rb.reviews.strike if strike_or_restore == "strike" else rb.reviews.restore
    change(run_id, guideline_id, by=user.name)
    return _done(request, rb, user, run_id, embedded)


@router.post("/alignment-runs/{run_id}/accept", dependencies=[requires(Access.ADMIN)])
def accept(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    run_id: RunIdPath,
    merge: Annotated[str, Form(max_length=1)] = "",
    confirm_unverified: Annotated[str, Form(max_length=1)] = "",
    embedded: Embedded = "",
) -> Response:
    """Admins only. A stale base (another version became active meanwhile) is refused with
    the explanation, and the panel then offers Accept and merge. A run that is not
    verified needs the confirming checkbox; without it the panel says why."""
    try:
        rb.reviews.accept(
            run_id, merge=bool(merge), confirm_unverified=bool(confirm_unverified), by=user.name
        )
    except UnverifiedRun as error:
        if not is_htmx(request):
            raise
        notice = (
            f"Not accepted: this run is not verified ({error.reason}). "
            "Tick the box to confirm that you want it anyway."
        )
        return panel_response(
            request, rb, user, run_id, embedded=bool(embedded), notice=notice, status_code=409
        )
    except Conflict as error:
        run = rb.alignment_runs.get(run_id)
        metric = rb.metrics.get(run.metric)
        active = active_version(metric, rb.metrics.versions(run.metric))
        if merge or active.id == run.base_version_id or not is_htmx(request):
            raise
        return panel_response(
            request, rb, user, run_id, embedded=bool(embedded), notice=str(error), status_code=409
        )
    return _done(request, rb, user, run_id, embedded, "metric-changed")


@router.post("/alignment-runs/{run_id}/reject", dependencies=[requires(Access.ADMIN)])
def reject(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    run_id: RunIdPath,
    embedded: Embedded = "",
) -> Response:
    """Admins only: the run's guidelines are not wanted; the run stays, as history."""
    rb.reviews.reject(run_id, by=user.name)
    return _done(request, rb, user, run_id, embedded)
