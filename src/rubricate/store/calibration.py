"""The query reviewer calibration makes: an evaluation's reviewers' scores for a metric,
row by row, on every annotated row or only on the rows an alignment run would use."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from rubricate.store.tables import AnnotationRecord, JudgeResultRecord, ResolutionRecord, RowRecord


def reviewer_scores(
    session: Session, evaluation_id: int, metric_id: int, *, judged_by: int | None = None
) -> Iterator[dict[str, float]]:
    """{annotator: score} for each annotated row of the evaluation, streamed in row order.

    With ``judged_by`` (a metric version's id), only the rows an alignment run reads: those
    with a resolved value and a judge score of that version (``alignment/loading.py``)."""
    query = (
        select(AnnotationRecord.row_id, AnnotationRecord.annotator, AnnotationRecord.score)
        .join(RowRecord, RowRecord.id == AnnotationRecord.row_id)
        .where(RowRecord.evaluation_id == evaluation_id, AnnotationRecord.metric_id == metric_id)
    )
    if judged_by is not None:
        resolved = exists().where(
            ResolutionRecord.row_id == AnnotationRecord.row_id,
            ResolutionRecord.metric_id == metric_id,
        )
        judged = exists().where(
            JudgeResultRecord.row_id == AnnotationRecord.row_id,
            JudgeResultRecord.metric_version_id == judged_by,
            JudgeResultRecord.score.is_not(None),
        )
        query = query.where(resolved, judged)
    result = session.execute(
        query.order_by(AnnotationRecord.row_id, AnnotationRecord.annotator).execution_options(
            yield_per=5000
        )
    )
    for _, group in groupby(result, key=lambda t: t[0]):
        yield {annotator: score for _, annotator, score in group}
