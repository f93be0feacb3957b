"""/api/v1/queues: review queues. Admins create, close and watch them (reviews, conflicts,
send a row back); a reviewer takes the next row, reviews or skips it, always as the
caller (the token's user, never a name in the body). What a blind queue withholds is the
service's to decide (service/queue_reviews.py), not this router's."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from rubricate.api.auth import CallerUser
from rubricate.api.deps import Workspace
from rubricate.api.errors import responses
from rubricate.api.pagination import Page, PageParams, page_of
from rubricate.api.paths import QueueName, RowIdPath
from rubricate.api.queue_schemas import (
    AssignmentOut,
    ConflictOut,
    QueueDetailOut,
    QueueIn,
    QueueOut,
    ReviewerProgressOut,
    ReviewIn,
    RowReviewOut,
    SubmittedOut,
)
from rubricate.api.roles import Access, requires
from rubricate.api.schemas import out_of
from rubricate.domain.queues import Assignment, Queue, Review

router = APIRouter(prefix="/queues", tags=["review queues"])

ROW = "/{name}/rows/{row_id:path}"  # a row id may hold "/": the routes end in a fixed word
NOTHING_LEFT: dict[int | str, dict[str, Any]] = {
    204: {"description": "The queue has no row left for the caller (an empty body)."}
}


def _queue(queue: Queue) -> QueueOut:
    return QueueOut.model_validate(queue)


def _review(row_id: str, review: Review) -> RowReviewOut:
    return out_of(RowReviewOut, review, row_id=row_id)


def _assignment(found: Assignment) -> AssignmentOut:
    return AssignmentOut.model_validate(found)


@router.post(
    "",
    dependencies=[requires(Access.ADMIN)],
    status_code=201,
    responses=responses(403, 404, 409),
)
def create_queue(rb: Workspace, caller: CallerUser, body: QueueIn) -> QueueOut:
    """A queue on the rows of an evaluation that ``selection`` picks, for one metric, with
    its reviewers and the reviews each row needs; ``409`` if the name is taken."""
    return _queue(rb.queues.create(body.request(), by=caller))


@router.get("", dependencies=[requires(Access.REVIEWER)], responses=responses())
def list_queues(rb: Workspace, paging: PageParams) -> Page[QueueOut]:
    """Every queue with its progress (rows done, reviews counted and needed), oldest first."""
    return page_of(rb.queues.list(), paging, _queue)


@router.get("/{name}", dependencies=[requires(Access.REVIEWER)], responses=responses(404))
def get_queue(rb: Workspace, caller: CallerUser, name: QueueName) -> QueueDetailOut:
    """The queue and, per reviewer, reviews counted and beyond the number, rows skipped and
    held, the median time to a review and (admins only) their accuracy on gold rows."""
    queue = rb.queues.get(name)
    found = rb.queues.progress(name, viewer=caller)
    progress = [ReviewerProgressOut.model_validate(p) for p in found]
    return out_of(QueueDetailOut, queue, progress=progress)


@router.post(
    "/{name}/next",
    dependencies=[requires(Access.REVIEWER)],
    response_model=AssignmentOut,
    responses={**NOTHING_LEFT, **responses(403, 404, 409)},
)
def next_row(rb: Workspace, caller: CallerUser, name: QueueName) -> Any:
    """The caller's next row, leased to them until ``expires_at``: the one they hold, else
    a new one. In a blind queue the judge's score and others' reviews are left out until
    the caller has submitted. ``204`` when nothing is left for them; ``403`` if they are
    not one of its reviewers; ``409`` if the queue is closed."""
    found = rb.queue_reviews.next(name, caller)
    if found is None:
        return Response(status_code=204)
    return _assignment(found)


@router.post(
    f"{ROW}/review",
    dependencies=[requires(Access.REVIEWER)],
    status_code=201,
    responses=responses(403, 404, 409),
)
def submit_review(
    rb: Workspace, caller: CallerUser, name: QueueName, row_id: RowIdPath, body: ReviewIn
) -> SubmittedOut:
    """The caller's review of a row they were given. A review after the lease ran out is
    kept: it counts while the row needs one, else ``counted`` is false. ``409`` if the
    caller reviewed the row already; ``403`` if it was never given to them."""
    done = rb.queue_reviews.submit(name, caller, row_id, body.score, body.comment)
    return SubmittedOut.model_validate(done)


@router.post(
    f"{ROW}/skip",
    dependencies=[requires(Access.REVIEWER)],
    status_code=204,
    responses=responses(403, 404, 409),
)
def skip_row(rb: Workspace, caller: CallerUser, name: QueueName, row_id: RowIdPath) -> Response:
    """Pass on a row the caller holds: it goes to another reviewer, never back to them;
    ``409`` if they do not hold it."""
    rb.queue_reviews.skip(name, caller, row_id)
    return Response(status_code=204)


@router.get("/{name}/reviews", dependencies=[requires(Access.ADMIN)], responses=responses(403, 404))
def list_reviews(
    rb: Workspace, caller: CallerUser, name: QueueName, paging: PageParams
) -> Page[RowReviewOut]:
    """Who reviewed what: every submitted review, in queue order."""
    found = rb.queues.reviews(name, by=caller)
    return page_of(found, paging, lambda item: _review(*item))


@router.get(
    "/{name}/conflicts", dependencies=[requires(Access.ADMIN)], responses=responses(403, 404)
)
def list_conflicts(
    rb: Workspace, caller: CallerUser, name: QueueName, paging: PageParams
) -> Page[ConflictOut]:
    """Rows with all their reviews whose counted scores differ by at least the metric's
    delta, with the resolved value where there is one."""
    return page_of(rb.queues.conflicts(name, by=caller), paging, ConflictOut.model_validate)


@router.post(
    f"{ROW}/send-back",
    dependencies=[requires(Access.ADMIN)],
    responses=responses(403, 404, 409),
)
def send_back(rb: Workspace, caller: CallerUser, name: QueueName, row_id: RowIdPath) -> QueueOut:
    """One more review of a row, by a reviewer who has not had it; ``409`` when every
    reviewer of the queue has."""
    return _queue(rb.queues.send_back(name, row_id, by=caller))


@router.post("/{name}/close", dependencies=[requires(Access.ADMIN)], responses=responses(403, 404))
def close_queue(rb: Workspace, caller: CallerUser, name: QueueName) -> QueueOut:
    """No row is given out any more, and a blind queue's rows are no longer withheld from
    its reviewers. Closing a closed queue changes nothing."""
    return _queue(rb.queues.close(name, by=caller))
