"""Agreement figures for the verification report, with seeded bootstrap 95% intervals
that resample whole input groups."""

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


def kappa(judge: Sequence[float], human: Sequence[float], scale: Scale) -> float:
    return stats.weighted_kappa(judge, human, categories=scale.points)


def agreement(
    judge: Sequence[float],
    human: Sequence[float],
    groups: Sequence[str],
    *,
    scale: Scale,
    delta: float,
    seed: int,
    intervals: bool = True,
) -> AgreementFigures:
    a, b = np.asarray(judge, dtype=float), np.asarray(human, dtype=float)

    def figure(statistic: Callable[..., float]) -> Figure:
        if a.size == 0:
            return Figure(value=None)
        if not intervals:
            return Figure(value=_clean(statistic(a, b)))
        ci = stats.bootstrap_ci(statistic, a, b, groups=groups, n_resamples=RESAMPLES, seed=seed)
        return Figure(value=_clean(ci.estimate), low=_clean(ci.low), high=_clean(ci.high))

    return AgreementFigures(
        rows=int(a.size),
        exact=figure(stats.exact_agreement),
        within_delta=figure(lambda x, y: stats.within_delta_agreement(x, y, delta)),
        mae=figure(stats.mean_absolute_error),
        kappa=figure(lambda x, y: kappa(x, y, scale)),
        spearman=figure(stats.spearman),
    )


def selection_rank(figures: AgreementFigures) -> tuple[float, float]:
    """How a proposal ranks on the selection rows: weighted kappa, then exact agreement."""
    value = figures.kappa.value
    exact = figures.exact.value
    return (-math.inf if value is None else value, -math.inf if exact is None else exact)
