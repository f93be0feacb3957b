"""What is read of one evaluation for its lists and pages: its judge results and
annotations a page at a time (the REST API), and one metric's rows a page at a time (all of
them, the ones the judge and the resolved human value disagree on, or the unresolved ones),
each with its judge result, reviewers' annotations and resolution, and the (judge, human)
pairs the plot and the agreement figures are made of (the web).

The judge score of a row is the one alignment uses (alignment.loading): the newest scored
result of the metric version the evaluation was judged with."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from rubricate.alignment.loading import judged_versions
from rubricate.domain.errors import NotFound
from rubricate.domain.evaluations import Row
from rubricate.domain.users import User
from rubricate.service.base import Service
from rubricate.service.evaluations import find_evaluation
from rubricate.service.metrics import find_metric
from rubricate.store import evaluation_reads as store
from rubricate.store.evaluation_reads import TOLERANCE, RowFilter, Target

__all__ = ["TOLERANCE", "EvaluationReadService", "RowFilter"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Listing(Generic[T]):
    """A page of a list and how long the whole list is."""

    total: int
    items: list[T]


@dataclass(frozen=True, slots=True)
class ListedJudgeResult:
    row: str
    metric: str
    metric_version: int
    score: float | None
    rationale: str | None
    judge_model: str | None
    raw_output: str | None
    error: str | None
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    evaluation_run_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ListedAnnotation:
    row: str
    metric: str
    annotator: str
    score: float
    comment: str | None
    source: str  # "import", "inline" or "queue:NAME": where the score came from
    created_at: datetime


@dataclass(frozen=True, slots=True)
class JudgeView:
    score: float | None
    rationale: str | None
    model: str | None
    error: str | None
    version: int


@dataclass(frozen=True, slots=True)
class ReviewView:
    annotator: str
    score: float
    comment: str | None


@dataclass(frozen=True, slots=True)
class RowView:
    row: Row
    judge: JudgeView | None
    reviews: list[ReviewView] = field(default_factory=list)
    resolved: float | None = None
    resolved_by: str | None = None  # "policy:majority" or "user:ada"

    @property
    def gap(self) -> float | None:
        """|judge - human|, when the row has both."""
        if self.judge is None or self.judge.score is None or self.resolved is None:
            return None
        return abs(self.judge.score - self.resolved)

    def review_of(self, annotator: str) -> ReviewView | None:
        return next((r for r in self.reviews if r.annotator == annotator), None)


@dataclass(frozen=True, slots=True)
class Point:
    """One row of the plot: the judge's score and the resolved human value."""

    row: str
    judge: float
    human: float


