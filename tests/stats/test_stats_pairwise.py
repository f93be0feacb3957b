"""Per-pair reviewer agreement."""

from __future__ import annotations

import math

import pytest

from rubricate.stats import PairAgreement, pairwise_agreement

RATINGS = {
    "row-1": {"carol": 3, "alice": 3, "bob": 4},
    "row-2": {"alice": 2, "bob": 2},
    "row-3": {"bob": 5, "alice": 1},
    "row-4": {"dave": 1},
}


def test_pairs_are_sorted_and_complete() -> None:
    pairs = [(p.reviewer_a, p.reviewer_b) for p in pairwise_agreement(RATINGS)]
    assert pairs == [
        ("alice", "bob"),
        ("alice", "carol"),
        ("alice", "dave"),
        ("bob", "carol"),
        ("bob", "dave"),
        ("carol", "dave"),
    ]


def test_pair_statistics() -> None:
    by_pair = {(p.reviewer_a, p.reviewer_b): p for p in pairwise_agreement(RATINGS)}
    # alice vs bob share rows 1-3: diffs 1, 0, 4 -> exact 1/3, mean |diff| 5/3
    ab = by_pair["alice", "bob"]
    assert ab.n_shared == 3
    assert ab.exact_agreement == pytest.approx(1 / 3)
    assert ab.mean_abs_diff == pytest.approx(5 / 3)
    assert by_pair["alice", "carol"] == PairAgreement("alice", "carol", 1, 1.0, 0.0)


def test_pair_without_shared_units_is_nan() -> None:
    by_pair = {(p.reviewer_a, p.reviewer_b): p for p in pairwise_agreement(RATINGS)}
    none_shared = by_pair["alice", "dave"]
    assert none_shared.n_shared == 0
    assert math.isnan(none_shared.exact_agreement)
    assert math.isnan(none_shared.mean_abs_diff)


def test_single_reviewer_or_empty_gives_no_pairs() -> None:
    assert pairwise_agreement({}) == []
    assert pairwise_agreement({"row": {"alice": 1}}) == []


def test_result_is_frozen() -> None:
    pair = pairwise_agreement(RATINGS)[0]
    with pytest.raises(AttributeError):
        pair.n_shared = 99  # type: ignore[misc]
