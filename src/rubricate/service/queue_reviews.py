"""Review queues, a reviewer's side: the next row, a review, a skip.

A row is leased to one reviewer at a time until its lease expires, so a row gets exactly
its number of counted reviews: the next row is the first that still needs a review once
its live leases are counted, and that was never given to this reviewer (one assignment
per row and reviewer, a unique key). A reviewer asking again gets the row they hold; one
whose lease lapsed (a closed tab) gets it back if it still needs them. A review submitted
after its lease expired is never lost: it counts if the row still needs one, else it is
kept, marked beyond the number. On PostgreSQL the queue's row is locked while a row is
taken or a review counted (SQLite's write lock does the same)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from rubricate.domain.errors import Conflict, Forbidden, InvalidInput
from rubricate.domain.queues import (
    COMMENT_MAX_CHARS,
    Assignment,
    AssignmentState,
    Review,
    Submitted,
    gold_due,
)
from rubricate.domain.users import User
from rubricate.service.annotations import score_on
from rubricate.service.base import Service
from rubricate.service.queues import active_of, queue_item, review_of
from rubricate.store import gold as gold_store
from rubricate.store import queues as store
from rubricate.store.queue_tables import (
    QueueAssignmentRecord,
    QueueItemRecord,
    QueueReviewerRecord,
    ReviewQueueRecord,
)
from rubricate.store.queues import LEASED, SUBMITTED
from rubricate.store.tables import AnnotationRecord, MetricRecord, utcnow
from rubricate.store.upsert import upsert

SKIPPED = AssignmentState.SKIPPED.value


class QueueReviewService(Service):
    def next(self, queue: str, reviewer: User) -> Assignment | None:
        """The row ``reviewer`` should review now (the one they hold, else a new one, on a
        lease), or None when the queue has none left for them."""
        now = utcnow()
        with self._db.write() as session:  # the lease, under the queue's lock: kept short
            record = _reviewers_queue(session, queue, reviewer)
            if record.closed_at is not None:
                raise Conflict(f"review queue {queue!r} is closed")
            held = _held_or_renewed(session, record, reviewer.name, now)
            if held is None:
                item = store.next_open_item(session, record.id, reviewer.name, now)
                if item is None:
                    return None
                held = QueueAssignmentRecord(
                    queue_id=record.id,
                    item_id=_gold_instead(session, record, reviewer.name, item),
                    reviewer=reviewer.name,
                    state=LEASED,
                    leased_at=now,
                    expires_at=now + timedelta(seconds=record.lease_seconds),
                    beyond=False,
                )
                session.add(held)
                session.flush()
        with self._db.read() as session:  # what the page shows, after the lock is let go
            return _assignment(session, record, held)  # kept after the commit: plain values

    def submit(
        self,
        queue: str,
        reviewer: User,
        row_id: str,
        score: float | str,
        comment: str | None = None,
    ) -> Submitted:
        """``reviewer``'s review of a row they were given. It counts while the row needs
        one (then it is also their annotation of the row, from this queue); after that it
        is kept, marked beyond the number."""
        if comment is not None and len(comment) > COMMENT_MAX_CHARS:
            raise InvalidInput(
                f"a comment is at most {COMMENT_MAX_CHARS} characters", field="comment"
            )
        now = utcnow()
        with self._db.write() as session:  # the row's lock, not the queue's: reviews of
            record = _reviewers_queue(session, queue, reviewer, lock=False)  # rows go at once
            item = queue_item(session, record, row_id, lock=True)
            given = store.assignment_on(session, item.id, reviewer.name)
            if given is None:
                raise Forbidden(f"row {row_id!r} of queue {queue!r} was not given to you")
            if given.state == SUBMITTED:
                raise Conflict(f"you have reviewed row {row_id!r} of queue {queue!r} already")
            metric = session.get(MetricRecord, record.metric_id)
            assert metric is not None  # a foreign key
            value = score_on(active_of(session, metric).scale, score, "score")
            if item.gold:  # calibration only: counted toward nothing, and no annotation
                given.state, given.score, given.comment = SUBMITTED, value, comment or None
                given.submitted_at = now
                given.seconds = max(0.0, (now - given.leased_at).total_seconds())
                return Submitted(counted=True, row_id=row_id, score=value)  # as any row's
            counted = item.counted < item.needed
            given.state, given.score, given.comment = SUBMITTED, value, comment or None
            given.submitted_at, given.beyond = now, not counted
            given.seconds = max(0.0, (now - given.leased_at).total_seconds())
            if counted:
                item.counted += 1
                item.done = item.counted >= item.needed
                upsert(
                    session,
                    AnnotationRecord,
                    {
                        "row_id": item.row_id,
                        "metric_id": record.metric_id,
                        "annotator": reviewer.name,
                        "score": value,
                        "comment": comment or None,
                        "source": f"queue:{record.name}",
                    },
                    keys=("row_id", "metric_id", "annotator"),
                    update=("score", "comment", "source"),
                )
            return Submitted(counted=counted, row_id=row_id, score=value)

    def skip(self, queue: str, reviewer: User, row_id: str) -> None:
        """Pass on a row held: it goes to another reviewer, never back to this one."""
        with self._db.write() as session:
            record = _reviewers_queue(session, queue, reviewer, lock=False)
            item = queue_item(session, record, row_id, lock=True)
            given = store.assignment_on(session, item.id, reviewer.name)
            if given is None or given.state != LEASED:
                raise Conflict(f"you do not hold row {row_id!r} of queue {queue!r}")
            given.state = SKIPPED


def _reviewers_queue(
    session: Session, name: str, reviewer: User, *, lock: bool = True
) -> ReviewQueueRecord:
    record = store.find_queue(session, name, lock=lock)
    if session.get(QueueReviewerRecord, (record.id, reviewer.name)) is None:
        raise Forbidden(f"{reviewer.name} is not a reviewer of queue {name!r}")
    return record


def _held_or_renewed(
    session: Session, queue: ReviewQueueRecord, reviewer: str, now: datetime
) -> QueueAssignmentRecord | None:
    """The row the reviewer holds (a reload, a second tab); else their first lapsed lease
    on a row that still needs them, renewed: a row they left (a closed tab) is theirs
    again rather than lost to everyone."""
    leases = store.own_leases(session, queue.id, reviewer)
    live = next((a for a in leases if a.expires_at > now), None)
    if live is not None:
        return live
    for lapsed in leases:
        item = session.get(QueueItemRecord, lapsed.item_id)
        if item is not None and (
            item.gold or (not item.done and store.has_room(session, item, now, besides=lapsed.id))
        ):
            lapsed.expires_at = now + timedelta(seconds=queue.lease_seconds)
            return lapsed
    return None


def _gold_instead(
    session: Session, queue: ReviewQueueRecord, reviewer: str, item: QueueItemRecord
) -> int:
    """The item to hand out: ``item`` (the next open row), or a gold row when the queue's
    gold rate makes one due and one is left that ``reviewer`` was never given; the gold row
    takes the open row's place number, so the page shows nothing different."""
    if queue.gold_rate <= 0:
        return item.id
    handed, gold_given = gold_store.handed_out(session, queue.id, reviewer)
    if not gold_due(handed, gold_given, queue.gold_rate):
        return item.id
    row = gold_store.next_gold_row(session, queue, reviewer)
    return item.id if row is None else gold_store.gold_item(session, queue, row, item.position)


def _assignment(
    session: Session, queue: ReviewQueueRecord, held: QueueAssignmentRecord
) -> Assignment:
    item, row = store.item_and_row(session, held.item_id)
    metric = session.get(MetricRecord, queue.metric_id)
    assert metric is not None  # a foreign key
    version = active_of(session, metric)
    withheld = queue.blind and held.state != SUBMITTED
    others: tuple[Review, ...] = ()
    judge: float | None = None
    if not withheld:
        judge = store.newest_judge_score(session, row.id, version.id)
        others = tuple(
            review_of(a)
            for a in store.assignments_on(session, item.id)
            if a.reviewer != held.reviewer and a.state == SUBMITTED and not item.gold
        )  # a gold row's other reviews stay each reviewer's own: it is measured alone
    return Assignment(
        queue=queue.name,
        row_id=row.external_id,
        position=item.position,
        rows=queue.row_count,
        input=row.input,
        output=row.output,
        context=row.context,
        expected=row.expected,
        rubric=version.prompt,
        notes=version.guidelines,
        scale=version.scale.describe(),
        expires_at=held.expires_at,
        judge_score=judge,
        others=others,
        withheld=withheld,
    )
