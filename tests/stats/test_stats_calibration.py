"""Per-reviewer calibration figures against the other statistics they are built from."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rubricate.stats import krippendorff_alpha, pairwise_agreement, reviewer_calibration

NAMES = ("ana", "ben", "cy", "dee")
units = st.dictionaries(
    st.integers(0, 40),
    st.dictionaries(st.sampled_from(NAMES), st.integers(1, 5).map(float), max_size=4),
    max_size=30,
)


@given(units)
def test_leave_one_out_alpha_is_the_alpha_of_the_others(
    ratings: dict[int, dict[str, float]],
) -> None:
    found = reviewer_calibration(ratings, level="ordinal", delta=1.0)
    everyone = krippendorff_alpha([list(s.values()) for s in ratings.values()], "ordinal")
    assert found.alpha == (None if everyone != everyone else pytest.approx(everyone))
    for r in found.reviewers:
        rest = [[v for k, v in s.items() if k != r.reviewer] for s in ratings.values()]
        alone = krippendorff_alpha(rest, "ordinal")
        assert r.alpha_without == (None if alone != alone else pytest.approx(alone))


@given(units)
def test_pairs_match_pairwise_agreement(ratings: dict[int, dict[str, float]]) -> None:
    found = {
        r.reviewer: r for r in reviewer_calibration(ratings, level="interval", delta=1).reviewers
    }
    for pair in pairwise_agreement(ratings):
        mine = {p.other: p for p in found[pair.reviewer_a].pairs}[pair.reviewer_b]
        assert mine.shared == pair.n_shared
        if pair.n_shared:
            assert mine.exact == pytest.approx(pair.exact_agreement)
            assert mine.within_delta == mine.exact  # whole scores: |a - b| < 1 is equality
        else:
            assert mine.exact is None


def test_offsets_and_nominal_scores() -> None:
    ratings = {1: {"a": 3.0, "b": 3.0, "c": 1.0}, 2: {"a": 2.0, "c": 1.0}, 3: {"d": 5.0}}
    found = {
        r.reviewer: r for r in reviewer_calibration(ratings, level="ordinal", delta=1).reviewers
    }
    assert found["c"].offset == pytest.approx(-1.5)  # (1 - 3 + 1 - 2) / 2
    assert found["a"].offset == pytest.approx((1.0 + 1.0) / 2)  # 3 - mean(3, 1); 2 - 1
    assert (found["d"].offset, found["d"].exact, found["d"].coverage) == (None, None, 1 / 3)
    nominal = reviewer_calibration(ratings, level="nominal", delta=1).reviewers
    assert all(r.offset is None and r.within_delta is None for r in nominal)
