"""Input checks shared by the statistics, so every function fails the same way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

Scores: TypeAlias = Sequence[float] | npt.NDArray[Any]
"""One score per row: a plain sequence of numbers or a 1-D numpy array."""

FloatArray: TypeAlias = npt.NDArray[np.float64]

TOLERANCE = 1e-9
"""Absolute tolerance for comparing scores, so float noise (0.1 + 0.2) is not a disagreement."""


def check_lengths(len_a: int, len_b: int) -> None:
    """Reject unpaired or empty input before any statistic silently misaligns rows."""
    if len_a != len_b:
        raise ValueError(f"length mismatch: a has {len_a} values, b has {len_b}")
    if len_a == 0:
        raise ValueError("empty input: need at least one (a, b) pair")


def as_scores(values: Scores, name: str) -> FloatArray:
    """Convert to a finite 1-D float array; missing rows must be dropped by the caller."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values; drop missing rows first")
    return arr


def paired(a: Scores, b: Scores) -> tuple[FloatArray, FloatArray]:
    """Validate two paired score sequences (same length, non-empty, finite)."""
    x = as_scores(a, "a")
    y = as_scores(b, "b")
    check_lengths(x.size, y.size)
    return x, y


def row_weights_of(values: Scores, n: int) -> FloatArray:
    """Sampling weights, one per row: finite and positive (a row of weight 0 was not drawn)."""
    w = as_scores(values, "row_weights")
    if w.size != n:
        raise ValueError(f"row_weights has {w.size} values but there are {n} rows")
    if np.any(w <= 0):
        raise ValueError("row_weights must be positive")
    return w
