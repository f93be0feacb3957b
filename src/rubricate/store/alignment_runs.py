"""The queries the alignment-run use cases make: a metric's runs (with or without their
results) and whether a source evaluation holds what a run reads."""

from __future__ import annotations

from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from rubricate.domain.alignment_runs import AlignmentRun
from rubricate.store.runs import load_runs
from rubricate.store.tables import (
    AlignmentRunRecord,
    JudgeResultRecord,
    MetricVersionRecord,
    ResolutionRecord,
    RowRecord,
)

_NEWEST_FIRST = (AlignmentRunRecord.created_at.desc(), AlignmentRunRecord.id.desc())


def runs_of_metric(session: Session, metric_id: int) -> list[AlignmentRun]:
    """Every run of the metric, newest first."""
    runs = session.scalars(
        select(AlignmentRunRecord)
        .where(AlignmentRunRecord.metric_id == metric_id)
        .order_by(*_NEWEST_FIRST)
    ).all()
    return load_runs(session, runs)


def run_history(session: Session, metric_id: int) -> list[AlignmentRun]:
    """Every run of the metric, newest first, without results (their summaries stay)."""
    # Plain rows of every column but the result: no ORM objects to build either.
    columns = [c for c in AlignmentRunRecord.__table__.c if c.name != "result"]
    rows = session.execute(
        select(*columns).where(AlignmentRunRecord.metric_id == metric_id).order_by(*_NEWEST_FIRST)
    ).all()
    runs = cast("list[AlignmentRunRecord]", rows)  # the same attributes, read-only
    return load_runs(session, runs, with_results=False)


def has_resolutions(session: Session, evaluation_id: int, metric_id: int) -> bool:
    """Whether any row of the evaluation has a resolved value for the metric."""
    found = session.scalar(
        select(ResolutionRecord.id)
        .join(RowRecord, RowRecord.id == ResolutionRecord.row_id)
        .where(ResolutionRecord.metric_id == metric_id, RowRecord.evaluation_id == evaluation_id)
        .limit(1)
    )
    return bool(found)


def has_judge_results(session: Session, evaluation_id: int, metric_id: int) -> bool:
    """Whether any row of the evaluation has a judge result of one of the metric's
    versions."""
    found = session.scalar(
        select(JudgeResultRecord.id)
        .join(RowRecord, RowRecord.id == JudgeResultRecord.row_id)
        .join(MetricVersionRecord, JudgeResultRecord.metric_version_id == MetricVersionRecord.id)
        .where(RowRecord.evaluation_id == evaluation_id, MetricVersionRecord.metric_id == metric_id)
        .limit(1)
    )
    return bool(found)
