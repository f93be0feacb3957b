"""Two versions of a metric side by side on one evaluation: each one's agreement with the
resolved human scores, on the same rows (those both have scored), with the figures the
evaluation page shows (exact, within delta, MAE, weighted kappa, Spearman) and the paired
difference in weighted kappa (b minus a) with its bootstrap interval.

Only the rows both versions scored are compared: a re-score that stopped at its budget,
or a version scored on part of the evaluation, is compared on the rows it has, never on
different rows for each side. How many rows each version scored is reported beside."""

from __future__ import annotations

from dataclasses import dataclass

from rubricate.alignment.figures import agreement, paired_difference
from rubricate.domain.alignment import AgreementFigures, Figure
from rubricate.domain.errors import InvalidInput
from rubricate.domain.scale import Scale
from rubricate.service.base import Service
from rubricate.service.metrics import MetricService
from rubricate.store import version_comparison as store
from rubricate.store.database import Database
from rubricate.store.evaluations import find_evaluation
from rubricate.store.metrics import find_metric

INTERVALS_UP_TO = 20_000  # bootstrap intervals up to this many rows (about a second)
SEED = 0  # the bootstrap's: the same data gives the same intervals


@dataclass(frozen=True, slots=True)
class VersionSide:
    """One version on the evaluation."""

    number: int
    scored: int  # rows the version has a score for
    with_human: int  # of those, rows with a resolved human value
    figures: AgreementFigures  # on the rows both versions scored (with a human value)


@dataclass(frozen=True, slots=True)
class VersionComparison:
    metric: str
    evaluation: str
    delta: float
    rows: int  # rows both versions scored that have a resolved human value
    a: VersionSide
    b: VersionSide
    kappa_difference: Figure  # b's weighted kappa minus a's, paired on the same rows
    scale_changed: bool  # the versions' scales differ: each side is read on its own


@dataclass(frozen=True, slots=True)
class ScoredVersion:
    number: int
    rows: int


class VersionComparisonService(Service):
    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self._metrics = MetricService(db)

    def scored_versions(self, metric: str, evaluation: str) -> list[ScoredVersion]:
        """The metric's versions with scores on the evaluation, by number."""
        with self._db.read() as session:
            evaluation_id = find_evaluation(session, evaluation).id
            metric_id = find_metric(session, metric).id
            found = store.scored_versions(session, evaluation_id, metric_id)
        return [ScoredVersion(number, rows) for number, rows in found]

    def compare(
        self,
        metric: str,
        evaluation: str,
        a: int,
        b: int,
        *,
        delta: float | None = None,
        intervals: bool = True,
    ) -> VersionComparison:
        """Versions ``a`` and ``b`` of ``metric`` against the resolved human scores of
        ``evaluation``'s rows; ``delta``: the within-delta gap (default: one scale step).
        ``intervals``: bootstrap 95% intervals (up to INTERVALS_UP_TO rows)."""
        if a == b:
            raise InvalidInput("choose two different versions to compare", field="b")
        version_a = self._metrics.version(f"{metric}@{a}")
        version_b = self._metrics.version(f"{metric}@{b}")
        chosen = version_b.scale.step if delta is None else delta
        if not chosen > 0:
            raise InvalidInput(f"delta must be above 0, not {delta}", field="delta")
        with self._db.read() as session:
            evaluation_id = find_evaluation(session, evaluation).id
            metric_id = version_a.metric_id
            counts_a = store.scored_counts(session, evaluation_id, metric_id, version_a.id)
            counts_b = store.scored_counts(session, evaluation_id, metric_id, version_b.id)
            pairs = store.paired_scores(
                session, evaluation_id, metric_id, version_a.id, version_b.id
            )
        rows = [row for row, *_ in pairs]
        human = [h for *_, h in pairs]
        score_a = [s for _, s, _, _ in pairs]
        score_b = [s for _, _, s, _ in pairs]
        bootstrap = intervals and len(pairs) <= INTERVALS_UP_TO

        def side(
            number: int, counts: tuple[int, int], scores: list[float], scale: Scale
        ) -> VersionSide:
            figures = agreement(
                scores, human, rows, scale=scale, delta=chosen, seed=SEED, intervals=bootstrap
            )
            return VersionSide(number, counts[0], counts[1], figures)

        side_a = side(a, counts_a, score_a, version_a.scale)
        side_b = side(b, counts_b, score_b, version_b.scale)
        same_scale = version_a.scale.same_values(version_b.scale)
        kappa_a, kappa_b = side_a.figures.kappa.value, side_b.figures.kappa.value
        difference = Figure(value=None)  # no rows, or scales that cannot be compared
        if same_scale and bootstrap and pairs:
            difference = paired_difference(
                score_a, score_b, human, rows, scale=version_b.scale, delta=chosen, seed=SEED
            )
        elif same_scale and kappa_a is not None and kappa_b is not None:
            difference = Figure(value=round(kappa_b - kappa_a, 4))  # too many rows to resample
        return VersionComparison(
            metric=metric,
            evaluation=evaluation,
            delta=chosen,
            rows=len(pairs),
            a=side_a,
            b=side_b,
            kappa_difference=difference,
            scale_changed=not same_scale,
        )
