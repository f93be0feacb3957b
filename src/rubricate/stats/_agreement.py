"""Judge-vs-human agreement over paired score sequences.

``a`` is conventionally the judge and ``b`` the human score of the same row; the human side
may be fractional (e.g. the mean of several reviewers). ``row_weights``, where accepted, are
sampling weights: each row stands for that many rows of the population it was drawn from,
so a stratified sample estimates the population's figure (a weighted mean instead of a mean).
"""

from __future__ import annotations

import math

import numpy as np

from rubricate.stats._validate import TOLERANCE, FloatArray, Scores, paired, row_weights_of


def _mean(values: FloatArray, row_weights: Scores | None) -> float:
    if row_weights is None:
        return float(np.mean(values))
    return float(np.average(values, weights=row_weights_of(row_weights, values.size)))


def exact_agreement(a: Scores, b: Scores, *, row_weights: Scores | None = None) -> float:
    """Fraction of rows whose two scores are equal (within 1e-9, so float noise still agrees)."""
    x, y = paired(a, b)
    return _mean((np.abs(x - y) <= TOLERANCE).astype(np.float64), row_weights)


def within_delta_agreement(
    a: Scores, b: Scores, delta: float, *, row_weights: Scores | None = None
) -> float:
    """Fraction of rows with ``|a - b| < delta``.

    Product rule: a row *disagrees* when ``|judge - human| >= delta``, so a difference of
    exactly ``delta`` counts as a disagreement. The boundary is compared with a 1e-9
    tolerance, so ``|2.9 - 2.6|`` with ``delta=0.3`` is treated as exactly ``delta``.
    ``delta`` must be positive (with ``delta=0`` no row could ever agree).
    """
    if not (math.isfinite(delta) and delta > 0):
        raise ValueError(f"delta must be a positive finite number, got {delta!r}")
    x, y = paired(a, b)
    return _mean((np.abs(x - y) < delta - TOLERANCE).astype(np.float64), row_weights)


def mean_absolute_error(a: Scores, b: Scores, *, row_weights: Scores | None = None) -> float:
    """Mean of ``|a - b|``: how far off the judge is, in scale points."""
    x, y = paired(a, b)
    return _mean(np.abs(x - y), row_weights)


def _weighted_ranks(values: FloatArray, w: FloatArray) -> FloatArray:
    """Mid-ranks where a row counts ``w`` times (with unit weights: average ranks - 0.5)."""
    levels, index = np.unique(values, return_inverse=True)
    mass = np.bincount(index, weights=w, minlength=levels.size)
    below = np.cumsum(mass) - mass
    ranks: FloatArray = (below + mass / 2.0)[index]
    return ranks


def spearman(a: Scores, b: Scores, *, row_weights: Scores | None = None) -> float:
    """Spearman rank correlation (ties get average ranks), via ``scipy.stats.spearmanr``;
    with ``row_weights``, the weighted Pearson correlation of weighted mid-ranks (the
    Spearman correlation of the rows repeated their weight's number of times).

    Returns nan when either side is constant (including a single row): the ranks then carry
    no order, and nan lets callers (and ``bootstrap_ci``) skip it instead of reporting 0.
    """
    x, y = paired(a, b)
    if np.all(x == x[0]) or np.all(y == y[0]):
        return float("nan")
    if row_weights is None:
        from scipy import stats  # SciPy takes over a second to import: only when ranking

        return float(stats.spearmanr(x, y).statistic)
    w = row_weights_of(row_weights, x.size)
    rx, ry = _weighted_ranks(x, w), _weighted_ranks(y, w)
    dx = rx - np.average(rx, weights=w)
    dy = ry - np.average(ry, weights=w)
    cov = np.average(dx * dy, weights=w)
    return float(cov / math.sqrt(np.average(dx**2, weights=w) * np.average(dy**2, weights=w)))
