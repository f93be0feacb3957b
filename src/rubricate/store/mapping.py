"""Records to domain objects: the one place that knows both shapes."""

from __future__ import annotations

from rubricate.domain.evaluations import Evaluation, EvaluationSource, Row
from rubricate.domain.metrics import Metric, MetricKind, MetricVersion, VersionOrigin
from rubricate.domain.scale import Scale
from rubricate.store.tables import EvaluationRecord, MetricRecord, MetricVersionRecord, RowRecord


def to_metric(record: MetricRecord) -> Metric:
    return Metric(
        id=record.id,
        name=record.name,
        description=record.description,
        kind=MetricKind(record.kind),
        created_at=record.created_at,
        judge_model=record.judge_model,
        pinned_version=record.pinned_version,
        forked_from_id=record.forked_from_id,
    )


def to_version(record: MetricVersionRecord) -> MetricVersion:
    return MetricVersion(
        id=record.id,
        metric_id=record.metric_id,
        number=record.number,
        prompt=record.prompt,
        guidelines=record.guidelines,
        scale=Scale.model_validate(record.scale),
        origin=VersionOrigin(record.origin),
        created_at=record.created_at,
        parent_version_id=record.parent_version_id,
        source_run_id=record.source_run_id,
    )


def to_evaluation(record: EvaluationRecord, row_count: int) -> Evaluation:
    return Evaluation(
        id=record.id,
        name=record.name,
        description=record.description,
        source=EvaluationSource(record.source),
        created_at=record.created_at,
        row_count=row_count,
    )


def to_row(record: RowRecord) -> Row:
    return Row(
        id=record.id,
        evaluation_id=record.evaluation_id,
        external_id=record.external_id,
        input=record.input,
        output=record.output,
        context=record.context,
        expected=record.expected,
        metadata=dict(record.row_metadata or {}),
    )
