"""Agreement figures for the verification report, with seeded bootstrap 95% intervals
that resample whole input groups. With ``weights`` (sampling weights) every figure is a
weighted estimate for the population the rows were drawn from."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from rubricate import stats
from rubricate.domain.alignment import AgreementFigures, Figure
from rubricate.domain.scale import Scale

RESAMPLES = 1000


def _clean(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 4)


def kappa(
    judge: Sequence[float],
    human: Sequence[float],
    scale: Scale,
    weights: Sequence[float] | None = None,
) -> float:
    return stats.weighted_kappa(judge, human, categories=scale.points, row_weights=weights)


def agreement(
    judge: Sequence[float],
    human: Sequence[float],
    groups: Sequence[str],
    *,
    scale: Scale,
    delta: float,
    seed: int,
    intervals: bool = True,
    weights: Sequence[float] | None = None,
) -> AgreementFigures:
    a, b = np.asarray(judge, dtype=float), np.asarray(human, dtype=float)
    w = np.ones(a.size) if weights is None else np.asarray(weights, dtype=float)

    def figure(weighted: Callable[..., float]) -> Figure:
        if a.size == 0:
            return Figure(value=None)

        def statistic(x: np.ndarray, y: np.ndarray, v: np.ndarray) -> float:
            return weighted(x, y, None if weights is None else v)  # unweighted: as before

        if not intervals:
            return Figure(value=_clean(statistic(a, b, w)))
        ci = stats.bootstrap_ci(statistic, a, b, w, groups=groups, n_resamples=RESAMPLES, seed=seed)
        return Figure(value=_clean(ci.estimate), low=_clean(ci.low), high=_clean(ci.high))

    return AgreementFigures(
        rows=int(a.size),
        exact=figure(lambda x, y, v: stats.exact_agreement(x, y, row_weights=v)),
        within_delta=figure(
            lambda x, y, v: stats.within_delta_agreement(x, y, delta, row_weights=v)
        ),
        mae=figure(lambda x, y, v: stats.mean_absolute_error(x, y, row_weights=v)),
        kappa=figure(lambda x, y, v: kappa(x, y, scale, v)),
        spearman=figure(lambda x, y, v: stats.spearman(x, y, row_weights=v)),
    )


def paired_difference(
    before: Sequence[float],
    after: Sequence[float],
    human: Sequence[float],
    groups: Sequence[str],
    *,
    scale: Scale,
    delta: float,
    seed: int,
    weights: Sequence[float] | None = None,
) -> Figure:
    """After minus before weighted kappa on the same rows, with a bootstrap interval that
    resamples input groups and keeps each row's two scores together (paired)."""
    if not before:
        return Figure(value=None)
    del delta  # the difference is in kappa; delta is the figures' business
    w = [1.0] * len(before) if weights is None else list(weights)

    def difference(
        b: Sequence[float], a: Sequence[float], h: Sequence[float], v: Sequence[float]
    ) -> float:
        return kappa(a, h, scale, v) - kappa(b, h, scale, v)

    arrays = [np.asarray(x, dtype=float) for x in (before, after, human, w)]
    ci = stats.bootstrap_ci(difference, *arrays, groups=groups, n_resamples=RESAMPLES, seed=seed)
    return Figure(value=_clean(ci.estimate), low=_clean(ci.low), high=_clean(ci.high))


def selection_rank(figures: AgreementFigures) -> tuple[float, float]:
    """How a proposal ranks on the selection rows: weighted kappa, then exact agreement."""
    value = figures.kappa.value
    exact = figures.exact.value
    return (-math.inf if value is None else value, -math.inf if exact is None else exact)
