"""Review queues on the web (issue 15): the list with each queue's progress and, for
admins, the New queue form; a queue's page (its settings, progress per reviewer, who did
what); a reviewer's page, one row at a time, scored by keyboard (static/queue_review.js)
or by plain form buttons; and an admin's conflict view. Every rule is the queue use
cases' (rb.queues, rb.queue_reviews), blindness too: the signed-in user is the reviewer,
never a form field. Each form posts, then redirects to a page that shows what it did."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import Response

from rubricate.api.deps import Workspace
from rubricate.api.roles import Access
from rubricate.domain.errors import Conflict, InvalidInput, NotFound
from rubricate.domain.names import RUN_ID_MAX_CHARS
from rubricate.domain.queues import COMMENT_MAX_CHARS, NOTE_MAX_CHARS, Queue
from rubricate.domain.scale import Scale
from rubricate.domain.users import User
from rubricate.service.workspace import Rubricate
from rubricate.web.pages.common import PageNumber, PostedPage, RowField, ScoreField, see_other
from rubricate.web.pages.evaluations import page_url
from rubricate.web.pages.rows import row_url
from rubricate.web.queue_view import (
    GoldForm,
    QueueForm,
    describe,
    duration,
    paged,
    points,
    queue_url,
    resolver,
)
from rubricate.web.session import CurrentUser, requires
from rubricate.web.templating import page

router = APIRouter()

NOTICE = "queue_notice"  # what the last form did, shown once on the page it lands on
REVIEWS_PAGE = 100
CONFLICTS_PAGE = 20

QueueName = Annotated[str, Path(min_length=1, max_length=RUN_ID_MAX_CHARS)]


def _tell(request: Request, queue: str, text: str, *, alert: bool = False) -> None:
    request.session[NOTICE] = {"queue": queue, "text": text, "alert": alert}


def _told(request: Request, queue: str) -> dict[str, Any] | None:
    """The notice for this page (taken once), or None."""
    found = request.session.get(NOTICE)
    if not isinstance(found, dict) or found.get("queue") != queue:
        return None
    request.session.pop(NOTICE, None)
    return found


def _scale(rb: Rubricate, queue: Queue) -> Scale:
    return rb.metrics.version(queue.metric).scale


def _queue_page(
    request: Request, template: str, name: str, queue: Queue, scale: Scale, **context: Any
) -> Response:
    """One of a queue's pages: what each shows (the queue, the notice its last form left,
    scores in words, the links) beside its own ``context``."""
    return page(
        request,
        template,
        queue=queue,
        notice=_told(request, name),
        scale=scale,
        describe=describe,
        duration=duration,
        queue_url=queue_url,
        row_url=lambda row: row_url(queue.evaluation, row, queue.metric),
        **context,
    )


# -- the list and the New queue form -----------------------------------------------------


@router.get("/queues", dependencies=[requires(Access.REVIEWER)])
def queues_list(request: Request, rb: Workspace, user: CurrentUser) -> Response:
    return _list(request, rb, user, QueueForm.blank(), None)


def _list(
    request: Request,
    rb: Rubricate,
    user: User,
    form: QueueForm,
    error: str | None,
    status_code: int = 200,
) -> Response:
    choices: dict[str, list[str]] | None = None
    if user.is_admin:
        choices = {
            "evaluations": [e.name for e in rb.evaluations.list()],
            "metrics": [m.metric.name for m in rb.metrics.list()],
            "users": [u.name for u in rb.users.list()],
        }
    return page(
        request,
        "queues.html",
        status_code=status_code,
        queues=rb.queues.list(),
        viewer=user,
        form=form,
        error=error,
        choices=choices,
        queue_url=queue_url,
    )


@router.post("/queues", dependencies=[requires(Access.ADMIN)])
def create_queue(
    request: Request, rb: Workspace, user: CurrentUser, form: Annotated[QueueForm, Form()]
) -> Response:
    """An admin's new queue; then its page. A refusal shows the form again, as posted."""
    try:
        queue = rb.queues.create(form.request(), by=user)
    except InvalidInput as error:
        return _list(request, rb, user, form, str(error), status_code=422)
    except Conflict as error:
        return _list(request, rb, user, form, str(error), status_code=409)
    rows = f"{queue.rows:,} row{'' if queue.rows == 1 else 's'}"
    _tell(request, queue.name, f"Queue {queue.name} created with {rows}.")
    return see_other(queue_url(queue.name))


