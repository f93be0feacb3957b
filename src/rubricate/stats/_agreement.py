"""Judge-vs-human agreement over paired score sequences.

``a`` is conventionally the judge and ``b`` the human score of the same row; the human side
may be fractional (e.g. the mean of several reviewers).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from rubricate.stats._validate import TOLERANCE, Scores, paired


def exact_agreement(a: Scores, b: Scores) -> float:
    """Fraction of rows whose two scores are equal (within 1e-9, so float noise still agrees)."""
    x, y = paired(a, b)
    return float(np.mean(np.abs(x - y) <= TOLERANCE))


def within_delta_agreement(a: Scores, b: Scores, delta: float) -> float:
    """Fraction of rows with ``|a - b| < delta``.

    Product rule: a row *disagrees* when ``|judge - human| >= delta``, so a difference of
    exactly ``delta`` counts as a disagreement. The boundary is compared with a 1e-9
    tolerance, so ``|2.9 - 2.6|`` with ``delta=0.3`` is treated as exactly ``delta``.
    ``delta`` must be positive (with ``delta=0`` no row could ever agree).
    """
    if not (math.isfinite(delta) and delta > 0):
        raise ValueError(f"delta must be a positive finite number, got {delta!r}")
    x, y = paired(a, b)
    return float(np.mean(np.abs(x - y) < delta - TOLERANCE))


def mean_absolute_error(a: Scores, b: Scores) -> float:
    """Mean of ``|a - b|``: how far off the judge is, in scale points."""
    x, y = paired(a, b)
    return float(np.mean(np.abs(x - y)))


def spearman(a: Scores, b: Scores) -> float:
    """Spearman rank correlation (ties get average ranks), via ``scipy.stats.spearmanr``.

    Returns nan when either side is constant (including a single row): the ranks then carry
    no order, and nan lets callers (and ``bootstrap_ci``) skip it instead of reporting 0.
    """
    x, y = paired(a, b)
    if np.all(x == x[0]) or np.all(y == y[0]):
        return float("nan")
    return float(stats.spearmanr(x, y).statistic)
