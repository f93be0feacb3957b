"""Phase 1, Loading annotations: the rows of the source evaluations that have both a judge
result for the metric (from the metric version each evaluation used) and a resolved human
value, streamed from the database page by page."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, func, select, tuple_
from sqlalchemy.orm import Session

from rubricate.domain.traces import ReviewerNote
from rubricate.store.tables import (
    AnnotationRecord,
    JudgeResultRecord,
    MetricVersionRecord,
    ResolutionRecord,
    RowRecord,
)
from rubricate.store.version_comparison import latest_scored

PAGE = 1000


@dataclass(frozen=True, slots=True)
class SourceRow:
    """A usable row: its texts, the judge's verdict and how it was made, the human value."""

    row_id: int
    external_id: str
    evaluation_id: int
    input: str
    output: str
    context: str | None
    expected: str | None
    metadata: dict[str, object]
    judge_score: float
    judge_rationale: str | None
    judge_model: str | None
    judge_temperature: float | None
    judge_version_id: int
    human: float


@dataclass(frozen=True, slots=True)
class RowCounts:
    total: int
    usable: int
    missing_judge: int  # no judge result for the metric
    missing_human: int  # judged, but no resolved human value


def judged_versions(
    session: Session, metric_id: int, evaluation_ids: Sequence[int]
) -> dict[int, int]:
    """For each evaluation, the metric version its judge results came from: the version
    with the most recent scored result on its rows."""
    chosen: dict[int, int] = {}
    for evaluation_id in evaluation_ids:
        version = session.scalar(
            select(JudgeResultRecord.metric_version_id)
            .join(RowRecord, RowRecord.id == JudgeResultRecord.row_id)
            .join(
                MetricVersionRecord, MetricVersionRecord.id == JudgeResultRecord.metric_version_id
            )
            .where(
                RowRecord.evaluation_id == evaluation_id,
                MetricVersionRecord.metric_id == metric_id,
                JudgeResultRecord.score.is_not(None),
            )
            .order_by(JudgeResultRecord.created_at.desc(), JudgeResultRecord.id.desc())
            .limit(1)
        )
        if version is not None:
            chosen[evaluation_id] = version
    return chosen


def count_rows(
    session: Session, metric_id: int, evaluation_ids: Sequence[int], versions: dict[int, int]
) -> RowCounts:
    total = usable = judged = 0
    for evaluation_id in evaluation_ids:
        total += (
            session.scalar(
                select(func.count())
                .select_from(RowRecord)
                .where(RowRecord.evaluation_id == evaluation_id)
            )
            or 0
        )
        version = versions.get(evaluation_id)
        if version is None:
            continue
        latest = latest_scored(evaluation_id, version)
        judged += session.scalar(select(func.count()).select_from(latest)) or 0
        usable += (
            session.scalar(
                select(func.count())
                .select_from(latest)
                .join(
                    ResolutionRecord,
                    (ResolutionRecord.row_id == latest.c.row_id)
                    & (ResolutionRecord.metric_id == metric_id),
                )
            )
            or 0
        )
    return RowCounts(total, usable, total - judged, judged - usable)


# The columns the row pass reads: plain tuples, not ORM objects (no identity map, no
# change tracking; about 2.6x faster at 50k rows, and less memory per page).
_ROW_COLUMNS = (
    RowRecord.id,
    RowRecord.external_id,
    RowRecord.evaluation_id,
    RowRecord.input,
    RowRecord.output,
    RowRecord.context,
    RowRecord.expected,
    RowRecord.row_metadata,
    JudgeResultRecord.score,
    JudgeResultRecord.rationale,
    JudgeResultRecord.judge_model,
    JudgeResultRecord.temperature,
    ResolutionRecord.value,
    RowRecord.position,
)


def stream_rows(
    session: Session, metric_id: int, evaluation_ids: Sequence[int], versions: dict[int, int]
) -> Iterator[list[SourceRow]]:
    """Usable rows, a page at a time, in evaluation and file order (keyset paging: memory
    stays flat whatever the number of rows)."""
    for evaluation_id in evaluation_ids:
        version = versions.get(evaluation_id)
        if version is None:
            continue
        latest = latest_scored(evaluation_id, version)
        after: tuple[int, int] | None = None
        while True:
            query = (
                select(*_ROW_COLUMNS)
                .join_from(RowRecord, latest, latest.c.row_id == RowRecord.id)
                .join(JudgeResultRecord, JudgeResultRecord.id == latest.c.result_id)
                .join(
                    ResolutionRecord,
                    (ResolutionRecord.row_id == RowRecord.id)
                    & (ResolutionRecord.metric_id == metric_id),
                )
                .where(RowRecord.evaluation_id == evaluation_id)
            )
            if after is not None:
                query = query.where(tuple_(RowRecord.position, RowRecord.id) > tuple_(*after))
            page = session.execute(
                query.order_by(RowRecord.position, RowRecord.id).limit(PAGE)
            ).all()
            if not page:
                break
            yield [_source_row(values, version) for values in page]
            last = page[-1]
            after = (last.position, last.id)


def _source_row(values: Row[Any], version: int) -> SourceRow:
    fields: tuple[Any, ...] = tuple(values)
    row_id, external_id, evaluation_id, text_in, text_out, context, expected, metadata = fields[:8]
    score, rationale, model, temperature, human = fields[8:13]
    return SourceRow(
        row_id=row_id,
        external_id=external_id,
        evaluation_id=evaluation_id,
        input=text_in,
        output=text_out,
        context=context,
        expected=expected,
        metadata=dict(metadata or {}),
        judge_score=float(score) if score is not None else 0.0,
        judge_rationale=rationale,
        judge_model=model,
        judge_temperature=temperature,
        judge_version_id=version,
        human=float(human),
    )


def reviewer_notes(
    session: Session, metric_id: int, row_ids: Sequence[int]
) -> dict[int, tuple[ReviewerNote, ...]]:
    """Every reviewer's score and comment on ``row_ids``, by row."""
    notes: dict[int, list[ReviewerNote]] = {}
    for start in range(0, len(row_ids), PAGE):
        chunk = list(row_ids[start : start + PAGE])
        records = session.execute(
            select(
                AnnotationRecord.row_id,
                AnnotationRecord.annotator,
                AnnotationRecord.score,
                AnnotationRecord.comment,
            )
            .where(AnnotationRecord.metric_id == metric_id, AnnotationRecord.row_id.in_(chunk))
            .order_by(AnnotationRecord.row_id, AnnotationRecord.annotator)
        )
        for row_id, annotator, score, comment in records:
            notes.setdefault(row_id, []).append(ReviewerNote(annotator, score, comment))
    return {row: tuple(found) for row, found in notes.items()}
