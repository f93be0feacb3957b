"""Paired sign tests and Holm's correction, for deciding several guidelines at once."""

from __future__ import annotations

from collections.abc import Sequence


def sign_test(improved: int, regressed: int) -> float:
    """One-sided p-value that improvements outnumber regressions (ties left out): the
    exact binomial test of ``improved`` successes in ``improved + regressed`` fair trials.
    1.0 when there is nothing to compare."""
    if improved < 0 or regressed < 0:
        raise ValueError("counts must not be negative")
    trials = improved + regressed
    if trials == 0:
        return 1.0
    from scipy.stats import binomtest  # SciPy takes over a second to import: only when testing

    return float(binomtest(improved, trials, 0.5, alternative="greater").pvalue)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given: reject hypothesis i at level
    alpha when its adjusted p-value is at most alpha. Controls the chance of any false
    rejection among them at alpha, whatever their dependence."""
    m = len(p_values)
    if any(not 0.0 <= p <= 1.0 for p in p_values):
        raise ValueError(f"p-values must lie in [0, 1], got {list(p_values)!r}")
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted
