"""Review queues, the admin's side: create one from a selection of rows, list and show
them with their progress, the reviews, the conflicts (counted reviews of a row that
differ by the metric's delta), and send a row back for one more review. A reviewer's
side (next row, submit, skip) is service/queue_reviews.py."""

from __future__ import annotations

import builtins
import random
from collections import defaultdict
from dataclasses import replace
from datetime import datetime
from statistics import median

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rubricate.domain.audit import AuditAction
from rubricate.domain.errors import Conflict, InvalidInput, NotFound
from rubricate.domain.metrics import MetricVersion, active_version
from rubricate.domain.names import check_queue_name
from rubricate.domain.queues import (
    AssignmentState,
    Queue,
    QueueRequest,
    Review,
    ReviewerProgress,
    Selection,
)
from rubricate.domain.queues import Conflict as RowConflict
from rubricate.domain.users import User
from rubricate.service.base import Service
from rubricate.service.calibration import accuracy_by_reviewer
from rubricate.service.label_sampling import sampled_rows
from rubricate.store import gold as gold_store
from rubricate.store import label_sampling as sampling_store
from rubricate.store import queues as store
from rubricate.store.audit import record_event
from rubricate.store.evaluations import find_evaluation
from rubricate.store.mapping import to_metric
from rubricate.store.metrics import find_metric, load_versions
from rubricate.store.queue_tables import (
    QueueAssignmentRecord,
    QueueItemRecord,
    QueueReviewerRecord,
    ReviewQueueRecord,
)
from rubricate.store.tables import EvaluationRecord, MetricRecord, utcnow

MAX_QUEUE_ROWS = 1_000_000


