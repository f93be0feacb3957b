"""Krippendorff's alpha: agreement among any number of reviewers, tolerating missing scores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

AlphaLevel = Literal["nominal", "ordinal", "interval", "ratio"]

_LEVELS: tuple[AlphaLevel, ...] = ("nominal", "ordinal", "interval", "ratio")


def krippendorff_alpha(units: Sequence[Sequence[float]], level: AlphaLevel = "interval") -> float:
    """Krippendorff's alpha over ``units``, each the scores that reviewers gave one row.

    Missing reviewers are simply absent from a unit; units with fewer than two values are
    not pairable and are ignored. The ordinal distance uses the value domain present in the
    pairable data, as Krippendorff defines it. The computation (coincidence matrix) is done
    by the ``krippendorff`` package, which reproduces Krippendorff's (2011) worked example.

    Returns nan when no unit is pairable or all pairable values are equal: with no variation
    expected disagreement is 0 and alpha is undefined. Ratio level needs values >= 0.
    """
    if level not in _LEVELS:
        raise ValueError(f"level must be one of {_LEVELS}, got {level!r}")
    arrays = [np.asarray(unit, dtype=np.float64).ravel() for unit in units]
    if not all(np.all(np.isfinite(arr)) for arr in arrays):
        raise ValueError("units contain NaN or infinite values; leave missing reviewers out")
    pairable = [arr for arr in arrays if arr.size >= 2]
    if not pairable:
        return float("nan")
    values = np.concatenate(pairable)
    if level == "ratio" and np.any(values < 0):
        raise ValueError("ratio level needs non-negative values")
    domain = np.unique(values)
    if domain.size < 2:
        return float("nan")

    rows = np.repeat(np.arange(len(pairable)), [arr.size for arr in pairable])
    value_counts = np.zeros((len(pairable), domain.size), dtype=np.int64)
    np.add.at(value_counts, (rows, np.searchsorted(domain, values)), 1)
    import krippendorff  # loaded with the first alpha computed, not with the package

    result = krippendorff.alpha(
        value_counts=value_counts, value_domain=domain, level_of_measurement=level
    )
    return float(result)


def krippendorff_alpha_from_matrix(
    matrix: Sequence[Sequence[float | None]], level: AlphaLevel = "interval"
) -> float:
    """Krippendorff's alpha from a reviewers x units matrix; None (or NaN) marks a missing score.

    Convenience for the classic reliability-data layout; see ``krippendorff_alpha``.
    """
    widths = {len(row) for row in matrix}
    if len(widths) > 1:
        raise ValueError(f"every reviewer row must have one entry per unit, got widths {widths}")
    if not matrix:
        return float("nan")
    data = np.array([[np.nan if v is None else v for v in row] for row in matrix], dtype=np.float64)
    units = [column[~np.isnan(column)].tolist() for column in data.T]
    return krippendorff_alpha(units, level)


def krippendorff_alpha_from_counts(
    unit_counts: Mapping[tuple[float, ...], int], level: AlphaLevel = "interval"
) -> float:
    """Krippendorff's alpha from units counted by their scores: ``{(3, 4, 4): 12, ...}``
    means twelve rows whose reviewers gave 3, 4 and 4. Equal to ``krippendorff_alpha`` on
    the expanded units, but its memory does not grow with the number of rows, so a stream of
    rows can be counted as it passes."""
    if level not in _LEVELS:
        raise ValueError(f"level must be one of {_LEVELS}, got {level!r}")
    pairable = {unit: count for unit, count in unit_counts.items() if len(unit) >= 2 and count}
    if not pairable:
        return float("nan")
    domain = np.unique(np.concatenate([np.asarray(u, dtype=np.float64) for u in pairable]))
    if domain.size < 2:
        return float("nan")
    if level == "ratio" and np.any(domain < 0):
        raise ValueError("ratio level needs non-negative values")
    k = domain.size
    coincidences = np.zeros((k, k))
    for unit, count in pairable.items():
        values = np.zeros(k)
        np.add.at(values, np.searchsorted(domain, np.asarray(unit, dtype=np.float64)), 1.0)
        pairs = np.outer(values, values) - np.diag(values)
        coincidences += count * pairs / (len(unit) - 1)
    totals = coincidences.sum(axis=1)
    n = totals.sum()
    delta = _distances(domain, totals, level)
    observed = float(np.sum(coincidences * delta))
    expected = float(np.sum(np.outer(totals, totals) * delta)) / float(n - 1)
    if expected <= 0:
        return float("nan")
    return 1.0 - observed / expected


def _distances(
    domain: npt.NDArray[np.float64], totals: npt.NDArray[np.float64], level: AlphaLevel
) -> npt.NDArray[np.float64]:
    """Krippendorff's squared difference functions between every two values."""
    c = domain[:, np.newaxis]
    k = domain[np.newaxis, :]
    if level == "nominal":
        return np.asarray(c != k, dtype=np.float64)
    if level == "interval":
        return np.asarray((c - k) ** 2, dtype=np.float64)
    if level == "ratio":
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = ((c - k) / (c + k)) ** 2
        return np.asarray(np.nan_to_num(ratio), dtype=np.float64)
    cumulative = np.cumsum(totals)
    i = np.arange(domain.size)
    lo, hi = np.minimum.outer(i, i), np.maximum.outer(i, i)
    between = cumulative[hi] - np.where(lo > 0, cumulative[lo - 1], 0.0)
    return np.asarray((between - (totals[lo] + totals[hi]) / 2) ** 2, dtype=np.float64)
