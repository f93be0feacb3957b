"""Reviewer calibration: how each reviewer stands against the others on the rows they
share (pairwise agreement, Krippendorff's alpha without them, mean offset) and how many
rows they scored. Built from the figures the other modules define, not a second copy."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from rubricate.stats._agreement import exact_agreement, within_delta_agreement
from rubricate.stats._alpha import AlphaLevel, krippendorff_alpha_from_counts

UnitCounts = Counter[tuple[float, ...]]
UnitId = TypeVar("UnitId", bound=Hashable)


@dataclass(frozen=True, slots=True)
class PairFigures:
    """One reviewer against ``other`` on the units both scored; None when they share none."""

    other: str
    shared: int
    exact: float | None
    within_delta: float | None  # None also when no delta applies (nominal level)


@dataclass(frozen=True, slots=True)
class ReviewerFigures:
    reviewer: str
    units: int  # units this reviewer scored
    coverage: float  # of the units anyone scored, the share this reviewer scored
    pairs: tuple[PairFigures, ...]  # one per other reviewer, by name
    exact: float | None  # mean over the pairs that share a unit (each pair counts once)
    within_delta: float | None
    alpha_without: float | None  # the group's alpha with this reviewer left out
    offset: float | None  # mean of (own score - mean of the others' scores) on shared units
    shared_units: int  # units this reviewer scored that someone else scored too


@dataclass(frozen=True, slots=True)
class Calibration:
    units: int  # units scored by anyone
    shared_units: int  # units scored by two or more reviewers
    alpha: float | None  # everyone's alpha; None: not enough to say (nothing pairable)
    reviewers: tuple[ReviewerFigures, ...]  # by name


def _alpha(counts: UnitCounts, level: AlphaLevel) -> float | None:
    alpha = krippendorff_alpha_from_counts(counts, level)
    return None if alpha != alpha else alpha  # nan: no pairable unit, or no variation


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def leave_one_out_alpha(
    ratings: Mapping[UnitId, Mapping[str, float]], level: AlphaLevel
) -> tuple[float | None, dict[str, float | None]]:
    """Everyone's alpha, and each reviewer's: the alpha of the others with them left out
    (None where it cannot be said). Units are counted by their scores
    (``krippendorff_alpha_from_counts``): one pass, however many reviewers there are."""
    everyone: UnitCounts = Counter()
    # per reviewer: the units they are in, and the same units without their score
    without: dict[str, tuple[UnitCounts, UnitCounts]] = {}
    for scores in ratings.values():
        unit = tuple(sorted(scores.values()))
        everyone[unit] += 1
        for name in scores:
            removed, added = without.setdefault(name, (Counter(), Counter()))
            removed[unit] += 1
            added[tuple(sorted(s for who, s in scores.items() if who != name))] += 1
    alphas: dict[str, float | None] = {}
    for name, (removed, added) in without.items():
        counts = everyone.copy()
        counts.subtract(removed)
        counts.update(added)
        alphas[name] = _alpha(+counts, level)
    return _alpha(everyone, level), alphas


def reviewer_calibration(
    ratings: Mapping[UnitId, Mapping[str, float]],
    *,
    level: AlphaLevel,
    delta: float | None,
) -> Calibration:
    """Each reviewer's figures, ``ratings`` mapping unit id -> {reviewer: score}.

    Pairwise agreement uses ``exact_agreement`` and ``within_delta_agreement`` (``|a - b|
    < delta``) on the units a pair shares; alpha is ``leave_one_out_alpha``'s. The offset
    is undefined (None) at the nominal level, where scores have no order: there is no
    "harsher"."""
    reviewers = sorted({name for scores in ratings.values() for name in scores})
    alpha, alpha_without = leave_one_out_alpha(ratings, level)
    paired: dict[tuple[str, str], tuple[list[float], list[float]]] = {}
    scored: Counter[str] = Counter()
    differences: dict[str, list[float]] = {r: [] for r in reviewers}
    units = shared_units = 0
    for scores in ratings.values():
        if not scores:
            continue
        units += 1
        shared_units += len(scores) >= 2
        for name, score in scores.items():
            scored[name] += 1
            if len(scores) >= 2:
                rest = [s for who, s in scores.items() if who != name]
                differences[name].append(score - sum(rest) / len(rest))
        for a, b in itertools.combinations(sorted(scores), 2):
            left, right = paired.setdefault((a, b), ([], []))
            left.append(scores[a])
            right.append(scores[b])

    def pair(name: str, other: str) -> PairFigures:
        a, b = sorted((name, other))
        left, right = paired.get((a, b), ([], []))
        if not left:
            return PairFigures(other, 0, None, None)
        exact = exact_agreement(left, right)
        near = None
        if delta is not None and level != "nominal":
            near = within_delta_agreement(left, right, delta)
        return PairFigures(other, len(left), exact, near)

    figures: list[ReviewerFigures] = []
    for name in reviewers:
        pairs = tuple(pair(name, other) for other in reviewers if other != name)
        offset = None if level == "nominal" else _mean(differences[name])
        figures.append(
            ReviewerFigures(
                reviewer=name,
                units=scored[name],
                coverage=scored[name] / units,
                pairs=pairs,
                exact=_mean([p.exact for p in pairs if p.exact is not None]),
                within_delta=_mean([p.within_delta for p in pairs if p.within_delta is not None]),
                alpha_without=alpha_without[name],
                offset=offset,
                shared_units=len(differences[name]),
            )
        )
    return Calibration(units, shared_units, alpha, tuple(figures))
