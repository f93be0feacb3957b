"""Krippendorff's alpha: agreement among any number of reviewers, tolerating missing scores."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import krippendorff
import numpy as np

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
