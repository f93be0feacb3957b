"""Figures with sampling weights estimate the population a stratified sample was drawn
from: checked against brute force (rows repeated their weight's number of times, and the
whole synthetic population itself), plus the sign test and Holm's correction."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from rubricate import stats

CATS = [1.0, 2.0, 3.0, 4.0, 5.0]


def _population(n: int = 4000, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Human scores, a judge that is off on ~15% of rows, and which rows disagree."""
    rng = np.random.default_rng(seed)
    human = rng.integers(1, 6, size=n).astype(float)
    off = rng.random(n) < 0.15
    judge = np.where(off, np.clip(human + rng.choice([-2, -1, 1, 2], size=n), 1, 5), human)
    return judge, human, judge != human


def _figures(judge: np.ndarray, human: np.ndarray, w: np.ndarray | None) -> list[float]:
    return [
        stats.weighted_kappa(judge, human, categories=CATS, row_weights=w),
        stats.exact_agreement(judge, human, row_weights=w),
        stats.within_delta_agreement(judge, human, 2, row_weights=w),
        stats.mean_absolute_error(judge, human, row_weights=w),
        stats.spearman(judge, human, row_weights=w),
    ]


def test_integer_weights_equal_repeated_rows() -> None:
    judge, human, _ = _population(300)
    w = np.random.default_rng(3).integers(1, 5, size=300)
    repeated = _figures(np.repeat(judge, w), np.repeat(human, w), None)
    assert _figures(judge, human, w.astype(float)) == pytest.approx(repeated, abs=1e-12)
    assert stats.spearman(judge, human, row_weights=np.ones(300)) == pytest.approx(
        float(spearmanr(judge, human).statistic), abs=1e-12
    )


def test_a_stratified_sample_with_inverse_probability_weights_estimates_the_population() -> None:
    """Half the sample from the 15% that disagree: unweighted figures are far off, the
    weighted ones land on the population's figures (averaged over many draws)."""
    judge, human, disagree = _population()
    truth = _figures(judge, human, None)
    rng = np.random.default_rng(7)
    dis, agr = np.flatnonzero(disagree), np.flatnonzero(~disagree)
    weighted, naive = [], []
    for _ in range(300):
        picks = np.concatenate([rng.choice(dis, 100, replace=False), rng.choice(agr, 100, False)])
        w = np.concatenate([np.full(100, dis.size / 100), np.full(100, agr.size / 100)])
        weighted.append(_figures(judge[picks], human[picks], w))
        naive.append(_figures(judge[picks], human[picks], None))
    mean_weighted = np.mean(weighted, axis=0)
    assert mean_weighted == pytest.approx(truth, abs=0.01)
    assert abs(np.mean(naive, axis=0)[1] - truth[1]) > 0.2  # exact agreement, unweighted


def test_bad_weights_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        stats.exact_agreement([1, 2], [1, 2], row_weights=[1.0, 0.0])
    with pytest.raises(ValueError, match="row_weights has 1"):
        stats.weighted_kappa([1, 2], [1, 2], categories=CATS, row_weights=[1.0])


def test_sign_test_is_one_sided() -> None:
    assert stats.sign_test(0, 0) == 1.0
    assert stats.sign_test(10, 0) == pytest.approx(0.5**10)
    assert stats.sign_test(0, 10) == pytest.approx(1.0)
    assert stats.sign_test(7, 3) == pytest.approx(176 / 1024)


def test_holm_adjusts_step_down() -> None:
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert stats.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert stats.holm([]) == []
