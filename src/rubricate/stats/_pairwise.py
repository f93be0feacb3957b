"""Per-pair reviewer agreement, to spot the one reviewer who disagrees with everyone."""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from rubricate.stats._agreement import exact_agreement, mean_absolute_error

UnitId = TypeVar("UnitId", bound=Hashable)


@dataclass(frozen=True, slots=True)
class PairAgreement:
    """Agreement between two reviewers over the units both of them scored.

    ``exact_agreement`` and ``mean_abs_diff`` are nan when ``n_shared`` is 0.
    """

    reviewer_a: str
    reviewer_b: str
    n_shared: int
    exact_agreement: float
    mean_abs_diff: float


def pairwise_agreement(ratings: Mapping[UnitId, Mapping[str, float]]) -> list[PairAgreement]:
    """Agreement for every pair of reviewers, ``ratings`` mapping unit id -> {reviewer: score}.

    Pairs are ordered by sorted reviewer names (``reviewer_a < reviewer_b``); every pair of
    reviewers seen anywhere is listed, even when they share no unit.
    """
    reviewers = sorted({reviewer for scores in ratings.values() for reviewer in scores})
    result: list[PairAgreement] = []
    for ra, rb in itertools.combinations(reviewers, 2):
        shared = [scores for scores in ratings.values() if ra in scores and rb in scores]
        a = [scores[ra] for scores in shared]
        b = [scores[rb] for scores in shared]
        if shared:
            exact, mad = exact_agreement(a, b), mean_absolute_error(a, b)
        else:
            exact = mad = float("nan")
        result.append(PairAgreement(ra, rb, len(shared), exact, mad))
    return result
