"""The queries behind comparing two versions of a metric on one evaluation: how many rows
each version has scored (and how many of those have a resolved human value), and, on the
rows both have scored, each one's score beside the resolved human value.

A row's score of a version is its newest scored result of that version, as on the
evaluation page (store.evaluation_reads): a re-score replaces an earlier score of the same
version, and a failed call (no score) never hides an earlier score."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from rubricate.store.tables import (
    JudgeResultRecord,
    MetricVersionRecord,
    ResolutionRecord,
    RowRecord,
)


def scored_on(evaluation_id: int, *columns: Any) -> Select[Any]:
    """``columns`` of the judge results on the evaluation's rows that hold a score (a failed
    call holds none), from judge_results joined to rows."""
    return (
        select(*columns)
        .select_from(JudgeResultRecord)
        .join(RowRecord, RowRecord.id == JudgeResultRecord.row_id)
        .where(RowRecord.evaluation_id == evaluation_id, JudgeResultRecord.score.is_not(None))
    )


def latest_scored(evaluation_id: int, version_id: int) -> Any:
    """Per row of the evaluation, the id of its newest scored result of the version (a
    subquery: row_id, result_id); the alignment's loading reads the same."""
    newest = func.max(JudgeResultRecord.id).label("result_id")
    return (
        scored_on(evaluation_id, JudgeResultRecord.row_id, newest)
        .where(JudgeResultRecord.metric_version_id == version_id)
        .group_by(JudgeResultRecord.row_id)
        .subquery()
    )


def scored_counts(
    session: Session, evaluation_id: int, metric_id: int, version_id: int
) -> tuple[int, int]:
    """How many of the evaluation's rows the version has scored, and how many of those
    have a resolved human value."""
    latest = latest_scored(evaluation_id, version_id)
    resolution = aliased(ResolutionRecord)
    found = session.execute(
        select(func.count(), func.count(resolution.row_id))
        .select_from(latest)
        .outerjoin(
            resolution,
            (resolution.row_id == latest.c.row_id) & (resolution.metric_id == metric_id),
        )
    ).one()
    return int(found[0]), int(found[1])


def paired_scores(
    session: Session, evaluation_id: int, metric_id: int, version_a: int, version_b: int
) -> list[tuple[str, float, float, float]]:
    """Every row both versions have scored that has a resolved human value: (row id,
    version a's score, version b's score, human), in file order."""
    latest_a = latest_scored(evaluation_id, version_a)
    latest_b = latest_scored(evaluation_id, version_b)
    result_a = aliased(JudgeResultRecord)
    result_b = aliased(JudgeResultRecord)
    found = session.execute(
        select(RowRecord.external_id, result_a.score, result_b.score, ResolutionRecord.value)
        .join(latest_a, latest_a.c.row_id == RowRecord.id)
        .join(latest_b, latest_b.c.row_id == RowRecord.id)
        .join(result_a, result_a.id == latest_a.c.result_id)
        .join(result_b, result_b.id == latest_b.c.result_id)
        .join(
            ResolutionRecord,
            (ResolutionRecord.row_id == RowRecord.id) & (ResolutionRecord.metric_id == metric_id),
        )
        .order_by(RowRecord.position, RowRecord.id)
    ).all()
    return [
        (row, float(a), float(b), float(human))
        for row, a, b, human in found
        if a is not None and b is not None
    ]


def scored_versions(session: Session, evaluation_id: int, metric_id: int) -> list[tuple[int, int]]:
    """The metric's versions with scored results on the evaluation: (version number, rows
    scored), by number."""
    rows = func.count(func.distinct(JudgeResultRecord.row_id))
    found = session.execute(
        scored_on(evaluation_id, MetricVersionRecord.number, rows)
        .join(MetricVersionRecord, MetricVersionRecord.id == JudgeResultRecord.metric_version_id)
        .where(MetricVersionRecord.metric_id == metric_id)
        .group_by(MetricVersionRecord.number)
        .order_by(MetricVersionRecord.number)
    ).all()
    return [(int(number), int(rows)) for number, rows in found]