# -- one queue ---------------------------------------------------------------------------


@router.get("/queues/{name}", dependencies=[requires(Access.REVIEWER)])
def queue_page(
    request: Request, rb: Workspace, user: CurrentUser, name: QueueName, number: PageNumber = 1
) -> Response:
    """Its settings and progress; for admins also every review, a page at a time."""
    queue = rb.queues.get(name)
    reviews = (
        paged(rb.queues.reviews(name, by=user), number, REVIEWS_PAGE) if user.is_admin else None
    )
    gold = rb.gold.list(queue.evaluation, queue.metric, by=user) if user.is_admin else None
    scale = _scale(rb, queue)
    return _queue_page(
        request,
        "queue.html",
        name,
        queue,
        scale,
        viewer=user,
        gold=gold,
        points=points(scale),
        note_max=NOTE_MAX_CHARS,
        progress=rb.queues.progress(name, viewer=user),
        reviews=reviews,
        evaluation_url=page_url(queue.evaluation, metric=queue.metric),
    )


@router.post("/queues/{name}/close", dependencies=[requires(Access.ADMIN)])
def close_queue(request: Request, rb: Workspace, user: CurrentUser, name: QueueName) -> Response:
    rb.queues.close(name, by=user)
    _tell(request, name, f"Queue {name} is closed: no row is given out any more.")
    return see_other(queue_url(name))


@router.post("/queues/{name}/gold", dependencies=[requires(Access.ADMIN)])
def set_gold(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    name: QueueName,
    form: Annotated[GoldForm, Form()],
) -> Response:
    """An admin makes a row of the queue's evaluation gold on its metric (or changes it)."""
    queue = rb.queues.get(name)
    row, score, note = form.row.strip(), form.score, form.note
    try:
        made = rb.gold.set(queue.evaluation, queue.metric, row, score, note=note, by=user)
    except (InvalidInput, NotFound) as error:
        _tell(request, name, str(error), alert=True)
    else:
        scale = _scale(rb, queue)
        _tell(request, name, f"Row {made.row_id} is gold: {describe(scale, made.score)}.")
    return see_other(queue_url(name, "#gold"))


@router.post("/queues/{name}/gold/remove", dependencies=[requires(Access.ADMIN)])
def remove_gold(
    request: Request, rb: Workspace, user: CurrentUser, name: QueueName, row: RowField
) -> Response:
    queue = rb.queues.get(name)
    try:
        rb.gold.remove(queue.evaluation, queue.metric, row, by=user)
    except NotFound as error:
        _tell(request, name, str(error), alert=True)
    else:
        _tell(request, name, f"Row {row} is no longer gold.")
    return see_other(queue_url(name, "#gold"))


# -- a reviewer's page -------------------------------------------------------------------


@router.get("/queues/{name}/review", dependencies=[requires(Access.REVIEWER)])
def review_page(request: Request, rb: Workspace, user: CurrentUser, name: QueueName) -> Response:
    """The row the signed-in reviewer holds, else the next one for them (on a lease)."""
    queue = rb.queues.get(name)
    assignment = None if queue.closed else rb.queue_reviews.next(name, user)
    scale = _scale(rb, queue)
    return _queue_page(
        request,
        "queue_review.html",
        name,
        queue,
        scale,
        assignment=assignment,
        points=points(scale),
        comment_max=COMMENT_MAX_CHARS,
    )


