"""Percentile bootstrap confidence intervals, optionally resampling whole groups of rows."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

Resampleable: TypeAlias = Sequence[Any] | npt.NDArray[Any]


@dataclass(frozen=True, slots=True)
class BootstrapCI:
    """Point estimate on the full data plus a percentile interval (nan when undefined)."""

    estimate: float
    low: float
    high: float


def _take(values: Resampleable, idx: npt.NDArray[np.intp]) -> Resampleable:
    """Rows ``idx`` of ``values``, keeping numpy arrays as arrays and anything else as a list."""
    if isinstance(values, np.ndarray):
        return values[idx]
    return [values[i] for i in idx.tolist()]


def _group_blocks(groups: Sequence[Hashable], n: int) -> list[npt.NDArray[np.intp]]:
    """Row indices of each group, in order of first appearance (so results are reproducible)."""
    if len(groups) != n:
        raise ValueError(f"groups has {len(groups)} keys but the arrays have {n} rows")
    blocks: dict[Hashable, list[int]] = {}
    for row, key in enumerate(groups):
        blocks.setdefault(key, []).append(row)
    return [np.asarray(rows, dtype=np.intp) for rows in blocks.values()]


def bootstrap_ci(
    statistic: Callable[..., float],
    *arrays: Resampleable,
    groups: Sequence[Hashable] | None = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> BootstrapCI:
    """Percentile bootstrap interval for ``statistic(*arrays)``.

    The arrays are row-aligned; each resample draws rows with replacement and calls
    ``statistic`` on the resampled arrays (numpy arrays stay arrays, other sequences become
    lists). When ``groups`` is given (one key per row, e.g. the row's input text) whole groups
    are drawn instead, so rows sharing an input stay together and the interval is not made
    falsely narrow by near-duplicate rows. A resample's size then varies with its groups.

    Deterministic for a given ``seed``. Resamples where the statistic is nan are dropped; if
    all are nan, ``low`` and ``high`` are nan. Return nan from ``statistic`` for undefined
    cases rather than raising.
    """
    if not arrays:
        raise ValueError("bootstrap_ci needs at least one array to resample")
    n = len(arrays[0])
    if any(len(arr) != n for arr in arrays):
        raise ValueError(f"arrays must have equal lengths, got {[len(arr) for arr in arrays]}")
    if n == 0:
        raise ValueError("cannot bootstrap empty arrays")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")
    blocks = None if groups is None else _group_blocks(groups, n)

    rng = np.random.default_rng(seed)
    estimate = float(statistic(*arrays))
    draws = np.empty(n_resamples, dtype=np.float64)
    for i in range(n_resamples):
        if blocks is None:
            idx = rng.integers(0, n, size=n)
        else:
            picks = rng.integers(0, len(blocks), size=len(blocks))
            idx = np.concatenate([blocks[p] for p in picks])
        draws[i] = float(statistic(*(_take(arr, idx) for arr in arrays)))

    valid = draws[~np.isnan(draws)]
    if valid.size == 0:
        return BootstrapCI(estimate, float("nan"), float("nan"))
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(valid, [tail, 1.0 - tail])
    return BootstrapCI(estimate, float(low), float(high))
