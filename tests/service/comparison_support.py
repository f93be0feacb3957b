"""Two versions of the demo's helpfulness metric scored on the same evaluation, by hand:
v1 is the demo's scripted judge (its results as imported), v2 a stricter prompt whose
hand-written results agree with the resolved human scores on all but a few rows, and
score only the first rows (so the comparison must keep to the rows both scored)."""

from __future__ import annotations

from sqlalchemy import select

from rubricate import Rubricate
from rubricate.demo import EVALUATION
from rubricate.store.tables import (
    EvaluationRecord,
    JudgeResultRecord,
    MetricRecord,
    ResolutionRecord,
    RowRecord,
    utcnow,
)

METRIC = "answer_helpfulness"
V2_ROWS = 40  # v2 scores the evaluation's first 40 rows only
V2_OFF = 3  # of which this many are one point off the human score


def add_v2_results(rb: Rubricate) -> int:
    """Version 2 with results on the first V2_ROWS rows (and a failed call on one more,
    which must not count); its number."""
    v1 = rb.metrics.version(f"{METRIC}@1")
    v2 = rb.metrics.add_version(METRIC, prompt=v1.prompt, guidelines="- Be strict on policy.")
    with rb.db.write() as session:
        metric_id = session.scalars(
            select(MetricRecord.id).where(MetricRecord.name == METRIC)
        ).one()
        rows = session.execute(
            select(RowRecord.id, ResolutionRecord.value)
            .join(EvaluationRecord, EvaluationRecord.id == RowRecord.evaluation_id)
            .outerjoin(
                ResolutionRecord,
                (ResolutionRecord.row_id == RowRecord.id)
                & (ResolutionRecord.metric_id == metric_id),
            )
            .where(EvaluationRecord.name == EVALUATION)
            .order_by(RowRecord.position)
        ).all()
        for index, (row_id, human) in enumerate(rows[: V2_ROWS + 1]):
            score: float | None = round(human) if human is not None else 3.0
            if index < V2_OFF and score is not None:
                score = score - 1 if score > 1 else score + 1
            error = None
            if index == V2_ROWS:  # a failed call: no score
                score, error = None, "the provider timed out"
            session.add(
                JudgeResultRecord(
                    row_id=row_id,
                    metric_version_id=v2.id,
                    score=score,
                    error=error,
                    judge_model="fake:strict",
                    created_at=utcnow(),
                )
            )
    return v2.number
