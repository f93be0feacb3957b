"""The queries the annotation use cases make: who resolved an evaluation's rows for a
metric, and its reviewers' scores row by row."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby

from sqlalchemy import select
from sqlalchemy.orm import Session

from rubricate.store.tables import AnnotationRecord, ResolutionRecord, RowRecord


def resolvers(session: Session, evaluation_id: int, metric_id: int) -> dict[int, str]:
    """Who resolved each resolved row of the evaluation for the metric ("policy:majority",
    "user:ada"), by row id."""
    in_evaluation = select(RowRecord.id).where(RowRecord.evaluation_id == evaluation_id)
    found = session.execute(
        select(ResolutionRecord.row_id, ResolutionRecord.resolved_by).where(
            ResolutionRecord.metric_id == metric_id, ResolutionRecord.row_id.in_(in_evaluation)
        )
    )
    return dict(found.all())


def scores_by_row(
    session: Session, evaluation_id: int, metric_id: int
) -> Iterator[tuple[int, list[tuple[str, float]]]]:
    """(row id, [(annotator, score)]) for every annotated row, streamed in row order."""
    result = session.execute(
        select(AnnotationRecord.row_id, AnnotationRecord.annotator, AnnotationRecord.score)
        .join(RowRecord, RowRecord.id == AnnotationRecord.row_id)
        .where(RowRecord.evaluation_id == evaluation_id, AnnotationRecord.metric_id == metric_id)
        .order_by(AnnotationRecord.row_id, AnnotationRecord.annotator)
        .execution_options(yield_per=5000)
    )
    for row_id, group in groupby(result, key=lambda t: t[0]):
        yield row_id, [(annotator, score) for _, annotator, score in group]
