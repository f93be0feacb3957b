"""Use cases on evaluations: list, show with per-metric counts, rows page by page."""

from __future__ import annotations

import builtins
from dataclasses import dataclass

from sqlalchemy.orm import Session

from rubricate.domain.errors import InvalidInput
from rubricate.domain.evaluations import Evaluation, Row
from rubricate.service.base import Service
from rubricate.store import evaluations as store
from rubricate.store.evaluations import find_evaluation as find_evaluation  # for the use cases
from rubricate.store.evaluations import scoring_in_progress as scoring_in_progress
from rubricate.store.mapping import to_evaluation
from rubricate.store.tables import EvaluationRecord


@dataclass(frozen=True, slots=True)
class MetricCoverage:
    """How far one metric is covered on an evaluation's rows."""

    metric: str
    annotated_rows: int
    annotations: int
    reviewers: int
    resolved_rows: int
    judged_rows: int


@dataclass(frozen=True, slots=True)
class EvaluationDetail:
    evaluation: Evaluation
    metrics: list[MetricCoverage]


class EvaluationService(Service):
    def list(self) -> builtins.list[Evaluation]:
        with self._db.read() as session:
            counts = store.row_counts(session)
            busy = scoring_in_progress(session)
            records = store.all_evaluations(session)
            return [to_evaluation(r, counts.get(r.id, 0), busy.get(r.id, 0)) for r in records]

    def get(self, name: str) -> Evaluation:
        with self._db.read() as session:
            record = find_evaluation(session, name)
            return _evaluation(session, record)

    def show(self, name: str) -> EvaluationDetail:
        with self._db.read() as session:
            record = find_evaluation(session, name)
            evaluation = _evaluation(session, record)
            return EvaluationDetail(evaluation, _coverage(session, record.id))

    def rows(self, name: str, *, offset: int = 0, limit: int = 50) -> builtins.list[Row]:
        """Rows ``offset`` to ``offset + limit``, in the order of the file they came from."""
        if offset < 0:
            raise InvalidInput(f"offset must be 0 or more, not {offset}", field="offset")
        if limit < 1:
            raise InvalidInput(f"limit must be 1 or more, not {limit}", field="limit")
        with self._db.read() as session:
            record = find_evaluation(session, name)
            return store.rows_in_order(session, record.id, offset, limit)


def _evaluation(session: Session, record: EvaluationRecord) -> Evaluation:
    busy = scoring_in_progress(session, record.id).get(record.id, 0)
    return to_evaluation(record, store.row_count(session, record.id), busy)


def _coverage(session: Session, evaluation_id: int) -> list[MetricCoverage]:
    counts = store.coverage_counts(session, evaluation_id)
    coverage = [
        MetricCoverage(
            metric=name,
            annotated_rows=counts.annotated.get(metric_id, (0, 0, 0))[0],
            annotations=counts.annotated.get(metric_id, (0, 0, 0))[1],
            reviewers=counts.annotated.get(metric_id, (0, 0, 0))[2],
            resolved_rows=counts.resolved.get(metric_id, 0),
            judged_rows=counts.judged.get(metric_id, 0),
        )
        for metric_id, name in counts.names.items()
    ]
    return sorted(coverage, key=lambda c: c.metric)