class QueueService(Service):
    def create(self, request: QueueRequest, *, by: User) -> Queue:
        """An admin's new queue on the rows its selection picks, in their order (a sample
        in its drawn order). Creating one with a name taken is refused."""
        by.require_admin("create a review queue")
        request = request.checked()
        name = check_queue_name(request.name)
        reviewers = tuple(dict.fromkeys(_reviewer_name(r) for r in request.reviewers))
        try:
            with self._db.write() as session:
                evaluation = find_evaluation(session, request.evaluation)
                metric = find_metric(session, request.metric)
                version = active_of(session, metric)
                rows = _select(session, request, evaluation.id, metric.id, version)
                if not rows:
                    why = _why_no_sampled_row(session, request, evaluation.id, metric.id, version)
                    raise InvalidInput(
                        f"the selection '{request.describe()}' holds no row of "
                        f"{request.evaluation!r}{why}",
                        field="selection",
                    )
                record = ReviewQueueRecord(
                    name=name,
                    evaluation_id=evaluation.id,
                    metric_id=metric.id,
                    selection=request.describe()[:200],
                    selection_kind=request.selection.value,
                    reviews_per_row=request.reviews_per_row,
                    blind=request.blind,
                    lease_seconds=request.lease_seconds,
                    row_count=len(rows),
                    gold_rate=request.gold_rate,
                    created_by=by.name,
                )
                session.add(record)
                session.flush()
                session.add_all(
                    QueueReviewerRecord(queue_id=record.id, reviewer=r) for r in reviewers
                )
                store.add_items(session, record.id, rows, request.reviews_per_row)
                record_event(
                    session, by.name, AuditAction.QUEUE_CREATED, f"queue {name}",
                    evaluation=request.evaluation, metric=request.metric, rows=len(rows),
                    reviewers=list(reviewers), reviews_per_row=request.reviews_per_row,
                    blind=request.blind, selection=request.describe(),
                    gold_rate=request.gold_rate,
                )  # fmt: skip
        except IntegrityError:
            raise Conflict(f"a review queue named {name!r} exists already") from None
        return self.get(name)

    def list(self) -> builtins.list[Queue]:
        with self._db.read() as session:
            return [_queue(session, record) for record in store.all_queues(session)]

    def get(self, name: str) -> Queue:
        with self._db.read() as session:
            return _queue(session, store.find_queue(session, name))

    def progress(self, name: str, *, viewer: User | None = None) -> builtins.list[ReviewerProgress]:
        """Per reviewer: rows reviewed (counted, and beyond the number), skipped, held now,
        the median time from a row's lease to its review, and their accuracy on the
        queue's gold rows (None before their first review of one). A ``viewer`` who is no
        admin sees reviews of gold rows as reviewed and no accuracy: nothing tells them
        which row was gold."""
        now = utcnow()
        with self._db.read() as session:
            queue = store.find_queue(session, name)
            reviewers = store.reviewers_of(session, queue.id)
            assignments = store.assignments_of_queue(session, queue.id)
            scale = active_of(session, _metric_of(session, queue)).scale
            golden = gold_store.gold_reviews(session, queue.metric_id, queue_id=queue.id)
            gold_items = gold_store.gold_items(session, queue.id)
        by_reviewer: dict[str, builtins.list[QueueAssignmentRecord]] = defaultdict(builtins.list)
        for a in assignments:
            by_reviewer[a.reviewer].append(a)
        accuracy = accuracy_by_reviewer(golden, scale)
        found = [
            replace(_progress(r, by_reviewer.get(r, []), now, gold_items), gold=accuracy.get(r))
            for r in reviewers
        ]
        if viewer is None or viewer.is_admin:
            return found
        return [
            replace(p, reviewed=p.reviewed + (p.gold.reviews if p.gold else 0), gold=None)
            for p in found
        ]

    def reviews(self, name: str, *, by: User) -> builtins.list[tuple[str, Review]]:
        """Every submitted review of the queue (row id, review), in queue order: what an
        admin's queue page lists. Reviewers see others' reviews through the blind rules of
        the evaluation's pages, not here."""
        by.require_admin("list a queue's reviews")
        with self._db.read() as session:
            queue = store.find_queue(session, name)
            found = store.reviews_by_row(session, queue.id)
        return [(row, review_of(a, gold=item.gold)) for row, item, a in found]

    def conflicts(self, name: str, *, by: User) -> builtins.list[RowConflict]:
        """Rows with all their reviews whose counted reviews differ by at least the
        metric's delta (its scale's step), and whether they are resolved already."""
        by.require_admin("see a queue's conflicts")
        with self._db.read() as session:
            queue = store.find_queue(session, name)
            delta = active_of(session, _metric_of(session, queue)).scale.step
            resolved = _resolved_values(session, queue)
            found = store.reviews_by_row(session, queue.id)
        grouped: dict[str, builtins.list[QueueAssignmentRecord]] = defaultdict(builtins.list)
        done: dict[str, bool] = {}
        for row, item, review in found:
            if not review.beyond and not item.gold:
                grouped[row].append(review)
            done[row] = item.done
        conflicts = []
        for row, reviews in grouped.items():
            scores = [r.score for r in reviews if r.score is not None]
            if not done[row] or len(scores) < 2:
                continue
            spread = max(scores) - min(scores)
            if spread >= delta - 1e-9:
                conflicts.append(
                    RowConflict(
                        row, tuple(review_of(r) for r in reviews), spread, resolved.get(row)
                    )
                )
        return conflicts

    def send_back(self, name: str, row_id: str, *, by: User) -> Queue:
        """One more review of a row (an admin, from the conflict view): it goes to a
        reviewer who has not reviewed it."""
        by.require_admin("send a row back for review")
        with self._db.write() as session:
            queue = store.find_queue(session, name, lock=True)
            item = queue_item(session, queue, row_id, lock=True)
            if item.gold:
                raise Conflict(f"row {row_id!r} is a gold row of queue {name!r}: not sent back")
            reviewers = store.reviewers_of(session, queue.id)
            given = {a.reviewer for a in store.assignments_on(session, item.id)}
            if not set(reviewers) - given:
                raise Conflict(
                    f"every reviewer of queue {name!r} has had row {row_id!r}: assign "
                    "another reviewer, or resolve it"
                )
            item.needed += 1
            item.done = False
            record_event(session, by.name, AuditAction.ROW_SENT_BACK, f"queue {name}", row=row_id)
        return self.get(name)

    def close(self, name: str, *, by: User) -> Queue:
        """Close a queue: no row is given out any more, and a blind queue's rows are no
        longer withheld from its reviewers."""
        by.require_admin("close a review queue")

        with self._db.write() as session:
            queue = store.find_queue(session, name, lock=True)
            if queue.closed_at is None:
                queue.closed_at = utcnow()
                record_event(session, by.name, AuditAction.QUEUE_CLOSED, f"queue {name}")
        return self.get(name)

    def withheld_rows(self, user: User, evaluation: str, metric: str) -> set[int]:
        """The rows (database ids) of the evaluation whose scores for the metric ``user``
        must not see yet: rows of an open blind queue they review that they have not
        reviewed. The same condition (store.queues.withheld) every read path applies."""
        with self._db.read() as session:
            evaluation_id = find_evaluation(session, evaluation).id
            metric_id = find_metric(session, metric).id
            return store.withheld_in(session, user.name, evaluation_id, metric_id)


