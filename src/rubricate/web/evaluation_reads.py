"""What the evaluation page reads for one metric: rows a page at a time (all of them, the
ones the judge and the resolved human value disagree on, or the unresolved ones), each with
its judge result, reviewers' annotations and resolution, and the (judge, human) pairs the
plot and the agreement figures are made of.

The judge score of a row is the one alignment uses (alignment.loading): the newest scored
result of the metric version the evaluation was judged with. These are plain reads with no
rule of their own, paged and filtered in the database, as api/reads.py does for the API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, exists, false, func, select
from sqlalchemy.orm import Session

from rubricate.alignment.loading import judged_versions
from rubricate.domain.errors import NotFound
from rubricate.domain.evaluations import Row
from rubricate.service.evaluations import find_evaluation
from rubricate.service.metrics import find_metric
from rubricate.store.database import Database
from rubricate.store.mapping import to_row
from rubricate.store.tables import (
    AnnotationRecord,
    JudgeResultRecord,
    MetricVersionRecord,
    ResolutionRecord,
    RowRecord,
)

TOLERANCE = 1e-9  # as the stats: a gap of exactly delta is a disagreement


class RowFilter(StrEnum):
    ALL = "all"
    DISAGREEING = "disagreeing"  # |judge - resolved human| >= delta
    UNRESOLVED = "unresolved"  # no resolved value yet


@dataclass(frozen=True, slots=True)
class JudgeView:
    score: float | None
    rationale: str | None
    model: str | None
    error: str | None
    version: int


@dataclass(frozen=True, slots=True)
class ReviewView:
    annotator: str
    score: float
    comment: str | None


@dataclass(frozen=True, slots=True)
class RowView:
    row: Row
    judge: JudgeView | None
    reviews: list[ReviewView] = field(default_factory=list)
    resolved: float | None = None
    resolved_by: str | None = None  # "policy:majority" or "user:ada"

    @property
    def gap(self) -> float | None:
        """|judge - human|, when the row has both."""
        if self.judge is None or self.judge.score is None or self.resolved is None:
            return None
        return abs(self.judge.score - self.resolved)

    def review_of(self, annotator: str) -> ReviewView | None:
        return next((r for r in self.reviews if r.annotator == annotator), None)


@dataclass(frozen=True, slots=True)
class Point:
    """One row of the plot: the judge's score and the resolved human value."""

    row: str
    judge: float
    human: float


@dataclass(frozen=True, slots=True)
class _Target:
    evaluation_id: int
    metric_id: int
    version_id: int | None  # the version the evaluation was judged with; None: never judged


def _target(session: Session, evaluation: str, metric: str) -> _Target:
    evaluation_id = find_evaluation(session, evaluation).id
    metric_id = find_metric(session, metric).id
    version = judged_versions(session, metric_id, [evaluation_id]).get(evaluation_id)
    return _Target(evaluation_id, metric_id, version)


def _latest(target: _Target) -> Any:
    """Per row, the id of its newest scored result of the judged version."""
    return (
        select(JudgeResultRecord.row_id, func.max(JudgeResultRecord.id).label("result_id"))
        .join(RowRecord, RowRecord.id == JudgeResultRecord.row_id)
        .where(
            RowRecord.evaluation_id == target.evaluation_id,
            JudgeResultRecord.metric_version_id == target.version_id,
            JudgeResultRecord.score.is_not(None),
        )
        .group_by(JudgeResultRecord.row_id)
        .subquery()
    )


def _rows(target: _Target, show: RowFilter, delta: float) -> Select[RowRecord]:
    query = select(RowRecord).where(RowRecord.evaluation_id == target.evaluation_id)
    resolved = (ResolutionRecord.row_id == RowRecord.id) & (
        ResolutionRecord.metric_id == target.metric_id
    )
    if show is RowFilter.UNRESOLVED:
        return query.where(~exists().where(resolved))
    if show is RowFilter.DISAGREEING:
        if target.version_id is None:
            return query.where(false())
        latest = _latest(target)
        return (
            query.join(latest, latest.c.row_id == RowRecord.id)
            .join(JudgeResultRecord, JudgeResultRecord.id == latest.c.result_id)
            .join(ResolutionRecord, resolved)
            .where(func.abs(JudgeResultRecord.score - ResolutionRecord.value) >= delta - TOLERANCE)
        )
    return query


