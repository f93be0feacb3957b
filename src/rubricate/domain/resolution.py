"""Resolution: the final human value for a row and metric, chosen by an admin or a policy."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING

from rubricate.domain.errors import InvalidInput

if TYPE_CHECKING:  # the CLI reads Policy at start-up; pydantic need not load for it
    from rubricate.domain.scale import Scale


class Policy(StrEnum):
    UNANIMOUS = "unanimous"  # every reviewer gave the same score
    MAJORITY = "majority"  # one score from strictly more than half the reviewers
    MEDIAN = "median"  # the middle score; for an even count only if both middles agree
    MEAN = "mean"  # the average; numeric scales only, may be fractional


def as_policy(policy: Policy | str) -> Policy:
    """The policy named ``policy`` (interfaces pass names), or InvalidInput."""
    try:
        return Policy(policy)
    except ValueError:
        known = ", ".join(p.value for p in Policy)
        raise InvalidInput(
            f"unknown resolution policy {policy!r}: use one of {known}", field="policy"
        ) from None


def check_policy(policy: Policy | str, scale: Scale) -> Policy:
    """The policy, if it can resolve scores on ``scale``; else InvalidInput."""
    policy = as_policy(policy)
    if policy is Policy.MEAN and not scale.is_numeric:
        raise InvalidInput(
            f"the mean policy needs a numeric scale, and this one is labels ({scale.describe()}):"
            " use unanimous, majority or median",
            field="policy",
        )
    return policy


def resolve(policy: Policy | str, scores: Sequence[float], scale: Scale) -> float | None:
    """The value ``policy`` gives these reviewers' scores, or None when it cannot decide.

    An undecided row stays unresolved for an admin.
    """
    policy = check_policy(policy, scale)
    if not scores:
        return None
    match policy:
        case Policy.UNANIMOUS:
            return float(scores[0]) if all(s == scores[0] for s in scores) else None
        case Policy.MAJORITY:
            value, count = Counter(scores).most_common(1)[0]
            return float(value) if count * 2 > len(scores) else None
        case Policy.MEDIAN:
            ordered = sorted(scores)
            middle = len(ordered) // 2
            if len(ordered) % 2:
                return float(ordered[middle])
            low, high = ordered[middle - 1], ordered[middle]
            return float(low) if low == high else None
        case Policy.MEAN:
            return statistics.fmean(scores)