def _reviewer_name(name: str) -> str:
    text = name.strip()
    if not text or len(text) > 200:
        raise InvalidInput(f"reviewer name {name!r} must be 1-200 characters", field="reviewers")
    return text


def active_of(session: Session, metric: MetricRecord) -> MetricVersion:
    return active_version(to_metric(metric), load_versions(session, metric.id))


def _select(
    session: Session,
    request: QueueRequest,
    evaluation_id: int,
    metric_id: int,
    version: MetricVersion,
) -> list[int]:
    """The rows (database ids) the request's selection picks, in queue order."""
    match request.selection:
        case Selection.ALL:
            rows = store.all_rows(session, evaluation_id)
        case Selection.UNRESOLVED:
            rows = store.unresolved_rows(session, evaluation_id, metric_id)
        case Selection.DISAGREEING:
            delta = request.delta if request.delta is not None else version.scale.step
            judged = store.judged_rows(session, evaluation_id, metric_id, version.id)
            rows = [
                r
                for r, judge, human in judged
                if human is not None and abs(judge - human) >= delta - 1e-9
            ]
        case Selection.RANDOM:
            every = store.all_rows(session, evaluation_id)
            rows = random.Random(request.seed).sample(
                every, min(request.sample_size or 0, len(every))
            )
        case Selection.STRATIFIED:
            judged = store.judged_rows(session, evaluation_id, metric_id, version.id)
            rows = _stratified(judged, request.sample_size or 0, request.seed)
        case Selection.SAMPLER:
            rows = sampled_rows(
                session, evaluation_id, metric_id, version, request.sample_size or 0,
                delta=request.delta, seed=request.seed,
            )  # fmt: skip
    if len(rows) > MAX_QUEUE_ROWS:
        raise InvalidInput(f"a queue holds at most {MAX_QUEUE_ROWS} rows", field="selection")
    return rows


def _why_no_sampled_row(
    session: Session,
    request: QueueRequest,
    evaluation_id: int,
    metric_id: int,
    version: MetricVersion,
) -> str:
    """Why the sampler proposed nothing, in words: it weighs only rows the active version
    has scored that no one has reviewed for the metric and no open queue on it holds (a
    reviewed evaluation, the demo's, leaves none). Empty for other selections."""  # fmt: skip
    if request.selection is not Selection.SAMPLER:
        return ""
    every = len(store.all_rows(session, evaluation_id))
    judged = set(sampling_store.judge_samples(session, evaluation_id, version.id))
    taken = judged & set(sampling_store.reviewed_rows(session, evaluation_id, metric_id))
    return (
        f": the sampler weighs only rows that version {version.number} of {request.metric!r} "
        "has scored and that no one has reviewed yet or an open queue on it holds. "
        f"Of {every:,} rows, {len(judged):,} are scored by that version and {len(taken):,} of "
        "those are reviewed or queued already. Score new rows first (`evaluate`), or choose "
        "another selection (random, stratified, disagreeing) to review reviewed rows again"
    )


