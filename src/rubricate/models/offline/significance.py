"""Beating chance: thousands of phrases are tried at once, so a trait must be more frequent
among disagreements than among agreeing rows of the same human score by more than luck.

The test is the one-sided Cochran–Mantel–Haenszel test over human-score strata; the family
is held to a false discovery rate (Benjamini–Hochberg) after Tarone's screen drops the
traits too rare to ever reach significance, which would only dilute the rest."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

FALSE_DISCOVERY_RATE = 0.1

# Rows × traits: a numpy array of flags or a scipy sparse matrix (untyped, hence Any).
Matrix: TypeAlias = Any
Floats: TypeAlias = npt.NDArray[np.float64]


def column_sums(matrix: Matrix) -> Floats:
    return np.asarray(matrix.sum(axis=0), dtype=np.float64).ravel()


def _upper_tail(z: Floats) -> Floats:
    return np.array([0.5 * math.erfc(value / math.sqrt(2)) for value in z], dtype=np.float64)


def mantel_haenszel(
    disagreeing: Matrix,
    agreeing: Matrix,
    disagreeing_strata: Sequence[int],
    agreeing_strata: Sequence[int],
) -> tuple[Floats, Floats]:
    """Per column, the one-sided p-value that disagreements hold the trait more often than
    agreeing rows of the same stratum (continuity-corrected), and the least p-value its
    count among disagreements could reach at all (no agreeing row holding it). A column no
    agreeing row can be compared with gets 1: nothing shows that it tells them apart."""
    columns = disagreeing.shape[1]
    observed, expected, variance = np.zeros(columns), np.zeros(columns), np.zeros(columns)
    best_expected, best_variance = np.zeros(columns), np.zeros(columns)
    d_labels = np.asarray(disagreeing_strata, dtype=np.int64)
    a_labels = np.asarray(agreeing_strata, dtype=np.int64)
    for level in sorted(set(disagreeing_strata)):
        d_rows = np.flatnonzero(d_labels == level)
        a_rows = np.flatnonzero(a_labels == level)
        n1, n0 = d_rows.size, a_rows.size
        if n0 == 0:
            continue
        total = n1 + n0
        spread = n1 * n0 / (total**2 * (total - 1))
        hits = column_sums(disagreeing[d_rows])
        with_trait = hits + column_sums(agreeing[a_rows])
        observed += hits
        expected += n1 * with_trait / total
        variance += spread * with_trait * (total - with_trait)
        best_expected += n1 * hits / total
        best_variance += spread * hits * (total - hits)
    return _p(observed, expected, variance), _p(observed, best_expected, best_variance)


def _p(observed: Floats, expected: Floats, variance: Floats) -> Floats:
    p = np.ones(observed.size)
    tested = variance > 0
    z = (observed[tested] - expected[tested] - 0.5) / np.sqrt(variance[tested])
    p[tested] = _upper_tail(z)
    return p


def discoveries(p: Floats, least_p: Floats) -> npt.NDArray[np.bool_]:
    """Which columns pass: Tarone's screen, then Benjamini–Hochberg on what is left."""
    q = FALSE_DISCOVERY_RATE
    passed = np.zeros(p.size, dtype=bool)
    if p.size == 0:
        return passed
    least_sorted = np.sort(least_p)
    family = least_p.size
    for k in range(1, least_p.size + 1):  # the smallest k with at most k testable traits
        if np.searchsorted(least_sorted, q / k, side="right") <= k:
            family = k
            break
    testable = np.flatnonzero(least_p <= q / family)
    if testable.size == 0:
        return passed
    order = testable[np.argsort(p[testable], kind="stable")]
    m = testable.size
    below = p[order] <= q * np.arange(1, m + 1) / m
    if below.any():
        passed[order[: int(np.flatnonzero(below)[-1]) + 1]] = True
    return passed
