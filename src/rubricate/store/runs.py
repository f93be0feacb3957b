"""Reading alignment runs back: the record, and the run as the domain sees it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from rubricate.domain.errors import NotFound
from rubricate.domain.runs import AlignmentRun
from rubricate.store.mapping import to_alignment_run
from rubricate.store.tables import (
    AlignmentRunEvaluationRecord,
    AlignmentRunRecord,
    EvaluationRecord,
    MetricRecord,
)


def find_run(session: Session, run_id: str, *, lock: bool = False) -> AlignmentRunRecord:
    query = select(AlignmentRunRecord).where(AlignmentRunRecord.id == run_id)
    record = session.scalar(query.with_for_update() if lock else query)
    if record is None:
        raise NotFound(f"no alignment run {run_id!r} (see `rubricate align list --metric M`)")
    return record


def load_run(session: Session, record: AlignmentRunRecord) -> AlignmentRun:
    metric = session.scalar(select(MetricRecord.name).where(MetricRecord.id == record.metric_id))
    names = session.scalars(
        select(EvaluationRecord.name)
        .join(
            AlignmentRunEvaluationRecord,
            AlignmentRunEvaluationRecord.evaluation_id == EvaluationRecord.id,
        )
        .where(AlignmentRunEvaluationRecord.run_id == record.id)
        .order_by(EvaluationRecord.name)
    )
    return to_alignment_run(record, metric or "", tuple(names))