def _stratified(judged: list[tuple[int, float, float | None]], size: int, seed: int) -> list[int]:
    """``size`` rows spread as evenly as they can be over the judge's scores: each score
    in turn gives one more row, drawn at random, until the size is reached."""
    rng = random.Random(seed)
    strata: dict[float, list[int]] = defaultdict(list)
    for row, judge, _ in judged:
        strata[judge].append(row)
    for rows in strata.values():
        rng.shuffle(rows)
    picked: list[int] = []
    levels = sorted(strata)
    while len(picked) < size and any(strata.values()):
        for level in levels:
            if strata[level] and len(picked) < size:
                picked.append(strata[level].pop())
    return picked


def _queue(session: Session, record: ReviewQueueRecord) -> Queue:
    evaluation = session.get(EvaluationRecord, record.evaluation_id)
    metric = session.get(MetricRecord, record.metric_id)
    assert evaluation is not None and metric is not None  # foreign keys
    rows, done, counted, needed = store.item_counts(session, record.id)
    return Queue(
        name=record.name,
        evaluation=evaluation.name,
        metric=metric.name,
        selection=record.selection,
        reviewers=tuple(store.reviewers_of(session, record.id)),
        reviews_per_row=record.reviews_per_row,
        blind=record.blind,
        lease_seconds=record.lease_seconds,
        created_by=record.created_by,
        created_at=record.created_at,
        closed=record.closed_at is not None,
        rows=rows,
        rows_done=done,
        reviews_counted=counted,
        reviews_needed=needed,
        gold_rate=record.gold_rate,
    )


def queue_item(
    session: Session, queue: ReviewQueueRecord, row_id: str, *, lock: bool = False
) -> QueueItemRecord:
    item = store.item_named(session, queue.id, row_id, lock=lock)
    if item is None:
        raise NotFound(f"queue {queue.name!r} has no row {row_id!r}")
    return item


def review_of(a: QueueAssignmentRecord, *, gold: bool = False) -> Review:
    return Review(
        reviewer=a.reviewer,
        score=a.score,
        comment=a.comment,
        state=AssignmentState(a.state),
        beyond=a.beyond,
        seconds=a.seconds,
        submitted_at=a.submitted_at,
        gold=gold,
    )


def _progress(
    reviewer: str,
    assignments: builtins.list[QueueAssignmentRecord],
    now: datetime,
    gold_items: set[int],
) -> ReviewerProgress:
    """A reviewer's figures; their reviews of gold rows (``gold_items``) count as neither
    reviewed nor beyond, but as time and as rows skipped or held."""
    submitted = [a for a in assignments if a.state == AssignmentState.SUBMITTED.value]
    times = [a.seconds for a in submitted if a.seconds is not None]
    own = [a for a in submitted if a.item_id not in gold_items]
    return ReviewerProgress(
        reviewer=reviewer,
        reviewed=sum(1 for a in own if not a.beyond),
        beyond=sum(1 for a in own if a.beyond),
        skipped=sum(1 for a in assignments if a.state == AssignmentState.SKIPPED.value),
        leased=sum(
            1 for a in assignments
            if a.state == AssignmentState.LEASED.value and a.expires_at > now
        ),
        median_seconds=median(times) if times else None,
    )  # fmt: skip


def _metric_of(session: Session, queue: ReviewQueueRecord) -> MetricRecord:
    metric = session.get(MetricRecord, queue.metric_id)
    assert metric is not None  # a foreign key
    return metric


def _resolved_values(session: Session, queue: ReviewQueueRecord) -> dict[str, float]:
    """The resolved human value of each of the queue's rows that has one, by row id."""
    return store.resolved_values(session, queue.id, queue.metric_id)
