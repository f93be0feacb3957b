"""Judge-vs-human agreement: hand-worked examples, the delta boundary and input errors."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from rubricate.stats import (
    exact_agreement,
    mean_absolute_error,
    spearman,
    weighted_kappa,
    within_delta_agreement,
)


def test_exact_agreement_counts_equal_rows() -> None:
    assert exact_agreement([1, 2, 3, 4], [1, 2, 4, 4]) == 0.75


def test_exact_agreement_tolerates_float_noise() -> None:
    assert exact_agreement([0.1 + 0.2], [0.3]) == 1.0
    assert exact_agreement([3.0], [3.001]) == 0.0


def test_within_delta_boundary_counts_as_disagreement() -> None:
    # diffs 0, 0.5, 1, 2 with delta 1: only 0 and 0.5 are strictly below delta.
    assert within_delta_agreement([3, 3, 3, 3], [3, 2.5, 2, 1], delta=1.0) == 0.5


def test_within_delta_boundary_is_tolerant_to_float_noise() -> None:
    # |2.9 - 2.6| is 0.2999999999999998 in floats; it is exactly delta, so it disagrees.
    assert within_delta_agreement([2.9], [2.6], delta=0.3) == 0.0
    assert within_delta_agreement([2.9], [2.65], delta=0.3) == 1.0


@pytest.mark.parametrize("delta", [0.0, -1.0, math.nan, math.inf])
def test_within_delta_rejects_bad_delta(delta: float) -> None:
    with pytest.raises(ValueError, match="delta"):
        within_delta_agreement([1], [1], delta=delta)


def test_mean_absolute_error() -> None:
    # |1-2| + |2-2| + |3-5| = 3 over 3 rows.
    assert mean_absolute_error([1, 2, 3], [2, 2, 5]) == 1.0
    assert mean_absolute_error(np.array([4.0]), [3.5]) == 0.5


def test_spearman_without_ties() -> None:
    # d = rank(a) - rank(b) = [-1, 1, -1, 1, 0], sum d^2 = 4,
    # rho = 1 - 6 * 4 / (5 * (25 - 1)) = 1 - 24 / 120 = 0.8
    assert spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) == pytest.approx(0.8)


def test_spearman_with_ties_uses_average_ranks() -> None:
    # ranks a = [1, 2, 3, 4], ranks b = [1.5, 1.5, 3, 4]; both means 2.5.
    # deviations a = [-1.5, -.5, .5, 1.5], b = [-1, -1, .5, 1.5]
    # cov = 1.5 + .5 + .25 + 2.25 = 4.5; ss_a = 5; ss_b = 4.5
    # rho = 4.5 / sqrt(5 * 4.5) = sqrt(0.9)
    assert spearman([1, 2, 3, 4], [1, 1, 2, 3]) == pytest.approx(math.sqrt(0.9))


@pytest.mark.parametrize(("a", "b"), [([1, 2, 3], [2, 2, 2]), ([4, 4], [1, 2]), ([1], [2])])
def test_spearman_is_nan_for_constant_side(a: list[float], b: list[float]) -> None:
    assert math.isnan(spearman(a, b))


PAIRED: list[Callable[[list[float], list[float]], float]] = [
    exact_agreement,
    mean_absolute_error,
    spearman,
    weighted_kappa,
    lambda a, b: within_delta_agreement(a, b, delta=1.0),
]


@pytest.mark.parametrize("fn", PAIRED)
def test_length_mismatch_raises(fn: Callable[[list[float], list[float]], float]) -> None:
    with pytest.raises(ValueError, match="length mismatch"):
        fn([1, 2, 3], [1, 2])


@pytest.mark.parametrize("fn", PAIRED)
def test_empty_input_raises(fn: Callable[[list[float], list[float]], float]) -> None:
    with pytest.raises(ValueError, match="empty"):
        fn([], [])


@pytest.mark.parametrize("fn", PAIRED)
def test_nan_input_raises(fn: Callable[[list[float], list[float]], float]) -> None:
    with pytest.raises(ValueError, match="NaN"):
        fn([1, 2], [1, math.nan])
