"""Cohen's weighted kappa and confusion matrices for judge-vs-human scores on a fixed scale."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Literal, TypeVar

import numpy as np
import numpy.typing as npt

from rubricate.stats._validate import (
    TOLERANCE,
    FloatArray,
    Scores,
    check_lengths,
    paired,
    row_weights_of,
)

H = TypeVar("H", bound=Hashable)

KappaWeights = Literal["linear", "quadratic"]


def _scale(categories: Sequence[float]) -> FloatArray:
    """Validate the ordered scale points (finite, strictly increasing)."""
    cats = np.asarray(categories, dtype=np.float64)
    if cats.ndim != 1 or cats.size == 0:
        raise ValueError("categories must be a non-empty 1-D sequence of scale points")
    if not np.all(np.isfinite(cats)) or np.any(np.diff(cats) <= 0):
        raise ValueError(f"categories must be finite and strictly increasing, got {categories!r}")
    return cats


def _nearest_category(values: FloatArray, cats: FloatArray, name: str) -> npt.NDArray[np.intp]:
    """Index of the nearest scale point; ties (2.5 between 2 and 3) go to the lower one."""
    lo, hi = cats[0], cats[-1]
    outside = (values < lo - TOLERANCE) | (values > hi + TOLERANCE)
    if np.any(outside):
        bad = values[outside][0]
        raise ValueError(f"{name} has value {bad} outside the scale [{lo}, {hi}]")
    distance: FloatArray = np.abs(values[:, np.newaxis] - cats[np.newaxis, :])
    nearest: npt.NDArray[np.intp] = np.argmin(distance, axis=1)
    return nearest


def weighted_kappa(
    a: Scores,
    b: Scores,
    categories: Sequence[float] | None = None,
    weights: KappaWeights = "quadratic",
    *,
    row_weights: Scores | None = None,
) -> float:
    """Cohen's weighted kappa: chance-corrected agreement that penalises far misses more.

    ``categories`` are the ordered scale points (e.g. ``[1, 2, 3, 4, 5]``). Values that are
    not a scale point (e.g. a fractional mean of reviewers) are rounded to the nearest
    category, ties going to the lower one; values outside the scale raise ValueError. With
    ``categories=None`` the scale is the sorted set of values seen in ``a`` and ``b`` (so pass
    ``categories`` whenever scores can be fractional).

    Weights use category *positions*, as scikit-learn does:
    ``|i - j| / (k - 1)`` for "linear", its square for "quadratic".

    ``row_weights`` (one positive number per row) are sampling weights: a row stands for
    that many rows of the population it was drawn from (inverse-probability weights of a
    stratified sample), so the confusion matrix adds the weights instead of counting rows.
    With integer weights this equals the kappa of the rows repeated that many times.

    Degenerate case: when expected disagreement is 0 (both sides use one and the same
    category, so observed disagreement is 0 too) kappa is undefined and nan is returned,
    matching ``spearman`` and ``krippendorff_alpha``; ``bootstrap_ci`` drops such resamples.
    """
    if weights not in ("linear", "quadratic"):
        raise ValueError(f"weights must be 'linear' or 'quadratic', got {weights!r}")
    x, y = paired(a, b)
    cats = np.unique(np.concatenate([x, y])) if categories is None else _scale(categories)
    k = cats.size
    if k < 2:
        return float("nan")
    ia = _nearest_category(x, cats, "a")
    ib = _nearest_category(y, cats, "b")

    w_rows = np.ones(x.size) if row_weights is None else row_weights_of(row_weights, x.size)
    observed = np.zeros((k, k))
    np.add.at(observed, (ia, ib), w_rows)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / float(w_rows.sum())

    positions = np.arange(k, dtype=np.float64)
    w = np.abs(positions[:, np.newaxis] - positions[np.newaxis, :]) / (k - 1)
    if weights == "quadratic":
        w = w**2

    expected_disagreement = float(np.sum(w * expected))
    if expected_disagreement <= 0.0:
        return float("nan")
    return 1.0 - float(np.sum(w * observed)) / expected_disagreement


def confusion_matrix(a: Sequence[H], b: Sequence[H], categories: Sequence[H]) -> list[list[int]]:
    """Counts ``m[i][j]`` of rows where ``a`` is ``categories[i]`` and ``b`` is ``categories[j]``.

    Meant for label scales (strings or whole scale points); values must match a category
    exactly (round fractional scores first), otherwise ValueError.
    """
    check_lengths(len(a), len(b))
    index = {cat: i for i, cat in enumerate(categories)}
    if len(index) != len(categories):
        raise ValueError(f"categories must be unique, got {list(categories)!r}")
    matrix = [[0] * len(categories) for _ in categories]
    for row, (va, vb) in enumerate(zip(a, b, strict=True)):
        for name, value in (("a", va), ("b", vb)):
            if value not in index:
                raise ValueError(f"{name}[{row}] = {value!r} is not one of the categories")
        matrix[index[va]][index[vb]] += 1
    return matrix