class EvaluationReadService(Service):
    def judge_results(
        self,
        evaluation: str,
        *,
        offset: int = 0,
        limit: int = 50,
        row: str | None = None,
        metric: str | None = None,
        viewer: User | None = None,
    ) -> Listing[ListedJudgeResult]:
        """An evaluation's judge results (of one row, of one metric), in row order, oldest
        first within a row; those ``viewer`` may see (a blind queue's rows they have yet to
        review are left out)."""
        with self._db.read() as session:
            evaluation_id = find_evaluation(session, evaluation).id
            metric_id = find_metric(session, metric).id if metric is not None else None
            total, found = store.judge_result_listing(
                session,
                evaluation_id,
                offset,
                limit,
                row=row,
                metric_id=metric_id,
                viewer=_name(viewer),
            )
            items = [
                ListedJudgeResult(
                    row=external_id,
                    metric=name,
                    metric_version=number,
                    score=j.score,
                    rationale=j.rationale,
                    judge_model=j.judge_model,
                    raw_output=j.raw_output,
                    error=j.error,
                    input_tokens=j.input_tokens,
                    output_tokens=j.output_tokens,
                    cost_usd=j.cost_usd,
                    evaluation_run_id=j.evaluation_run_id,
                    created_at=j.created_at,
                )
                for j, external_id, name, number in found
            ]
        return Listing(total, items)

    def annotations(
        self,
        evaluation: str,
        metric: str,
        *,
        offset: int = 0,
        limit: int = 50,
        row: str | None = None,
        viewer: User | None = None,
    ) -> Listing[ListedAnnotation]:
        """Reviewers' annotations of an evaluation for one metric, in row order; those
        ``viewer`` may see (their own, and others' outside the blind queue rows they have
        yet to review)."""
        with self._db.read() as session:
            evaluation_id = find_evaluation(session, evaluation).id
            metric_record = find_metric(session, metric)
            total, found = store.annotation_listing(
                session, evaluation_id, metric_record.id, offset, limit, row=row,
                viewer=_name(viewer),
            )  # fmt: skip
            items = [
                ListedAnnotation(
                    row=external_id,
                    metric=metric_record.name,
                    annotator=a.annotator,
                    score=a.score,
                    comment=a.comment,
                    source=a.source,
                    created_at=a.created_at,
                )
                for a, external_id in found
            ]
        return Listing(total, items)

    def row_counts(self, evaluation: str, metric: str, delta: float) -> dict[RowFilter, int]:
        """How many rows each filter shows."""
        with self._db.read() as session:
            target = _target(session, evaluation, metric)
            return {show: store.count_rows(session, target, show, delta) for show in RowFilter}

    def rows(
        self,
        evaluation: str,
        metric: str,
        *,
        show: RowFilter = RowFilter.ALL,
        delta: float = 1.0,
        offset: int = 0,
        limit: int = 50,
        viewer: User | None = None,
    ) -> list[RowView]:
        """Rows ``offset`` to ``offset + limit`` that ``show`` selects, in file order, as
        ``viewer`` may see them."""
        with self._db.read() as session:
            target = _target(session, evaluation, metric, viewer)
            rows = store.row_page(session, target, show, delta, offset, limit)
            return _views(session, target, rows)

    def row(
        self, evaluation: str, metric: str, row_id: str, *, viewer: User | None = None
    ) -> RowView:
        """One row (``row_id`` is its id in the evaluation), as the page shows it to
        ``viewer``."""
        with self._db.read() as session:
            target = _target(session, evaluation, metric, viewer)
            row = store.find_row(session, target.evaluation_id, row_id)
            if row is None:
                raise NotFound(f"evaluation {evaluation!r} has no row {row_id!r}")
            return _views(session, target, [row])[0]

    def points(self, evaluation: str, metric: str, *, viewer: User | None = None) -> list[Point]:
        """Every row with both a judge score and a resolved human value, in file order
        (those ``viewer`` may see)."""
        with self._db.read() as session:
            target = _target(session, evaluation, metric, viewer)
            return [Point(*pair) for pair in store.judged_pairs(session, target)]


def _target(session: Session, evaluation: str, metric: str, viewer: User | None = None) -> Target:
    evaluation_id = find_evaluation(session, evaluation).id
    metric_id = find_metric(session, metric).id
    version = judged_versions(session, metric_id, [evaluation_id]).get(evaluation_id)
    return Target(evaluation_id, metric_id, version, _name(viewer))


def _name(viewer: User | None) -> str | None:
    return viewer.name if viewer is not None else None


def _views(session: Session, target: Target, rows: Sequence[Row]) -> list[RowView]:
    ids = [row.id for row in rows]
    if not ids:
        return []
    judged: dict[int, JudgeView] = {}
    preferred: set[int] = set()  # rows with a scored result of the judged version
    for result, number in store.judge_results_of(session, target.metric_id, ids, target.viewer):
        # the newest wins: a scored one of the judged version first
        chosen = result.metric_version_id == target.version_id and result.score is not None
        if result.row_id in preferred and not chosen:
            continue
        if chosen:
            preferred.add(result.row_id)
        judged[result.row_id] = JudgeView(
            result.score, result.rationale, result.judge_model, result.error, number
        )
    reviews: dict[int, list[ReviewView]] = {}
    for a in store.annotations_of(session, target.metric_id, ids, target.viewer):
        reviews.setdefault(a.row_id, []).append(ReviewView(a.annotator, a.score, a.comment))
    resolved = {
        r.row_id: r for r in store.resolutions_of(session, target.metric_id, ids, target.viewer)
    }
    views = []
    for row in rows:
        resolution = resolved.get(row.id)
        views.append(
            RowView(
                row=row,
                judge=judged.get(row.id),
                reviews=reviews.get(row.id, []),
                resolved=resolution.value if resolution is not None else None,
                resolved_by=resolution.resolved_by if resolution is not None else None,
            )
        )
    return views
