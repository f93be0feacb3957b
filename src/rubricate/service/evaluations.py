"""Use cases on evaluations: list, show with per-metric counts, rows page by page."""

from __future__ import annotations

import builtins
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rubricate.domain.errors import InvalidInput, NotFound
from rubricate.domain.evaluation_runs import EvaluationRunStatus
from rubricate.domain.evaluations import Evaluation, Row
from rubricate.store.database import Database
from rubricate.store.mapping import to_evaluation, to_row
from rubricate.store.tables import (
    AnnotationRecord,
    EvaluationRecord,
    EvaluationRunRecord,
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
                ).all()
            )
            busy = scoring_in_progress(session)
            records = session.scalars(select(EvaluationRecord).order_by(EvaluationRecord.name))
            return [to_evaluation(r, counts.get(r.id, 0), busy.get(r.id, 0)) for r in records]

    def get(self, name: str) -> Evaluation:
        with self._db.read() as session:
            record = find_evaluation(session, name)
            return _evaluation(session, record)

    def show(self, name: str) -> EvaluationDetail:
        with self._db.read() as session:
            record = find_evaluation(session, name)
            evaluation = _evaluation(session, record)
            return EvaluationDetail(evaluation, _coverage(session, record.id))

    def rows(self, name: str, *, offset: int = 0, limit: int = 50) -> builtins.list[Row]:
        """Rows ``offset`` to ``offset + limit``, in the order of the file they came from."""
        if offset < 0:
            raise InvalidInput(f"offset must be 0 or more, not {offset}", field="offset")
        if limit < 1:
            raise InvalidInput(f"limit must be 1 or more, not {limit}", field="limit")
        with self._db.read() as session:
            record = find_evaluation(session, name)
            rows = session.scalars(
                select(RowRecord)
                .where(RowRecord.evaluation_id == record.id)
                .order_by(RowRecord.position, RowRecord.id)
                .offset(offset)
                .limit(limit)
            )
            return [to_row(r) for r in rows]


def find_evaluation(session: Session, name: str, *, lock: bool = False) -> EvaluationRecord:
    """The evaluation named ``name``; ``lock``: held until the transaction ends, so that
    writers of its resolutions queue on PostgreSQL (SQLite's write lock covers it already)."""
    query = select(EvaluationRecord).where(EvaluationRecord.name == name)
    record = session.scalar(query.with_for_update(key_share=True) if lock else query)
    if record is None:
        raise NotFound(f"no evaluation named {name!r} (see `rubricate evaluations list`)")
    return record


def _evaluation(session: Session, record: EvaluationRecord) -> Evaluation:
    busy = scoring_in_progress(session, record.id).get(record.id, 0)
    return to_evaluation(record, _row_count(session, record.id), busy)


def scoring_in_progress(session: Session, evaluation_id: int | None = None) -> dict[int, int]:
    """Evaluation runs still pending or running, per evaluation: an evaluation is completed
    when it has none."""
    in_flight = [s.value for s in EvaluationRunStatus if s.in_flight]
    query = (
        select(EvaluationRunRecord.evaluation_id, func.count())
        .where(EvaluationRunRecord.status.in_(in_flight))
        .group_by(EvaluationRunRecord.evaluation_id)
    )
    if evaluation_id is not None:
        query = query.where(EvaluationRunRecord.evaluation_id == evaluation_id)
    return {evaluation: count for evaluation, count in session.execute(query)}  # noqa: C416


def _row_count(session: Session, evaluation_id: int) -> int:
    count = session.scalar(
        select(func.count()).select_from(RowRecord).where(RowRecord.evaluation_id == evaluation_id)
    )
    return count or 0


def _coverage(session: Session, evaluation_id: int) -> list[MetricCoverage]:
    in_evaluation = select(RowRecord.id).where(RowRecord.evaluation_id == evaluation_id)
    annotated = session.execute(
        select(
            AnnotationRecord.metric_id,
            func.count(func.distinct(AnnotationRecord.row_id)),
            func.count(),
            func.count(func.distinct(AnnotationRecord.annotator)),
        )
        .where(AnnotationRecord.row_id.in_(in_evaluation))
        .group_by(AnnotationRecord.metric_id)
    ).all()
    resolved = dict(
        session.execute(
            select(ResolutionRecord.metric_id, func.count())
            .where(ResolutionRecord.row_id.in_(in_evaluation))
            .group_by(ResolutionRecord.metric_id)
        ).all()
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
        ).all()
    )
    stats = {metric_id: (rows, total, people) for metric_id, rows, total, people in annotated}
    metric_ids = set(stats) | set(resolved) | set(judged)
    names = dict(
        session.execute(
            select(MetricRecord.id, MetricRecord.name).where(MetricRecord.id.in_(metric_ids))
        ).all()
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