def counts(db: Database, evaluation: str, metric: str, delta: float) -> dict[RowFilter, int]:
    """How many rows each filter shows."""
    with db.read() as session:
        target = _target(session, evaluation, metric)
        return {
            show: session.scalar(
                select(func.count()).select_from(_rows(target, show, delta).subquery())
            )
            or 0
            for show in RowFilter
        }


def row_page(
    db: Database,
    evaluation: str,
    metric: str,
    *,
    show: RowFilter = RowFilter.ALL,
    delta: float = 1.0,
    offset: int = 0,
    limit: int = 50,
) -> list[RowView]:
    """Rows ``offset`` to ``offset + limit`` that ``show`` selects, in file order."""
    with db.read() as session:
        target = _target(session, evaluation, metric)
        records = session.scalars(
            _rows(target, show, delta)
            .order_by(RowRecord.position, RowRecord.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return _views(session, target, [to_row(r) for r in records])


def row_view(db: Database, evaluation: str, metric: str, row_id: str) -> RowView:
    """One row (``row_id`` is its id in the evaluation), as the page shows it."""
    with db.read() as session:
        target = _target(session, evaluation, metric)
        record = session.scalar(
            select(RowRecord).where(
                RowRecord.evaluation_id == target.evaluation_id, RowRecord.external_id == row_id
            )
        )
        if record is None:
            raise NotFound(f"evaluation {evaluation!r} has no row {row_id!r}")
        return _views(session, target, [to_row(record)])[0]


def _views(session: Session, target: _Target, rows: Sequence[Row]) -> list[RowView]:
    ids = [row.id for row in rows]
    if not ids:
        return []
    judged: dict[int, JudgeView] = {}
    results = session.execute(
        select(JudgeResultRecord, MetricVersionRecord.number)
        .join(MetricVersionRecord, MetricVersionRecord.id == JudgeResultRecord.metric_version_id)
        .where(
            MetricVersionRecord.metric_id == target.metric_id,
            JudgeResultRecord.row_id.in_(ids),
        )
        .order_by(JudgeResultRecord.id)
    )
    preferred: set[int] = set()  # rows with a scored result of the judged version
    for result, number in results:  # the newest wins: a scored one of the judged version first
        chosen = result.metric_version_id == target.version_id and result.score is not None
        if result.row_id in preferred and not chosen:
            continue
        if chosen:
            preferred.add(result.row_id)
        judged[result.row_id] = JudgeView(
            result.score, result.rationale, result.judge_model, result.error, number
        )
    reviews: dict[int, list[ReviewView]] = {}
    for a in session.scalars(
        select(AnnotationRecord)
        .where(AnnotationRecord.metric_id == target.metric_id, AnnotationRecord.row_id.in_(ids))
        .order_by(AnnotationRecord.annotator)
    ):
        reviews.setdefault(a.row_id, []).append(ReviewView(a.annotator, a.score, a.comment))
    resolved = {
        r.row_id: r
        for r in session.scalars(
            select(ResolutionRecord).where(
                ResolutionRecord.metric_id == target.metric_id, ResolutionRecord.row_id.in_(ids)
            )
        )
    }
    views = []
    for row in rows:
        resolution = resolved.get(row.id)
        views.append(
            RowView(
                row=row,
                judge=judged.get(row.id),
                reviews=reviews.get(row.id, []),
                resolved=resolution.value if resolution is not None else None,
                resolved_by=resolution.resolved_by if resolution is not None else None,
            )
        )
    return views


def points(db: Database, evaluation: str, metric: str) -> list[Point]:
    """Every row with both a judge score and a resolved human value, in file order."""
    with db.read() as session:
        target = _target(session, evaluation, metric)
        if target.version_id is None:
            return []
        latest = _latest(target)
        found = session.execute(
            select(RowRecord.external_id, JudgeResultRecord.score, ResolutionRecord.value)
            .join(latest, latest.c.row_id == RowRecord.id)
            .join(JudgeResultRecord, JudgeResultRecord.id == latest.c.result_id)
            .join(
                ResolutionRecord,
                (ResolutionRecord.row_id == RowRecord.id)
                & (ResolutionRecord.metric_id == target.metric_id),
            )
            .order_by(RowRecord.position, RowRecord.id)
        ).all()
        return [
            Point(row, float(judge), float(human))
            for row, judge, human in found
            if judge is not None
        ]
