"""Reads the services do not offer (judge results, an evaluation's annotations), paged in
the database. They read through the store directly: the API may not change the services,
and these are plain reads with no rule of their own."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from rubricate.api.pagination import Page, Paging
from rubricate.api.schemas import AnnotationOut, JudgeResultOut
from rubricate.service.evaluations import find_evaluation
from rubricate.service.metrics import find_metric
from rubricate.store.database import Database
from rubricate.store.tables import (
    AnnotationRecord,
    JudgeResultRecord,
    MetricRecord,
    MetricVersionRecord,
    RowRecord,
)


def _page(db_total: int, items: list[Any], paging: Paging) -> Page[Any]:
    return Page(items=items, offset=paging.offset, limit=paging.limit, total=db_total)


def judge_result_page(
    db: Database,
    evaluation: str,
    paging: Paging,
    *,
    row: str | None = None,
    metric: str | None = None,
) -> Page[JudgeResultOut]:
    """An evaluation's judge results (of one row, of one metric), in row order, oldest
    first within a row."""
    with db.read() as session:
        target = find_evaluation(session, evaluation)
        query = (
            select(
                JudgeResultRecord,
                RowRecord.external_id,
                MetricRecord.name,
                MetricVersionRecord.number,
            )
            .join(RowRecord, RowRecord.id == JudgeResultRecord.row_id)
            .join(
                MetricVersionRecord, MetricVersionRecord.id == JudgeResultRecord.metric_version_id
            )
            .join(MetricRecord, MetricRecord.id == MetricVersionRecord.metric_id)
            .where(RowRecord.evaluation_id == target.id)
        )
        if row is not None:
            query = query.where(RowRecord.external_id == row)
        if metric is not None:
            query = query.where(MetricRecord.id == find_metric(session, metric).id)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        found = session.execute(
            query.order_by(RowRecord.position, RowRecord.id, JudgeResultRecord.id)
            .offset(paging.offset)
            .limit(paging.limit)
        ).all()
        items = [
            JudgeResultOut(
                row=external_id,
                metric=name,
                metric_version=number,
                score=j.score,
                rationale=j.rationale,
                judge_model=j.judge_model,
                raw_output=j.raw_output,
                error=j.error,
                input_tokens=j.input_tokens,
                output_tokens=j.output_tokens,
                cost_usd=j.cost_usd,
                evaluation_run_id=j.evaluation_run_id,
                created_at=j.created_at,
            )
            for j, external_id, name, number in found
        ]
    return _page(total, items, paging)


def annotation_page(
    db: Database, evaluation: str, metric: str, paging: Paging, *, row: str | None = None
) -> Page[AnnotationOut]:
    """Reviewers' annotations of an evaluation for one metric, in row order."""
    with db.read() as session:
        target = find_evaluation(session, evaluation)
        metric_record = find_metric(session, metric)
        query = (
            select(AnnotationRecord, RowRecord.external_id)
            .join(RowRecord, RowRecord.id == AnnotationRecord.row_id)
            .where(
                RowRecord.evaluation_id == target.id,
                AnnotationRecord.metric_id == metric_record.id,
            )
        )
        if row is not None:
            query = query.where(RowRecord.external_id == row)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        found = session.execute(
            query.order_by(RowRecord.position, RowRecord.id, AnnotationRecord.annotator)
            .offset(paging.offset)
            .limit(paging.limit)
        ).all()
        items = [
            AnnotationOut(
                row=external_id,
                metric=metric_record.name,
                annotator=a.annotator,
                score=a.score,
                comment=a.comment,
                created_at=a.created_at,
            )
            for a, external_id in found
        ]
    return _page(total, items, paging)
