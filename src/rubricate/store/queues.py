"""The queries the review-queue use cases make: the rows a selection picks, the row a
reviewer gets next, a queue's progress, its reviews and its conflicts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, exists, func, select, true
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from rubricate.domain.queues import AssignmentState
from rubricate.store.lookup import one_named
from rubricate.store.queue_tables import (
    QueueAssignmentRecord,
    QueueItemRecord,
    QueueReviewerRecord,
    ReviewQueueRecord,
)
from rubricate.store.tables import (
    AnnotationRecord,
    JudgeResultRecord,
    ResolutionRecord,
    RowRecord,
    table_of,
)
from rubricate.store.version_comparison import latest_scored

LEASED = AssignmentState.LEASED.value
SUBMITTED = AssignmentState.SUBMITTED.value


def find_queue(session: Session, name: str, *, lock: bool = False) -> ReviewQueueRecord:
    """The queue named ``name``; ``lock``: held until the transaction ends, so that on
    PostgreSQL one reviewer at a time takes a row of it (SQLite's write lock does that)."""
    query = select(ReviewQueueRecord).where(ReviewQueueRecord.name == name)
    missing = f"no review queue named {name!r} (see `rubricate queues list`)"
    return one_named(session, query, missing, lock=lock)


def all_queues(session: Session) -> Sequence[ReviewQueueRecord]:
    return session.scalars(select(ReviewQueueRecord).order_by(ReviewQueueRecord.created_at)).all()


def reviewers_of(session: Session, queue_id: int) -> list[str]:
    query = select(QueueReviewerRecord.reviewer).where(QueueReviewerRecord.queue_id == queue_id)
    return sorted(session.scalars(query))


# -- selections ------------------------------------------------------------------------


def all_rows(session: Session, evaluation_id: int) -> list[int]:
    query = select(RowRecord.id).where(RowRecord.evaluation_id == evaluation_id)
    return list(session.scalars(query.order_by(RowRecord.position)))


def unresolved_rows(session: Session, evaluation_id: int, metric_id: int) -> list[int]:
    resolved = exists().where(
        ResolutionRecord.row_id == RowRecord.id, ResolutionRecord.metric_id == metric_id
    )
    query = select(RowRecord.id).where(RowRecord.evaluation_id == evaluation_id, ~resolved)
    return list(session.scalars(query.order_by(RowRecord.position)))


def judged_rows(
    session: Session, evaluation_id: int, metric_id: int, version_id: int
) -> list[tuple[int, float, float | None]]:
    """(row, the version's newest score, the resolved human value or None) for every row
    the version has scored, in row order."""
    latest = latest_scored(evaluation_id, version_id)
    query = (
        select(RowRecord.id, JudgeResultRecord.score, ResolutionRecord.value)
        .join(latest, latest.c.row_id == RowRecord.id)
        .join(JudgeResultRecord, JudgeResultRecord.id == latest.c.result_id)
        .outerjoin(
            ResolutionRecord,
            and_(ResolutionRecord.row_id == RowRecord.id, ResolutionRecord.metric_id == metric_id),
        )
        .order_by(RowRecord.position)
    )
    found = session.execute(query).all()
    return [(row, float(score), value) for row, score, value in found if score is not None]


def add_items(session: Session, queue_id: int, row_ids: Sequence[int], needed: int) -> None:
    session.execute(
        table_of(QueueItemRecord).insert(),
        [
            {"queue_id": queue_id, "row_id": row, "position": n, "needed": needed,
             "counted": 0, "done": False}
            for n, row in enumerate(row_ids, start=1)
        ],
    )  # fmt: skip


# -- leasing ---------------------------------------------------------------------------


def live_leases(item_id: Any, now: datetime) -> Any:
    """How many live leases a row has (a scalar subquery on ``item_id``)."""
    return (
        select(func.count())
        .where(
            QueueAssignmentRecord.item_id == item_id,
            QueueAssignmentRecord.state == LEASED,
            QueueAssignmentRecord.expires_at > now,
        )
        .scalar_subquery()
    )


def has_room(session: Session, item: QueueItemRecord, now: datetime, *, besides: int) -> bool:
    """Whether the row still needs a review once its live leases are counted, not counting
    the assignment ``besides``."""
    others = session.scalar(
        select(func.count()).where(
            QueueAssignmentRecord.item_id == item.id,
            QueueAssignmentRecord.state == LEASED,
            QueueAssignmentRecord.expires_at > now,
            QueueAssignmentRecord.id != besides,
        )
    )
    return item.counted + int(others or 0) < item.needed


def next_open_item(
    session: Session, queue_id: int, reviewer: str, now: datetime
) -> QueueItemRecord | None:
    """The first row, in queue order, that still needs a review once its live leases are
    counted and that was never given to ``reviewer``."""
    given = exists().where(
        QueueAssignmentRecord.item_id == QueueItemRecord.id,
        QueueAssignmentRecord.reviewer == reviewer,
    )
    query = (
        select(QueueItemRecord)
        .where(
            QueueItemRecord.queue_id == queue_id,
            QueueItemRecord.done.is_(False),
            ~given,
            QueueItemRecord.counted + live_leases(QueueItemRecord.id, now) < QueueItemRecord.needed,
        )
        .order_by(QueueItemRecord.position)
        .limit(1)
    )
    return session.scalar(query)


def item_named(
    session: Session, queue_id: int, external_id: str, *, lock: bool = False
) -> QueueItemRecord | None:
    """The queue's row whose id in the user's files is ``external_id``; ``lock``: held
    until the transaction ends (PostgreSQL), so that its counts change one writer at a
    time."""
    query = (
        select(QueueItemRecord)
        .join(RowRecord, RowRecord.id == QueueItemRecord.row_id)
        .where(QueueItemRecord.queue_id == queue_id, RowRecord.external_id == external_id)
    )
    return session.scalar(query.with_for_update(of=QueueItemRecord) if lock else query)


def assignment_on(session: Session, item_id: int, reviewer: str) -> QueueAssignmentRecord | None:
    query = select(QueueAssignmentRecord).where(
        QueueAssignmentRecord.item_id == item_id, QueueAssignmentRecord.reviewer == reviewer
    )
    return session.scalar(query)


def assignments_on(session: Session, item_id: int) -> list[QueueAssignmentRecord]:
    query = select(QueueAssignmentRecord).where(QueueAssignmentRecord.item_id == item_id)
    return list(session.scalars(query.order_by(QueueAssignmentRecord.id)))


# -- progress and reviews --------------------------------------------------------------


def item_counts(session: Session, queue_id: int) -> tuple[int, int, int, int]:
    """Rows, rows done, reviews counted, reviews needed (its gold rows not among them)."""
    found = session.execute(
        select(
            func.count(),
            func.count().filter(QueueItemRecord.done.is_(True)),
            func.coalesce(func.sum(QueueItemRecord.counted), 0),
            func.coalesce(func.sum(QueueItemRecord.needed), 0),
        ).where(QueueItemRecord.queue_id == queue_id, QueueItemRecord.gold.is_(False))
    ).one()
    return int(found[0]), int(found[1]), int(found[2]), int(found[3])


def assignments_of_queue(session: Session, queue_id: int) -> list[QueueAssignmentRecord]:
    query = select(QueueAssignmentRecord).where(QueueAssignmentRecord.queue_id == queue_id)
    return list(session.scalars(query.order_by(QueueAssignmentRecord.id)))


def reviews_by_row(
    session: Session, queue_id: int
) -> list[tuple[str, QueueItemRecord, QueueAssignmentRecord]]:
    """(row's id in the user's files, its item, a submitted review) for every review of the
    queue, in queue order."""
    query = (
        select(RowRecord.external_id, QueueItemRecord, QueueAssignmentRecord)
        .join(QueueItemRecord, QueueItemRecord.row_id == RowRecord.id)
        .join(QueueAssignmentRecord, QueueAssignmentRecord.item_id == QueueItemRecord.id)
        .where(QueueItemRecord.queue_id == queue_id, QueueAssignmentRecord.state == SUBMITTED)
        .order_by(QueueItemRecord.position, QueueAssignmentRecord.id)
    )
    return [(external, item, review) for external, item, review in session.execute(query)]


def resolved_values(session: Session, queue_id: int, metric_id: int) -> dict[str, float]:
    """The resolved human value of each of the queue's rows that has one, by row id."""
    query = (
        select(RowRecord.external_id, ResolutionRecord.value)
        .join(QueueItemRecord, QueueItemRecord.row_id == RowRecord.id)
        .join(ResolutionRecord, ResolutionRecord.row_id == RowRecord.id)
        .where(QueueItemRecord.queue_id == queue_id, ResolutionRecord.metric_id == metric_id)
    )
    return {row: value for row, value in session.execute(query).all()}  # noqa: C416


def own_leases(session: Session, queue_id: int, reviewer: str) -> list[QueueAssignmentRecord]:
    """The reviewer's leases, live or lapsed, on rows they have not reviewed or skipped,
    oldest first."""
    query = select(QueueAssignmentRecord).where(
        QueueAssignmentRecord.queue_id == queue_id,
        QueueAssignmentRecord.reviewer == reviewer,
        QueueAssignmentRecord.state == LEASED,
    )
    return list(session.scalars(query.order_by(QueueAssignmentRecord.id)))


def newest_judge_score(session: Session, row_id: int, version_id: int) -> float | None:
    """The version's newest score of the row, if it has scored it."""
    query = (
        select(JudgeResultRecord.score)
        .where(
            JudgeResultRecord.row_id == row_id,
            JudgeResultRecord.metric_version_id == version_id,
            JudgeResultRecord.score.is_not(None),
        )
        .order_by(JudgeResultRecord.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def withheld(reviewer: str, row_id: Any, metric_id: Any) -> ColumnElement[bool]:
    """Where a row's scores for a metric are withheld from ``reviewer`` (a correlated
    condition on the columns or values ``row_id`` and ``metric_id``): the row is in an open
    blind queue on that metric that ``reviewer`` reviews, and they have not reviewed it
    there yet. The judge's score, other people's annotations and the resolution stay
    hidden until then; every read of them that has a viewer filters on this."""
    item, queue = aliased(QueueItemRecord), aliased(ReviewQueueRecord)
    assigned = exists().where(
        QueueReviewerRecord.queue_id == queue.id, QueueReviewerRecord.reviewer == reviewer
    )
    reviewed = exists().where(
        QueueAssignmentRecord.item_id == item.id,
        QueueAssignmentRecord.reviewer == reviewer,
        QueueAssignmentRecord.state == SUBMITTED,
    )
    return (
        open_queue_items(metric_id, item.id, item=item, queue=queue)
        .where(item.row_id == row_id, queue.blind.is_(True), assigned, ~reviewed)
        .exists()
    )


def open_queue_items(
    metric_id: Any,
    *columns: Any,
    item: type[QueueItemRecord] = QueueItemRecord,
    queue: type[ReviewQueueRecord] = ReviewQueueRecord,
) -> Select[Any]:
    """``columns`` of the rows (items) of the open queues on a metric; ``item`` and
    ``queue`` may be aliases of the two tables."""
    return (
        select(*columns)
        .select_from(item)
        .join(queue, queue.id == item.queue_id)
        .where(queue.metric_id == metric_id, queue.closed_at.is_(None))
    )


def visible_to(viewer: str | None, row_id: Any, metric_id: Any) -> ColumnElement[bool]:
    """The rows whose scores ``viewer`` may see (every row without a viewer)."""
    return true() if viewer is None else ~withheld(viewer, row_id, metric_id)


def annotation_seen_by(viewer: str | None, row_id: Any, metric_id: Any) -> ColumnElement[bool]:
    """The annotations ``viewer`` may see: their own, and others' on rows not withheld from
    them (every annotation without a viewer)."""
    if viewer is None:
        return true()
    return visible_to(viewer, row_id, metric_id) | (AnnotationRecord.annotator == viewer)


def item_and_row(session: Session, item_id: int) -> tuple[QueueItemRecord, RowRecord]:
    """A queue's row and the evaluation's row it is, in one query."""
    found = session.execute(
        select(QueueItemRecord, RowRecord)
        .join(RowRecord, RowRecord.id == QueueItemRecord.row_id)
        .where(QueueItemRecord.id == item_id)
    ).one()
    return found[0], found[1]


def withheld_among(
    session: Session, viewer: str, row_ids: Sequence[int], metric_id: int
) -> set[int]:
    """Which of ``row_ids`` a blind review queue on the metric withholds from ``viewer``."""
    if not row_ids:
        return set()
    query = select(RowRecord.id).where(
        RowRecord.id.in_(row_ids), withheld(viewer, RowRecord.id, metric_id)
    )
    return set(session.scalars(query))


def withheld_in(session: Session, viewer: str, evaluation_id: int, metric_id: int) -> set[int]:
    """The rows of the evaluation whose scores for the metric are withheld from ``viewer``."""
    query = select(RowRecord.id).where(
        RowRecord.evaluation_id == evaluation_id, withheld(viewer, RowRecord.id, metric_id)
    )
    return set(session.scalars(query))
