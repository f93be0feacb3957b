"""Is a trait (a phrase, a row feature) more frequent among disagreements than among agreeing
rows with the same human scores?

Human scores are compared stratum by stratum: low-scored rows draw more complaints whether or
not the judge got them right, so a phrase is set against agreeing rows weighted to the
disagreements' human-score distribution, not against all agreeing rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rubricate.domain.scale import Scale
from rubricate.models.offline.significance import (
    Matrix,
    column_sums,
    discoveries,
    mantel_haenszel,
)

MIN_RATIO = 1.2  # how much more frequent among disagreements a trait must be
MIN_ROWS = 3
_INTERVAL_BINS = 5  # strata of a continuous scale


def stratum(scale: Scale, value: float) -> int:
    """The human-score stratum: the nearest scale point, or one of five equal bins of a
    continuous scale (mean-resolved scores may fall between points)."""
    points = scale.points
    if points is not None:
        return min(range(len(points)), key=lambda i: (abs(points[i] - value), i))
    share = (value - scale.low) / scale.span
    return min(_INTERVAL_BINS - 1, max(0, int(share * _INTERVAL_BINS)))


@dataclass(frozen=True, slots=True)
class Contrast:
    """One trait in one direction: ``support`` of ``total`` disagreements have it, while
    ``agreeing_rate`` of comparable agreeing rows do (stratified and smoothed)."""

    support: int
    total: int
    agreeing_rate: float
    significant: bool = True

    @property
    def rate(self) -> float:
        return self.support / self.total if self.total else 0.0

    @property
    def ratio(self) -> float:
        return self.rate / self.agreeing_rate

    @property
    def excess(self) -> float:
        """Disagreements with the trait beyond what the agreeing rate predicts."""
        return self.support - self.agreeing_rate * self.total

    @property
    def passes(self) -> bool:
        return self.significant and self.support >= MIN_ROWS and self.ratio >= MIN_RATIO


def agreeing_rates(
    agreeing: Matrix, agreeing_strata: Sequence[int], target_strata: Sequence[int]
) -> npt.NDArray[np.float64]:
    """Per trait (column), its rate among agreeing rows, weighted to the human-score
    distribution of ``target_strata``. Each stratum's rate is smoothed (k + 0.5) / (n + 1), so
    an unseen trait is not a zero that divides; a stratum without agreeing rows falls back
    to the pooled rate over all agreeing rows."""
    columns = agreeing.shape[1]
    pooled = (column_sums(agreeing) + 0.5) / (agreeing.shape[0] + 1)
    labels = np.asarray(agreeing_strata, dtype=np.int64)
    rates = np.zeros(columns, dtype=np.float64)
    weights = Counter(target_strata)
    for level, count in sorted(weights.items()):
        rows = np.flatnonzero(labels == level)
        if rows.size:
            stratum_rate = (column_sums(agreeing[rows]) + 0.5) / (rows.size + 1)
        else:
            stratum_rate = pooled
        rates += stratum_rate * (count / len(target_strata))
    return rates


def contrasts(
    disagreeing: Matrix,
    agreeing: Matrix,
    agreeing_strata: Sequence[int],
    disagreeing_strata: Sequence[int],
) -> list[Contrast]:
    """A Contrast per column for one direction's disagreement rows; the columns are one
    family of tests (see significance)."""
    support = column_sums(disagreeing).astype(np.int64)
    rates = agreeing_rates(agreeing, agreeing_strata, disagreeing_strata)
    p, least_p = mantel_haenszel(disagreeing, agreeing, disagreeing_strata, agreeing_strata)
    significant = discoveries(p, least_p)
    total = disagreeing.shape[0]
    return [
        Contrast(int(s), total, float(r), bool(ok))
        for s, r, ok in zip(support, rates, significant, strict=True)
    ]
