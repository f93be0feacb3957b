"""Reviewer calibration: per reviewer, the rows they scored, their agreement with each of
the others, the group's alpha without them and how much harsher or more lenient they are;
and the warning an alignment shows when reviewers agree too little on the rows it would
use. The figures are ``stats.reviewer_calibration``; this module reads the scores and puts
them on the scale's axis."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from rubricate.domain.calibration import ReviewerWarning, reviewer_warning
from rubricate.domain.errors import InvalidInput, NotFound
from rubricate.domain.metrics import active_version
from rubricate.domain.queues import GoldAccuracy, gold_accuracy
from rubricate.domain.scale import Scale
from rubricate.domain.users import User
from rubricate.service.base import Service
from rubricate.service.evaluations import find_evaluation
from rubricate.service.metrics import find_metric, load_versions
from rubricate.store.calibration import reviewer_scores
from rubricate.store.gold import gold_reviews
from rubricate.store.mapping import to_metric

if TYPE_CHECKING:
    from rubricate.stats import AlphaLevel, ReviewerFigures

Ratings = dict[int, dict[str, float]]  # unit (a row, numbered as read) -> {reviewer: score}


@dataclass(frozen=True, slots=True)
class ReviewerCalibration:
    evaluations: tuple[str, ...]
    metric: str
    scale: Scale
    level: AlphaLevel  # Krippendorff's level of measurement: the scale's
    unit: str  # what offsets and delta count: "points" or, on a labels scale, "label steps"
    delta: float | None  # within-delta agreement: |a - b| < delta
    rows: int  # rows scored by anyone
    shared_rows: int  # rows scored by two reviewers or more
    alpha: float | None  # everyone's; None: no row is scored twice, or no variation
    reviewers: tuple[ReviewerFigures, ...]  # by name
    gold: tuple[GoldAccuracy, ...] = ()  # accuracy on the gold rows of review queues, by name

    @property
    def within_delta_differs(self) -> bool:
        """Whether within-delta agreement can differ from exact agreement: not on a scale
        of whole steps with delta at most one step (scores less than a step apart are equal)."""
        return self.delta is not None and not (self.scale.points and self.delta <= 1)

    @property
    def pulling_down(self) -> list[ReviewerFigures]:
        """The reviewers whose removal raises alpha, the most raising first."""
        alpha = self.alpha
        if alpha is None:
            return []
        raising = [
            (r.alpha_without, r)
            for r in self.reviewers
            if r.alpha_without is not None and r.alpha_without > alpha
        ]
        return [r for _, r in sorted(raising, key=lambda pair: -pair[0])]


class CalibrationService(Service):
    def reviewers(
        self,
        evaluations: str | Sequence[str],
        metric: str,
        *,
        delta: float | None = None,
        viewer: User | None = None,
    ) -> ReviewerCalibration:
        """Each reviewer's calibration on ``metric`` over the rows of ``evaluations``; ``delta``
        (default: one step of the scale, a quarter of a continuous one) counts as agreeing
        two scores less than it apart. A metric without annotations there is NotFound.
        Accuracy on gold rows is left out for a ``viewer`` who is no admin (it would tell
        a reviewer which of their rows was gold)."""
        names = (
            (evaluations,) if isinstance(evaluations, str) else tuple(dict.fromkeys(evaluations))
        )
        if not names:
            raise InvalidInput("give at least one evaluation", field="evaluations")
        with self._db.read() as session:
            metric_id, scale = metric_scale(session, metric)
            chosen = check_delta(delta, scale)
            ratings: Ratings = {}
            evaluation_ids = []
            for name in names:
                evaluation_id = find_evaluation(session, name).id
                evaluation_ids.append(evaluation_id)
                _read(ratings, reviewer_scores(session, evaluation_id, metric_id), scale)
            golden = gold_reviews(session, metric_id, evaluation_ids=evaluation_ids)
        if not ratings:
            where = ", ".join(repr(n) for n in names)
            plural = "s" if len(names) > 1 else ""
            raise NotFound(
                f"metric {metric!r} has no annotations in evaluation{plural} {where}: "
                "there is no reviewer to calibrate"
            )
        found = calibrate(names, metric, scale, ratings, chosen)
        if viewer is not None and not viewer.is_admin:
            return found
        gold = accuracy_by_reviewer(golden, scale)
        return replace(found, gold=tuple(gold[who] for who in sorted(gold)))


def accuracy_by_reviewer(
    reviews: Iterable[tuple[str, float, float]], scale: Scale
) -> dict[str, GoldAccuracy]:
    """Each reviewer's accuracy on gold rows from (reviewer, score, gold score) triples;
    on a labels scale the error counts label steps, as offsets do."""
    position = _positions(scale)
    pairs: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for who, score, gold in reviews:
        pairs[who].append((position.get(score, score), position.get(gold, gold)))
    found = {who: gold_accuracy(who, given) for who, given in pairs.items()}
    return {who: accuracy for who, accuracy in found.items() if accuracy is not None}


def calibrate(
    names: tuple[str, ...], metric: str, scale: Scale, ratings: Ratings, delta: float | None
) -> ReviewerCalibration:
    from rubricate.stats import reviewer_calibration  # SciPy's import: only when measuring

    level = level_of(scale)
    found = reviewer_calibration(ratings, level=level, delta=delta)
    return ReviewerCalibration(
        evaluations=names,
        metric=metric,
        scale=scale,
        level=level,
        unit="label steps" if scale.type == "labels" else "points",
        delta=delta,
        rows=found.units,
        shared_rows=found.shared_units,
        alpha=found.alpha,
        reviewers=found.reviewers,
    )


def alignment_warning(
    session: Session,
    metric_id: int,
    scale: Scale,
    evaluation_ids: Sequence[int],
    threshold: float,
) -> ReviewerWarning | None:
    """The warning for an alignment of ``metric_id`` on these evaluations: reviewers'
    alpha on the rows the run would use (resolved, judged by the version the run reads)
    below ``threshold``. None when it is not, or when too few rows are shared to say."""
    from rubricate.alignment.loading import judged_versions
    from rubricate.stats import leave_one_out_alpha

    ratings: Ratings = {}
    for evaluation_id, version_id in judged_versions(session, metric_id, evaluation_ids).items():
        scores = reviewer_scores(session, evaluation_id, metric_id, judged_by=version_id)
        _read(ratings, scores, scale)
    alpha, without = leave_one_out_alpha(ratings, level_of(scale))
    return reviewer_warning(alpha, threshold, sorted(without.items()))


def metric_scale(session: Session, name: str) -> tuple[int, Scale]:
    """The metric's id and its active version's scale."""
    record = find_metric(session, name)
    version = active_version(to_metric(record), load_versions(session, record.id))
    return record.id, version.scale


def level_of(scale: Scale) -> AlphaLevel:
    """Interval scales are measured as intervals; ordinal and labels scales by order only
    (a labels scale maps each label to a number, so its labels are ordered: fail < pass)."""
    return "interval" if scale.type == "interval" else "ordinal"


def default_delta(scale: Scale) -> float:
    """One step of a scale with points (on a labels scale, one label), a quarter of a
    continuous one: as the evaluation page counts a disagreement."""
    return 1.0 if scale.points else scale.span / 4


def check_delta(delta: float | None, scale: Scale) -> float:
    chosen = default_delta(scale) if delta is None else float(delta)
    span = len(scale.labels) - 1 if scale.type == "labels" else scale.span
    if not 0 < chosen <= span:
        unit = "label steps" if scale.type == "labels" else f"points on {scale.describe()}"
        raise InvalidInput(
            f"delta must be above 0 and at most {span:g} ({unit}), not {chosen:g}", field="delta"
        )
    return chosen


def _read(ratings: Ratings, rows: Iterable[dict[str, float]], scale: Scale) -> None:
    """Add the rows' scores to ``ratings``, a labels scale's as the labels' positions (so
    an offset counts labels: "half a label harsher")."""
    position = _positions(scale)
    for scores in rows:
        ratings[len(ratings)] = {who: position.get(s, s) for who, s in scores.items()}


def _positions(scale: Scale) -> dict[float, float]:
    """A labels scale's values to the labels' positions (none for other scales)."""
    if scale.type != "labels":
        return {}
    return {value: float(i) for i, value in enumerate(sorted(scale.labels))}
