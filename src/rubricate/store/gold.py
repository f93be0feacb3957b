"""The queries of gold rows: an evaluation's gold scores on a metric, the gold row a
queue hands a reviewer next, how many rows and gold rows a reviewer was handed, and the
reviews of gold rows beside their gold scores (for each reviewer's accuracy)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from rubricate.store.queue_tables import (
    GoldScoreRecord,
    QueueAssignmentRecord,
    QueueItemRecord,
    ReviewQueueRecord,
)
from rubricate.store.queues import SUBMITTED
from rubricate.store.tables import RowRecord


def gold_of(session: Session, row_id: int, metric_id: int) -> GoldScoreRecord | None:
    query = select(GoldScoreRecord).where(
        GoldScoreRecord.row_id == row_id, GoldScoreRecord.metric_id == metric_id
    )
    return session.scalar(query)


def gold_scores(
    session: Session, evaluation_id: int, metric_id: int
) -> list[tuple[str, GoldScoreRecord]]:
    """(row's id in the user's files, its gold score) for the evaluation's gold rows on the
    metric, in row order."""
    query = (
        select(RowRecord.external_id, GoldScoreRecord)
        .join(GoldScoreRecord, GoldScoreRecord.row_id == RowRecord.id)
        .where(RowRecord.evaluation_id == evaluation_id, GoldScoreRecord.metric_id == metric_id)
        .order_by(RowRecord.position)
    )
    return [(external, gold) for external, gold in session.execute(query)]


def handed_out(session: Session, queue_id: int, reviewer: str) -> tuple[int, int]:
    """How many rows of the queue ``reviewer`` was handed, and how many of them were gold."""
    found = session.execute(
        select(func.count(), func.count().filter(QueueItemRecord.gold.is_(True)))
        .select_from(QueueAssignmentRecord)
        .join(QueueItemRecord, QueueItemRecord.id == QueueAssignmentRecord.item_id)
        .where(
            QueueAssignmentRecord.queue_id == queue_id, QueueAssignmentRecord.reviewer == reviewer
        )
    ).one()
    return int(found[0]), int(found[1])


def next_gold_row(session: Session, queue: ReviewQueueRecord, reviewer: str) -> int | None:
    """A gold row (database id) of the queue's evaluation and metric never handed to
    ``reviewer`` in this queue and not one of the queue's own rows, in row order."""
    item = QueueItemRecord
    given_gold = exists().where(
        item.queue_id == queue.id,
        item.row_id == RowRecord.id,
        QueueAssignmentRecord.item_id == item.id,
        QueueAssignmentRecord.reviewer == reviewer,
    )
    own_row = exists().where(
        item.queue_id == queue.id, item.row_id == RowRecord.id, item.gold.is_(False)
    )
    query = (
        select(RowRecord.id)
        .join(GoldScoreRecord, GoldScoreRecord.row_id == RowRecord.id)
        .where(
            RowRecord.evaluation_id == queue.evaluation_id,
            GoldScoreRecord.metric_id == queue.metric_id,
            ~own_row,
            ~given_gold,
        )
        .order_by(RowRecord.position)
        .limit(1)
    )
    return session.scalar(query)


def gold_item(session: Session, queue: ReviewQueueRecord, row_id: int, position: int) -> int:
    """The queue's gold item of a row (made the first time the row is handed out)."""
    query = select(QueueItemRecord.id).where(
        QueueItemRecord.queue_id == queue.id, QueueItemRecord.row_id == row_id
    )
    found = session.scalar(query)
    if found is not None:
        return found
    item = QueueItemRecord(
        queue_id=queue.id, row_id=row_id, position=position, needed=0, counted=0, done=True,
        gold=True,
    )  # fmt: skip
    session.add(item)
    session.flush()
    return item.id


def gold_items(session: Session, queue_id: int) -> set[int]:
    """The ids of the queue's gold items (its gold rows handed out so far)."""
    query = select(QueueItemRecord.id).where(
        QueueItemRecord.queue_id == queue_id, QueueItemRecord.gold.is_(True)
    )
    return set(session.scalars(query))


def gold_reviews(
    session: Session,
    metric_id: int,
    *,
    queue_id: int | None = None,
    evaluation_ids: Sequence[int] = (),
) -> list[tuple[str, float, float]]:
    """(reviewer, their score, the gold score) for every review of a gold row on the metric
    whose row is gold still: of one queue, or of the queues on ``evaluation_ids``."""  # fmt: skip
    query = (
        select(QueueAssignmentRecord.reviewer, QueueAssignmentRecord.score, GoldScoreRecord.score)
        .join(QueueItemRecord, QueueItemRecord.id == QueueAssignmentRecord.item_id)
        .join(ReviewQueueRecord, ReviewQueueRecord.id == QueueItemRecord.queue_id)
        .join(
            GoldScoreRecord,
            (GoldScoreRecord.row_id == QueueItemRecord.row_id)
            & (GoldScoreRecord.metric_id == ReviewQueueRecord.metric_id),
        )
        .where(
            QueueItemRecord.gold.is_(True),
            QueueAssignmentRecord.state == SUBMITTED,
            QueueAssignmentRecord.score.is_not(None),
            ReviewQueueRecord.metric_id == metric_id,
        )
        .order_by(QueueAssignmentRecord.id)
    )
    if queue_id is not None:
        query = query.where(ReviewQueueRecord.id == queue_id)
    else:
        query = query.where(ReviewQueueRecord.evaluation_id.in_(evaluation_ids))
    found = session.execute(query).all()
    return [(who, float(score), float(gold)) for who, score, gold in found if score is not None]
