"""Reading alignment runs back: the record, and the run as the domain sees it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from rubricate.domain.alignment import AlignmentResult
from rubricate.domain.alignment_runs import AlignmentRun, ResultSummary
from rubricate.store.lookup import one_named
from rubricate.store.mapping import to_alignment_run
from rubricate.store.tables import (
    AlignmentRunEvaluationRecord,
    AlignmentRunRecord,
    EvaluationRecord,
    MetricRecord,
)


def find_run(session: Session, run_id: str, *, lock: bool = False) -> AlignmentRunRecord:
    query = select(AlignmentRunRecord).where(AlignmentRunRecord.id == run_id)
    missing = f"no alignment run {run_id!r} (see `rubricate align list --metric M`)"
    return one_named(session, query, missing, lock=lock)


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


def load_runs(
    session: Session, records: Sequence[AlignmentRunRecord], *, with_results: bool = True
) -> list[AlignmentRun]:
    """Many runs in two more queries (not two a run). ``with_results=False``: the results
    are left out (their summaries stay), for lists."""
    metric_ids = {r.metric_id for r in records}
    metrics = dict(
        session.execute(
            select(MetricRecord.id, MetricRecord.name).where(MetricRecord.id.in_(metric_ids))
        ).all()
    )
    sources: dict[str, list[str]] = defaultdict(list)
    for run_id, name in session.execute(
        select(AlignmentRunEvaluationRecord.run_id, EvaluationRecord.name)
        .join(EvaluationRecord, AlignmentRunEvaluationRecord.evaluation_id == EvaluationRecord.id)
        .where(AlignmentRunEvaluationRecord.run_id.in_([r.id for r in records]))
        .order_by(EvaluationRecord.name)
    ):
        sources[run_id].append(name)
    return [
        to_alignment_run(
            r, metrics.get(r.metric_id, ""), tuple(sources[r.id]), with_result=with_results
        )
        for r in records
    ]


def store_result(record: AlignmentRunRecord, result: AlignmentResult) -> None:
    """Write a run's result and the summary lists show of it."""
    record.result = result.model_dump(mode="json")
    record.summary = ResultSummary.of(result).to_json()