@router.post("/queues/{name}/review", dependencies=[requires(Access.REVIEWER)])
def submit_review(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    name: QueueName,
    row: RowField,
    score: ScoreField,
    comment: Annotated[str, Form(max_length=COMMENT_MAX_CHARS)] = "",
) -> Response:
    """The signed-in reviewer's review of a row they were given; then their next row."""
    try:
        done = rb.queue_reviews.submit(name, user, row, score, comment.strip() or None)
    except Conflict as error:  # reviewed already (a second Enter): say so on the next row
        _tell(request, name, str(error), alert=True)
        return see_other(queue_url(name, "/review"))
    scale = _scale(rb, rb.queues.get(name))
    text = f"Saved {describe(scale, done.score)} for row {done.row_id}."
    if not done.counted:
        text += " The row had all its reviews already: yours is kept, beyond the number."
    _tell(request, name, text)
    return see_other(queue_url(name, "/review"))


@router.post("/queues/{name}/review/skip", dependencies=[requires(Access.REVIEWER)])
def skip_row(
    request: Request, rb: Workspace, user: CurrentUser, name: QueueName, row: RowField
) -> Response:
    """Pass on the row held: it goes to another reviewer, never back to this one."""
    try:
        rb.queue_reviews.skip(name, user, row)
    except Conflict as error:
        _tell(request, name, str(error), alert=True)
    else:
        _tell(request, name, f"Skipped row {row}: it goes to another reviewer.")
    return see_other(queue_url(name, "/review"))


# -- an admin's conflict view ------------------------------------------------------------


@router.get("/queues/{name}/conflicts", dependencies=[requires(Access.ADMIN)])
def conflicts_page(
    request: Request, rb: Workspace, user: CurrentUser, name: QueueName, number: PageNumber = 1
) -> Response:
    """Rows whose counted reviews differ by at least the metric's delta, with the row, the
    judge and the reviews side by side, a page at a time."""
    queue = rb.queues.get(name)
    scale = _scale(rb, queue)
    conflicts = paged(rb.queues.conflicts(name, by=user), number, CONFLICTS_PAGE)
    views = {
        c.row_id: rb.evaluation_reads.row(queue.evaluation, queue.metric, c.row_id, viewer=user)
        for c in conflicts.items
    }
    return _queue_page(
        request,
        "queue_conflicts.html",
        name,
        queue,
        scale,
        conflicts=conflicts,
        views=views,
        points=points(scale),
        delta=scale.step,
        resolver=resolver,
    )


@router.post("/queues/{name}/conflicts/resolve", dependencies=[requires(Access.ADMIN)])
def resolve_conflict(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    name: QueueName,
    row: RowField,
    value: ScoreField,
    number: PostedPage = 1,
) -> Response:
    """An admin's final value for a conflicting row, as on the evaluation's page."""
    queue = rb.queues.get(name)
    resolved = rb.annotations.resolve_row(
        queue.evaluation, row, queue.metric, value=value, user=user.name
    )
    scale = _scale(rb, queue)
    _tell(request, name, f"Row {row} resolved: {describe(scale, resolved)}.")
    return see_other(_conflicts_url(name, number))


@router.post("/queues/{name}/conflicts/send-back", dependencies=[requires(Access.ADMIN)])
def send_back(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    name: QueueName,
    row: RowField,
    number: PostedPage = 1,
) -> Response:
    """One more review of the row, by a reviewer who has not had it."""
    try:
        rb.queues.send_back(name, row, by=user)
    except Conflict as error:  # every reviewer has had it: say so on the page
        _tell(request, name, str(error), alert=True)
    else:
        _tell(request, name, f"Row {row} sent back for another review.")
    return see_other(_conflicts_url(name, number))


def _conflicts_url(name: str, number: int) -> str:
    tail = "/conflicts" if number == 1 else f"/conflicts?page={number}"
    return queue_url(name, tail)
