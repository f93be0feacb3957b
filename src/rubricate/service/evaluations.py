"""Use cases on evaluations: list, show with per-metric counts, rows page by page."""

from __future__ import annotations

import builtins
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rubricate.domain.errors import NotFound
from rubricate.domain.evaluations import Evaluation, Row
from rubricate.store.database import Database
from rubricate.store.mapping import to_evaluation, to_row
from rubricate.store.tables import (
    AnnotationRecord,
    EvaluationRecord,
    JudgeResultRecord,
    MetricRecord,
    MetricVersionRecord,
    ResolutionRecord,
    RowRecord,
)


@dataclass(frozen=True, slots=True)
class MetricCoverage:
    """How far one metric is covered on an evaluation's rows."""

    metric: str
    annotated_rows: int
    annotations: int
    reviewers: int
    resolved_rows: int
    judged_rows: int


@dataclass(frozen=True, slots=True)
class EvaluationDetail:
    evaluation: Evaluation
    metrics: list[MetricCoverage]


class EvaluationService:
    def __init__(self, db: Database) -> None:
        self._db = db

    def list(self) -> builtins.list[Evaluation]:
        with self._db.read() as session:
            counts = dict(
                session.execute(
                    select(RowRecord.evaluation_id, func.count()).group_by(RowRecord.evaluation_id)
                )
                .tuples()
                .all()
            )
            records = session.scalars(select(EvaluationRecord).order_by(EvaluationRecord.name))
            return [to_evaluation(r, counts.get(r.id, 0)) for r in records]

    def get(self, name: str) -> Evaluation:
        with self._db.read() as session:
            record = find_evaluation(session, name)
            return to_evaluation(record, _row_count(session, record.id))

    def show(self, name: str) -> EvaluationDetail:
        with self._db.read() as session:
            record = find_evaluation(session, name)
            evaluation = to_evaluation(record, _row_count(session, record.id))
            return EvaluationDetail(evaluation, _coverage(session, record.id))

    def rows(self, name: str, *, offset: int = 0, limit: int = 50) -> builtins.list[Row]:
        with self._db.read() as session:
            record = find_evaluation(session, name)
            rows = session.scalars(
                select(RowRecord)
                .where(RowRecord.evaluation_id == record.id)
                .order_by(RowRecord.position)
                .offset(offset)
                .limit(limit)
            )
            return [to_row(r) for r in rows]


def find_evaluation(session: Session, name: str) -> EvaluationRecord:
    record = session.scalar(select(EvaluationRecord).where(EvaluationRecord.name == name))
    if record is None:
        raise NotFound(f"no evaluation named {name!r} (see `rubricate evaluations list`)")
    return record


def _row_count(session: Session, evaluation_id: int) -> int:
    count = session.scalar(
        select(func.count()).select_from(RowRecord).where(RowRecord.evaluation_id == evaluation_id)
    )
    return count or 0


def _coverage(session: Session, evaluation_id: int) -> list[MetricCoverage]:
    in_evaluation = select(RowRecord.id).where(RowRecord.evaluation_id == evaluation_id)
    annotated = (
        session.execute(
            select(
                AnnotationRecord.metric_id,
                func.count(func.distinct(AnnotationRecord.row_id)),
                func.count(),
                func.count(func.distinct(AnnotationRecord.annotator)),
            )
            .where(AnnotationRecord.row_id.in_(in_evaluation))
            .group_by(AnnotationRecord.metric_id)
        )
        .tuples()
        .all()
    )
    resolved = dict(
        session.execute(
            select(ResolutionRecord.metric_id, func.count())
            .where(ResolutionRecord.row_id.in_(in_evaluation))
            .group_by(ResolutionRecord.metric_id)
        )
        .tuples()
        .all()
    )
    judged = dict(
        session.execute(
            select(
                MetricVersionRecord.metric_id, func.count(func.distinct(JudgeResultRecord.row_id))
            )
            .join(
                MetricVersionRecord, MetricVersionRecord.id == JudgeResultRecord.metric_version_id
            )
            .where(JudgeResultRecord.row_id.in_(in_evaluation))
            .group_by(MetricVersionRecord.metric_id)
        )
        .tuples()
        .all()
    )
    stats = {metric_id: (rows, total, people) for metric_id, rows, total, people in annotated}
    metric_ids = set(stats) | set(judged)
    names = dict(
        session.execute(
            select(MetricRecord.id, MetricRecord.name).where(MetricRecord.id.in_(metric_ids))
        )
        .tuples()
        .all()
    )
    coverage = [
        MetricCoverage(
            metric=names[metric_id],
            annotated_rows=stats.get(metric_id, (0, 0, 0))[0],
            annotations=stats.get(metric_id, (0, 0, 0))[1],
            reviewers=stats.get(metric_id, (0, 0, 0))[2],
            resolved_rows=resolved.get(metric_id, 0),
            judged_rows=judged.get(metric_id, 0),
        )
        for metric_id in metric_ids
    ]
    return sorted(coverage, key=lambda c: c.metric)
