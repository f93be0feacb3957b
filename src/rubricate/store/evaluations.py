"""The queries over evaluations themselves: find one by name, list them, their rows in
file order, how many rows and runs in flight each has, and how far each metric covers an
evaluation's rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from rubricate.domain.evaluation_runs import EvaluationRunStatus
from rubricate.domain.evaluations import Row
from rubricate.store.lookup import one_named
from rubricate.store.mapping import to_row
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
class CoverageCounts:
    """Per metric id: (annotated rows, annotations, reviewers), resolved rows, judged rows;
    and the names of the metrics that appear in any of them."""

    annotated: dict[int, tuple[int, int, int]]
    resolved: dict[int, int]
    judged: dict[int, int]
    names: dict[int, str]


def find_evaluation(session: Session, name: str, *, lock: bool = False) -> EvaluationRecord:
    """The evaluation named ``name``; ``lock``: held until the transaction ends, so that
    writers of its resolutions queue on PostgreSQL (SQLite's write lock covers it already)."""
    query = select(EvaluationRecord).where(EvaluationRecord.name == name)
    missing = f"no evaluation named {name!r} (see `rubricate evaluations list`)"
    return one_named(session, query, missing, lock=lock, key_share=True)


def evaluation_named(session: Session, name: str) -> EvaluationRecord | None:
    """The evaluation named ``name``, if there is one."""
    return session.scalar(select(EvaluationRecord).where(EvaluationRecord.name == name))


def last_position(session: Session, evaluation_id: int) -> int:
    """The position of the evaluation's last row; 0 when it has none."""
    query = select(func.max(RowRecord.position)).where(RowRecord.evaluation_id == evaluation_id)
    return session.scalar(query) or 0


def all_evaluations(session: Session) -> Sequence[EvaluationRecord]:
    """Every evaluation, by name."""
    return session.scalars(select(EvaluationRecord).order_by(EvaluationRecord.name)).all()


def row_counts(session: Session) -> dict[int, int]:
    """How many rows each evaluation that has any holds, by evaluation id."""
    query = select(RowRecord.evaluation_id, func.count()).group_by(RowRecord.evaluation_id)
    return dict(session.execute(query).all())


def row_count(session: Session, evaluation_id: int) -> int:
    query = select(func.count()).select_from(RowRecord)
    return session.scalar(query.where(RowRecord.evaluation_id == evaluation_id)) or 0


def rows_in_order(session: Session, evaluation_id: int, offset: int, limit: int) -> list[Row]:
    """Rows ``offset`` to ``offset + limit``, in the order of the file they came from."""
    query = select(RowRecord).where(RowRecord.evaluation_id == evaluation_id)
    return row_slice(session, query, offset, limit)


def row_slice(session: Session, query: Select[RowRecord], offset: int, limit: int) -> list[Row]:
    """Rows ``offset`` to ``offset + limit`` of those ``query`` selects, in file order."""
    records = session.scalars(
        query.order_by(RowRecord.position, RowRecord.id).offset(offset).limit(limit)
    )
    return [to_row(r) for r in records]


def row_named(session: Session, evaluation_id: int, external_id: str) -> RowRecord | None:
    """The row with the user's id ``external_id`` in the evaluation, if there is one."""
    query = select(RowRecord).where(
        RowRecord.evaluation_id == evaluation_id, RowRecord.external_id == external_id
    )
    return session.scalar(query)


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


def coverage_counts(session: Session, evaluation_id: int) -> CoverageCounts:
    """What each metric has on the evaluation's rows: annotations, resolutions, results."""
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
    return CoverageCounts(stats, resolved, judged, names)
