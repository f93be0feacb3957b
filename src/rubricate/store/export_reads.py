"""The queries an export makes: every version's metric and number, an evaluation's rows a
chunk at a time in file order (keyset paging), what belongs to those rows, and the metrics
the evaluation uses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from rubricate.store.queues import annotation_seen_by, visible_to
from rubricate.store.tables import (
    AnnotationRecord,
    JudgeResultRecord,
    MetricRecord,
    MetricVersionRecord,
    ResolutionRecord,
    RowRecord,
)

T = TypeVar("T", AnnotationRecord, JudgeResultRecord, ResolutionRecord)


def version_numbers(session: Session) -> dict[int, tuple[int, int]]:
    """Every version: its id -> (metric id, number)."""
    found = session.execute(
        select(MetricVersionRecord.id, MetricVersionRecord.metric_id, MetricVersionRecord.number)
    )
    return {version_id: (metric_id, number) for version_id, metric_id, number in found}


def rows_after(
    session: Session, evaluation_id: int, after: tuple[int, int], limit: int
) -> Sequence[RowRecord]:
    """Up to ``limit`` rows past ``after`` (position, id), in file order."""
    place = tuple_(RowRecord.position, RowRecord.id)  # the id breaks ties of position
    return session.scalars(
        select(RowRecord)
        .where(RowRecord.evaluation_id == evaluation_id, place > tuple_(*after))
        .order_by(RowRecord.position, RowRecord.id)
        .limit(limit)
    ).all()


def of_rows(
    session: Session, record: type[T], row_ids: Sequence[int], viewer: str | None = None
) -> Sequence[T]:
    """The annotations, judge results or resolutions of these rows (those ``viewer`` may
    see: a blind review queue's rows they have yet to review show only their own)."""
    column: Any = record.row_id
    query = select(record).where(column.in_(row_ids))
    if viewer is not None:
        metric: Any = (
            select(MetricVersionRecord.metric_id)
            .where(MetricVersionRecord.id == JudgeResultRecord.metric_version_id)
            .correlate(JudgeResultRecord)  # the outer query's result, two levels up
            .scalar_subquery()
            if record is JudgeResultRecord
            else record.metric_id  # type: ignore[attr-defined]
        )
        seen = annotation_seen_by if record is AnnotationRecord else visible_to
        query = query.where(seen(viewer, column, metric))
    return session.scalars(query).all()


def metrics_used(session: Session, evaluation_id: int) -> Sequence[MetricRecord]:
    """Every metric the evaluation's annotations, resolutions or judge results use."""
    in_evaluation = select(RowRecord.id).where(RowRecord.evaluation_id == evaluation_id)
    judged = JudgeResultRecord.metric_version_id == MetricVersionRecord.id
    uses = (
        select(AnnotationRecord.metric_id).where(AnnotationRecord.row_id.in_(in_evaluation)),
        select(ResolutionRecord.metric_id).where(ResolutionRecord.row_id.in_(in_evaluation)),
        select(MetricVersionRecord.metric_id)
        .join(JudgeResultRecord, judged)
        .where(JudgeResultRecord.row_id.in_(in_evaluation)),
    )
    ids = {metric_id for query in uses for metric_id in session.scalars(query.distinct())}
    return session.scalars(select(MetricRecord).where(MetricRecord.id.in_(ids))).all()
