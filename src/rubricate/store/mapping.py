"""Records to domain objects: the one place that knows both shapes."""

from __future__ import annotations

from dataclasses import fields
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from rubricate.domain.alignment_runs import (
    AlignmentParams,
    AlignmentRun,
    Phase,
    ResultSummary,
    RunStatus,
)
from rubricate.domain.evaluation_runs import EvaluationRun, EvaluationRunStatus
from rubricate.domain.evaluations import Evaluation, EvaluationSource, Row
from rubricate.domain.metrics import Metric, MetricKind, MetricVersion, VersionOrigin
from rubricate.domain.scale import Scale
from rubricate.store.tables import (
    AlignmentRunRecord,
    Base,
    EvaluationRecord,
    EvaluationRunRecord,
    MetricRecord,
    MetricVersionRecord,
    RowRecord,
)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

D = TypeVar("D", bound="DataclassInstance")


@cache
def _field_names(kind: type[DataclassInstance]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(kind))


def from_record(kind: type[D], record: Base, /, **derived: Any) -> D:
    """The domain object ``kind`` of a record: each of its fields is the record's attribute
    of the same name, except those ``derived`` gives (converted, or not on the record)."""
    names = _field_names(kind)
    copied = {name: getattr(record, name) for name in names if name not in derived}
    return kind(**copied, **derived)


def to_metric(record: MetricRecord) -> Metric:
    return from_record(Metric, record, kind=MetricKind(record.kind))


def to_version(record: MetricVersionRecord) -> MetricVersion:
    return from_record(
        MetricVersion,
        record,
        scale=Scale.model_validate(record.scale),
        origin=VersionOrigin(record.origin),
    )


def to_evaluation(record: EvaluationRecord, row_count: int, in_progress: int = 0) -> Evaluation:
    return from_record(
        Evaluation,
        record,
        source=EvaluationSource(record.source),
        row_count=row_count,
        scoring_in_progress=in_progress,
    )


def to_row(record: RowRecord) -> Row:
    return from_record(Row, record, metadata=dict(record.row_metadata or {}))


def to_evaluation_run(record: EvaluationRunRecord) -> EvaluationRun:
    return from_record(
        EvaluationRun,
        record,
        params=dict(record.params),
        status=EvaluationRunStatus(record.status),
    )


def to_alignment_run(
    record: AlignmentRunRecord,
    metric: str,
    evaluations: tuple[str, ...],
    *,
    with_result: bool = True,
) -> AlignmentRun:
    # The result's pydantic models load with the first run read, not with every command.
    from rubricate.domain.alignment import AlignmentResult

    return from_record(
        AlignmentRun,
        record,
        metric=metric,
        evaluations=evaluations,
        status=RunStatus(record.status),
        params=AlignmentParams.from_json(record.params),
        phase=Phase(record.phase) if record.phase else None,
        result=(
            AlignmentResult.model_validate(record.result) if with_result and record.result else None
        ),
        summary=ResultSummary.from_json(record.summary) if record.summary else None,
    )
