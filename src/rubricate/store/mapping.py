"""Records to domain objects: the one place that knows both shapes."""

from __future__ import annotations

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
    EvaluationRecord,
    EvaluationRunRecord,
    MetricRecord,
    MetricVersionRecord,
    RowRecord,
)


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


def to_evaluation(record: EvaluationRecord, row_count: int, in_progress: int = 0) -> Evaluation:
    return Evaluation(
        id=record.id,
        name=record.name,
        description=record.description,
        source=EvaluationSource(record.source),
        created_at=record.created_at,
        row_count=row_count,
        scoring_in_progress=in_progress,
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


def to_evaluation_run(record: EvaluationRunRecord) -> EvaluationRun:
    return EvaluationRun(
        id=record.id,
        evaluation_id=record.evaluation_id,
        metric_version_id=record.metric_version_id,
        model=record.model,
        params=dict(record.params),
        status=EvaluationRunStatus(record.status),
        created_at=record.created_at,
        rows_total=record.rows_total,
        rows_done=record.rows_done,
        rows_failed=record.rows_failed,
        calls=record.calls,
        cache_hits=record.cache_hits,
        input_tokens=record.input_tokens,
        output_tokens=record.output_tokens,
        cost_usd=record.cost_usd,
        error=record.error,
        started_at=record.started_at,
        finished_at=record.finished_at,
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

    return AlignmentRun(
        id=record.id,
        metric_id=record.metric_id,
        metric=metric,
        base_version_id=record.base_version_id,
        status=RunStatus(record.status),
        params=AlignmentParams.from_json(record.params),
        created_at=record.created_at,
        evaluations=evaluations,
        phase=Phase(record.phase) if record.phase else None,
        progress_done=record.progress_done,
        progress_total=record.progress_total,
        disagreements=record.disagreements,
        agreeing_skipped=record.agreeing_skipped,
        missing_skipped=record.missing_skipped,
        result=(
            AlignmentResult.model_validate(record.result) if with_result and record.result else None
        ),
        summary=ResultSummary.from_json(record.summary) if record.summary else None,
        error=record.error,
        started_at=record.started_at,
        finished_at=record.finished_at,
        accepted_version_id=record.accepted_version_id,
    )
