"""An evaluation's judge results with their rows' ids and metric versions, in row order,
streamed (for exports that write one record per result)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from rubricate.store.tables import (
    JudgeResultRecord,
    MetricRecord,
    MetricVersionRecord,
    RowRecord,
)

CHUNK = 1000


@dataclass(frozen=True, slots=True)
class ListedResult:
    row: str  # the row's id in the user's files
    metric_id: int
    metric: str
    version_id: int
    version: int
    score: float | None
    rationale: str | None
    model: str | None
    created_at: datetime


def evaluation_results(evaluation_id: int, *columns: Any) -> Select[Any]:
    """``columns`` of the evaluation's judge results, joined to their row, metric version
    and metric."""
    return (
        select(*columns)
        .select_from(JudgeResultRecord)
        .join(RowRecord, RowRecord.id == JudgeResultRecord.row_id)
        .join(MetricVersionRecord, MetricVersionRecord.id == JudgeResultRecord.metric_version_id)
        .join(MetricRecord, MetricRecord.id == MetricVersionRecord.metric_id)
        .where(RowRecord.evaluation_id == evaluation_id)
    )


def judge_results(
    session: Session, evaluation_id: int, metric: str | None = None
) -> Iterator[ListedResult]:
    query = evaluation_results(
        evaluation_id,
        RowRecord.external_id,
        MetricRecord.id,
        MetricRecord.name,
        MetricVersionRecord.id,
        MetricVersionRecord.number,
        JudgeResultRecord.score,
        JudgeResultRecord.rationale,
        JudgeResultRecord.judge_model,
        JudgeResultRecord.created_at,
    ).order_by(RowRecord.position, RowRecord.id, MetricRecord.name, JudgeResultRecord.id)
    if metric is not None:
        query = query.where(MetricRecord.name == metric)
    for found in session.execute(query.execution_options(yield_per=CHUNK)):
        yield ListedResult(*found)


def metric_names(session: Session) -> list[str]:
    return list(session.scalars(select(MetricRecord.name).order_by(MetricRecord.name)))
