"""The queries label sampling makes (service/label_sampling.py): the judge's two newest
scores of a version per row, the rows already reviewed or waiting in an open queue, and
the texts of the rows it reads; and, for alignment, whether the sampler chose rows of an
evaluation (a queue with the ``sampler`` selection, open or closed, is the mark)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from rubricate.domain.queues import Selection
from rubricate.store.queue_tables import QueueItemRecord, ReviewQueueRecord
from rubricate.store.queues import all_rows, open_queue_items
from rubricate.store.tables import AnnotationRecord, JudgeResultRecord, ResolutionRecord, RowRecord
from rubricate.store.version_comparison import scored_on
from rubricate.util import batched

CHUNK = 900  # ids per query: under every driver's limit on bound parameters

row_ids = all_rows  # every row of the evaluation, in row order


def judge_samples(
    session: Session, evaluation_id: int, version_id: int
) -> dict[int, tuple[float, float | None]]:
    """Per row the version has scored: its newest score and the one before it (another
    sample of the same judge, e.g. a second run at temperature > 0), or None."""
    query = (
        scored_on(evaluation_id, JudgeResultRecord.row_id, JudgeResultRecord.score)
        .where(JudgeResultRecord.metric_version_id == version_id)
        .order_by(JudgeResultRecord.row_id, JudgeResultRecord.id.desc())
    )
    found: dict[int, tuple[float, float | None]] = {}
    for row_id, score in session.execute(query):
        if score is None:  # excluded by the query; for the type checker
            continue
        newest = found.get(row_id)
        if newest is None:
            found[row_id] = (float(score), None)
        elif newest[1] is None:
            found[row_id] = (newest[0], float(score))
    return found


def reviewed_rows(session: Session, evaluation_id: int, metric_id: int) -> dict[int, float | None]:
    """The rows a reviewer has scored for the metric, with the resolved value when there
    is one, and the rows waiting in an open review queue on the same metric (None)."""
    in_evaluation = RowRecord.evaluation_id == evaluation_id
    found: dict[int, float | None] = {}
    queued = open_queue_items(metric_id, QueueItemRecord.row_id).where(
        ReviewQueueRecord.evaluation_id == evaluation_id, QueueItemRecord.done.is_(False)
    )
    annotated = (
        select(AnnotationRecord.row_id)
        .join(RowRecord, RowRecord.id == AnnotationRecord.row_id)
        .where(in_evaluation, AnnotationRecord.metric_id == metric_id)
    )
    for query in (queued, annotated):
        found.update(dict.fromkeys(session.scalars(query)))
    resolved = (
        select(ResolutionRecord.row_id, ResolutionRecord.value)
        .join(RowRecord, RowRecord.id == ResolutionRecord.row_id)
        .where(in_evaluation, ResolutionRecord.metric_id == metric_id)
    )
    for row_id, value in session.execute(resolved):
        found[row_id] = float(value)
    return found


def row_texts(session: Session, ids: Iterable[int]) -> dict[int, tuple[str, str, str]]:
    """Each row's user id, input and output; a query per ``CHUNK`` ids."""
    found: dict[int, tuple[str, str, str]] = {}
    for chunk in batched(sorted(set(ids)), CHUNK):
        query = select(RowRecord.id, RowRecord.external_id, RowRecord.input, RowRecord.output)
        for row_id, external_id, input_text, output_text in session.execute(
            query.where(RowRecord.id.in_(chunk))
        ):
            found[row_id] = (external_id, input_text, output_text)
    return found


def sampler_chosen(session: Session, metric_id: int, evaluation_ids: Sequence[int]) -> bool:
    """Whether a review queue on the metric and one of the evaluations holds rows the
    sampler chose (then the reviewed rows are not a random sample of the evaluation)."""
    query = select(ReviewQueueRecord.id).where(
        ReviewQueueRecord.metric_id == metric_id,
        ReviewQueueRecord.evaluation_id.in_(list(evaluation_ids)),
        ReviewQueueRecord.selection_kind == Selection.SAMPLER.value,
    )
    return session.scalar(query.limit(1)) is not None
