"""The queries behind an evaluation's pages and lists: judge results and annotations paged
in the database (the REST API), and one metric's rows a page at a time with what was said
of them (the web's evaluation and row pages)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVarTuple

from sqlalchemy import Select, exists, false, func, select
from sqlalchemy.orm import Session

from rubricate.domain.evaluations import Row
from rubricate.store.evaluations import row_named, row_slice
from rubricate.store.judge_listing import evaluation_results
from rubricate.store.mapping import to_row
from rubricate.store.queues import annotation_seen_by, visible_to
from rubricate.store.tables import (
    AnnotationRecord,
    JudgeResultRecord,
    MetricRecord,
    MetricVersionRecord,
    ResolutionRecord,
    RowRecord,
)
from rubricate.store.version_comparison import latest_scored

TOLERANCE = 1e-9  # as the stats: a gap of exactly delta is a disagreement

Ts = TypeVarTuple("Ts")


class RowFilter(StrEnum):
    ALL = "all"
    DISAGREEING = "disagreeing"  # |judge - resolved human| >= delta
    UNRESOLVED = "unresolved"  # no resolved value yet


@dataclass(frozen=True, slots=True)
class Target:
    """One metric on one evaluation's rows."""

    evaluation_id: int
    metric_id: int
    version_id: int | None  # the version the evaluation was judged with; None: never judged
    viewer: str | None = None  # whose view: a blind queue's rows hide scores from its reviewers


def _paged(
    session: Session, query: Select[*Ts], order: Sequence[Any], offset: int, limit: int
) -> tuple[int, list[tuple[*Ts]]]:
    """How many rows ``query`` finds, and those ``offset`` to ``offset + limit``."""
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    found = session.execute(query.order_by(*order).offset(offset).limit(limit)).all()
    return total, list(found)


def judge_result_listing(
    session: Session,
    evaluation_id: int,
    offset: int,
    limit: int,
    *,
    row: str | None = None,
    metric_id: int | None = None,
    viewer: str | None = None,
) -> tuple[int, list[tuple[JudgeResultRecord, str, str, int]]]:
    """An evaluation's judge results (of one row, of one metric) with their row's id, metric
    name and version number, in row order, oldest first within a row; and how many (those
    ``viewer`` may see)."""
    query = evaluation_results(
        evaluation_id,
        JudgeResultRecord,
        RowRecord.external_id,
        MetricRecord.name,
        MetricVersionRecord.number,
    ).where(visible_to(viewer, JudgeResultRecord.row_id, MetricRecord.id))
    if row is not None:
        query = query.where(RowRecord.external_id == row)
    if metric_id is not None:
        query = query.where(MetricRecord.id == metric_id)
    order = (RowRecord.position, RowRecord.id, JudgeResultRecord.id)
    return _paged(session, query, order, offset, limit)


def annotation_listing(
    session: Session,
    evaluation_id: int,
    metric_id: int,
    offset: int,
    limit: int,
    *,
    row: str | None = None,
    viewer: str | None = None,
) -> tuple[int, list[tuple[AnnotationRecord, str]]]:
    """Annotations of one metric on an evaluation's rows with their row's id, in row order;
    and how many (those ``viewer`` may see: their own, and others' where not withheld)."""
    query = (
        select(AnnotationRecord, RowRecord.external_id)
        .join(RowRecord, RowRecord.id == AnnotationRecord.row_id)
        .where(
            RowRecord.evaluation_id == evaluation_id,
            AnnotationRecord.metric_id == metric_id,
            annotation_seen_by(viewer, AnnotationRecord.row_id, metric_id),
        )
    )
    if row is not None:
        query = query.where(RowRecord.external_id == row)
    order = (RowRecord.position, RowRecord.id, AnnotationRecord.annotator)
    return _paged(session, query, order, offset, limit)


