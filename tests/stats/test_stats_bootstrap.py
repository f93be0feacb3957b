"""Bootstrap confidence intervals, row-level and grouped."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from rubricate.stats import BootstrapCI, bootstrap_ci, mean_absolute_error, spearman


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values))


VALUES = [float(v) for v in np.random.default_rng(42).normal(3.0, 1.0, size=60)]


def test_same_seed_same_interval() -> None:
    first = bootstrap_ci(_mean, VALUES, n_resamples=200, seed=7)
    second = bootstrap_ci(_mean, VALUES, n_resamples=200, seed=7)
    assert first == second


def test_different_seed_different_interval() -> None:
    first = bootstrap_ci(_mean, VALUES, n_resamples=200, seed=1)
    second = bootstrap_ci(_mean, VALUES, n_resamples=200, seed=2)
    assert (first.low, first.high) != (second.low, second.high)


def test_interval_contains_estimate() -> None:
    ci = bootstrap_ci(_mean, VALUES)
    assert ci.estimate == pytest.approx(float(np.mean(VALUES)))
    assert ci.low < ci.estimate < ci.high
    # Normal data, sd 1, n 60: the 95% interval is about +-1.96 / sqrt(60) = +-0.25 wide.
    assert 0.3 < ci.high - ci.low < 0.7


def test_wider_confidence_gives_wider_interval() -> None:
    narrow = bootstrap_ci(_mean, VALUES, confidence=0.5)
    wide = bootstrap_ci(_mean, VALUES, confidence=0.99)
    assert wide.low < narrow.low < narrow.high < wide.high


def test_paired_arrays_are_resampled_together() -> None:
    judge = [1, 2, 3, 4, 5] * 4
    ci = bootstrap_ci(mean_absolute_error, judge, judge, n_resamples=100)
    assert ci == BootstrapCI(0.0, 0.0, 0.0)


def _groups_kept_whole(keys: Sequence[str]) -> float:
    """1.0 when every key occurs a multiple of its group size (3) times, else 0.0."""
    return float(all(count % 3 == 0 for count in Counter(keys).values()))


def test_grouped_resampling_keeps_groups_together() -> None:
    keys = [f"input-{g}" for g in range(8) for _ in range(3)]
    grouped = bootstrap_ci(_groups_kept_whole, keys, groups=keys, n_resamples=300)
    assert (grouped.low, grouped.high) == (1.0, 1.0)
    # Row-level resampling splits groups almost always, so the check would fail there.
    rows = bootstrap_ci(_groups_kept_whole, keys, n_resamples=300)
    assert rows.low == 0.0


def test_grouped_interval_reflects_number_of_groups() -> None:
    # 5 inputs, each repeated 20 times with an identical score: only 5 independent values.
    values = [float(g) for g in range(5) for _ in range(20)]
    keys = [g for g in range(5) for _ in range(20)]
    rows = bootstrap_ci(_mean, values)
    grouped = bootstrap_ci(_mean, values, groups=keys)
    assert grouped.estimate == rows.estimate == 2.0
    assert grouped.high - grouped.low > 2 * (rows.high - rows.low)


def test_numpy_arrays_stay_arrays_and_lists_become_lists() -> None:
    seen: list[tuple[type, type]] = []

    def record(a: Any, b: Any) -> float:
        seen.append((type(a), type(b)))
        return 0.0

    bootstrap_ci(record, np.arange(4.0), [[1], [2, 3], [], [4]], n_resamples=3)
    assert seen[0] == (np.ndarray, list)  # the estimate sees the inputs unchanged
    assert set(seen[1:]) == {(np.ndarray, list)}


def test_nan_resamples_are_dropped() -> None:
    # Spearman is nan whenever a resample is constant on one side (about 1 in 60 resamples
    # of 4 rows); those must not poison the interval.
    judge = [1, 2, 3, 4]
    human = [1, 3, 2, 4]
    ci = bootstrap_ci(spearman, judge, human, n_resamples=500)
    assert not math.isnan(ci.low)
    assert not math.isnan(ci.high)
    assert -1.0 <= ci.low <= ci.estimate <= ci.high <= 1.0


def test_nan_resamples_do_not_shift_the_interval() -> None:
    # Resamples that contain a 0 are nan (about 65% of them); the rest all have mean >= 1.
    def mean_without_zero(values: Sequence[float]) -> float:
        return math.nan if 0 in values else _mean(values)

    ci = bootstrap_ci(mean_without_zero, list(range(10)), n_resamples=300)
    assert math.isnan(ci.estimate)
    assert 1.0 <= ci.low < ci.high <= 9.0


def test_all_nan_resamples_give_nan_interval() -> None:
    ci = bootstrap_ci(spearman, [1, 1, 1], [1, 2, 3], n_resamples=20)
    assert math.isnan(ci.estimate)
    assert math.isnan(ci.low)
    assert math.isnan(ci.high)


@pytest.mark.parametrize(
    ("arrays", "kwargs", "message"),
    [
        ((), {}, "at least one array"),
        (([1, 2], [1]), {}, "equal lengths"),
        (([],), {}, "empty"),
        (([1, 2],), {"n_resamples": 0}, "n_resamples"),
        (([1, 2],), {"confidence": 1.0}, "confidence"),
        (([1, 2],), {"confidence": 0.0}, "confidence"),
        (([1, 2],), {"groups": ["a"]}, "groups"),
    ],
)
def test_bad_input_raises(
    arrays: tuple[list[float], ...], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        bootstrap_ci(_mean, *arrays, **kwargs)