def _rows(target: Target, show: RowFilter, delta: float) -> Select[RowRecord]:
    query = select(RowRecord).where(RowRecord.evaluation_id == target.evaluation_id)
    resolved = (ResolutionRecord.row_id == RowRecord.id) & (
        ResolutionRecord.metric_id == target.metric_id
    )
    if show is RowFilter.UNRESOLVED:
        return query.where(~exists().where(resolved))
    if show is RowFilter.DISAGREEING:
        if target.version_id is None:
            return query.where(false())
        latest = latest_scored(target.evaluation_id, target.version_id)
        return (
            query.join(latest, latest.c.row_id == RowRecord.id)
            .join(JudgeResultRecord, JudgeResultRecord.id == latest.c.result_id)
            .join(ResolutionRecord, resolved)
            .where(func.abs(JudgeResultRecord.score - ResolutionRecord.value) >= delta - TOLERANCE)
        )
    return query


def count_rows(session: Session, target: Target, show: RowFilter, delta: float) -> int:
    """How many rows ``show`` selects."""
    query = select(func.count()).select_from(_rows(target, show, delta).subquery())
    return session.scalar(query) or 0


def row_page(
    session: Session, target: Target, show: RowFilter, delta: float, offset: int, limit: int
) -> list[Row]:
    """Rows ``offset`` to ``offset + limit`` that ``show`` selects, in file order."""
    return row_slice(session, _rows(target, show, delta), offset, limit)


def find_row(session: Session, evaluation_id: int, external_id: str) -> Row | None:
    """The row with the user's id ``external_id`` in the evaluation, if there is one."""
    record = row_named(session, evaluation_id, external_id)
    return to_row(record) if record is not None else None


def judge_results_of(
    session: Session, metric_id: int, row_ids: Sequence[int], viewer: str | None = None
) -> list[tuple[JudgeResultRecord, int]]:
    """Every judge result of the metric's versions on these rows with its version number,
    oldest first (those ``viewer`` may see)."""
    found = session.execute(
        select(JudgeResultRecord, MetricVersionRecord.number)
        .join(MetricVersionRecord, MetricVersionRecord.id == JudgeResultRecord.metric_version_id)
        .where(
            MetricVersionRecord.metric_id == metric_id,
            JudgeResultRecord.row_id.in_(row_ids),
            visible_to(viewer, JudgeResultRecord.row_id, metric_id),
        )
        .order_by(JudgeResultRecord.id)
    )
    return list(found)


def annotations_of(
    session: Session, metric_id: int, row_ids: Sequence[int], viewer: str | None = None
) -> Sequence[AnnotationRecord]:
    """The metric's annotations of these rows, by annotator (those ``viewer`` may see)."""
    return session.scalars(
        select(AnnotationRecord)
        .where(
            AnnotationRecord.metric_id == metric_id,
            AnnotationRecord.row_id.in_(row_ids),
            annotation_seen_by(viewer, AnnotationRecord.row_id, metric_id),
        )
        .order_by(AnnotationRecord.annotator)
    ).all()


def resolutions_of(
    session: Session, metric_id: int, row_ids: Sequence[int], viewer: str | None = None
) -> Sequence[ResolutionRecord]:
    """The metric's resolutions of these rows (those ``viewer`` may see)."""
    return session.scalars(
        select(ResolutionRecord).where(
            ResolutionRecord.metric_id == metric_id,
            ResolutionRecord.row_id.in_(row_ids),
            visible_to(viewer, ResolutionRecord.row_id, metric_id),
        )
    ).all()


def judged_pairs(session: Session, target: Target) -> list[tuple[str, float, float]]:
    """Every row with both a judge score (its newest of the judged version) and a resolved
    human value: (row id, judge, human), in file order."""
    if target.version_id is None:
        return []
    latest = latest_scored(target.evaluation_id, target.version_id)
    found = session.execute(
        select(RowRecord.external_id, JudgeResultRecord.score, ResolutionRecord.value)
        .join(latest, latest.c.row_id == RowRecord.id)
        .join(JudgeResultRecord, JudgeResultRecord.id == latest.c.result_id)
        .join(
            ResolutionRecord,
            (ResolutionRecord.row_id == RowRecord.id)
            & (ResolutionRecord.metric_id == target.metric_id),
        )
        .where(visible_to(target.viewer, RowRecord.id, target.metric_id))
        .order_by(RowRecord.position, RowRecord.id)
    ).all()
    return [(row, float(judge), float(human)) for row, judge, human in found if judge is not None]
