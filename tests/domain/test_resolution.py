"""Resolution policies: the final human value from several reviewers' scores (pure rules)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rubricate.domain.errors import InvalidInput
from rubricate.domain.resolution import Policy, check_policy, resolve
from rubricate.domain.scale import Scale

ONE_TO_FIVE = Scale(type="ordinal", min=1, max=5)
UNIT = Scale(type="interval", min=0, max=1)
PASS_FAIL = Scale(type="labels", labels={0: "fail", 1: "pass"})
GRADES = Scale(type="labels", labels={0: "bad", 1: "fair", 2: "good"})


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([4], 4.0),
        ([3, 3, 3], 3.0),
        ([3, 3, 4], None),
        ([5, 1], None),
        ([], None),
    ],
)
def test_unanimous(scores: list[float], expected: float | None) -> None:
    assert resolve(Policy.UNANIMOUS, scores, ONE_TO_FIVE) == expected


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([2], 2.0),  # a single reviewer is a majority of one
        ([4, 4, 1], 4.0),
        ([4, 4, 1, 2], None),  # 2 of 4 is half, not more than half
        ([4, 4, 4, 2], 4.0),
        ([1, 2, 3], None),  # no value repeats
        ([1, 1, 2, 2], None),  # a tie
        ([5, 5, 5, 1, 1], 5.0),
        ([5, 5, 1, 1, 3], None),  # the most frequent (2 of 5) is no majority
        ([], None),
    ],
)
def test_majority_needs_strictly_more_than_half(
    scores: list[float], expected: float | None
) -> None:
    assert resolve(Policy.MAJORITY, scores, ONE_TO_FIVE) == expected


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([3], 3.0),
        ([5, 1, 2], 2.0),  # odd count: the middle of the sorted scores
        ([1, 5, 4, 2, 5], 4.0),
        ([2, 4, 4, 5], 4.0),  # even count, both middle values equal
        ([1, 2, 4, 5], None),  # even count, the middles differ: no half-points invented
        ([1, 2], None),
        ([3, 3], 3.0),
        ([], None),
    ],
)
def test_median(scores: list[float], expected: float | None) -> None:
    assert resolve(Policy.MEDIAN, scores, ONE_TO_FIVE) == expected


@pytest.mark.parametrize(
    ("scores", "expected"),
    [([4], 4.0), ([1, 2], 1.5), ([1, 2, 2], 5 / 3), ([5, 5, 5], 5.0), ([], None)],
)
def test_mean_may_be_fractional(scores: list[float], expected: float | None) -> None:
    assert resolve(Policy.MEAN, scores, ONE_TO_FIVE) == pytest.approx(expected)


def test_mean_on_an_interval_scale() -> None:
    assert resolve(Policy.MEAN, [0.25, 0.5, 1.0], UNIT) == pytest.approx(7 / 12)


@pytest.mark.parametrize("scale", [PASS_FAIL, GRADES])
def test_mean_is_refused_on_labels_naming_the_policy_field(scale: Scale) -> None:
    with pytest.raises(InvalidInput) as caught:
        resolve(Policy.MEAN, [0, 1], scale)
    assert caught.value.field == "policy"
    assert "mean" in caught.value.message
    assert "numeric" in caught.value.message
    with pytest.raises(InvalidInput):
        check_policy("mean", scale)  # also when an interface passes the name


def test_mean_is_refused_on_labels_even_without_scores() -> None:
    with pytest.raises(InvalidInput):
        resolve(Policy.MEAN, [], PASS_FAIL)


def test_label_scales_resolve_by_majority_median_and_unanimity() -> None:
    assert resolve(Policy.MAJORITY, [1, 1, 0], PASS_FAIL) == 1.0
    assert resolve(Policy.MAJORITY, [1, 0], PASS_FAIL) is None
    assert resolve(Policy.MEDIAN, [0, 2, 2], GRADES) == 2.0
    assert resolve(Policy.MEDIAN, [0, 1, 2], GRADES) == 1.0
    assert resolve(Policy.MEDIAN, [0, 1], GRADES) is None
    assert resolve(Policy.UNANIMOUS, [0, 0], PASS_FAIL) == 0.0


def test_policies_are_accepted_by_name_and_unknown_names_refused() -> None:
    assert resolve("majority", [2, 2, 3], ONE_TO_FIVE) == 2.0
    assert check_policy("median", ONE_TO_FIVE) is Policy.MEDIAN
    with pytest.raises(InvalidInput) as caught:
        resolve("mode", [2, 2, 3], ONE_TO_FIVE)
    assert caught.value.field == "policy"
    assert "majority" in caught.value.message  # lists what is allowed


def test_decided_values_are_floats() -> None:
    for policy in Policy:
        value = resolve(policy, [3, 3, 3], ONE_TO_FIVE)
        assert isinstance(value, float)


scores_1_to_5 = st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=9)


@given(scores=scores_1_to_5, policy=st.sampled_from([Policy.UNANIMOUS, Policy.MAJORITY]))
def test_a_decided_value_is_one_of_the_scores_and_held_by_a_majority(
    scores: list[int], policy: Policy
) -> None:
    value = resolve(policy, scores, ONE_TO_FIVE)
    if value is not None:
        assert value in scores
        assert scores.count(int(value)) * 2 > len(scores)
    if len(set(scores)) == 1:
        assert value == scores[0]  # everyone agreeing is always decided


@given(scores=scores_1_to_5)
def test_median_decides_odd_counts_with_a_score_between_min_and_max(scores: list[int]) -> None:
    value = resolve(Policy.MEDIAN, scores, ONE_TO_FIVE)
    if len(scores) % 2:
        assert value is not None
    if value is not None:
        assert value in scores
        below = sum(s < value for s in scores)
        above = sum(s > value for s in scores)
        assert below <= len(scores) // 2
        assert above <= len(scores) // 2


@given(scores=scores_1_to_5)
def test_unanimous_implies_majority_implies_median(scores: list[int]) -> None:
    unanimous = resolve(Policy.UNANIMOUS, scores, ONE_TO_FIVE)
    majority = resolve(Policy.MAJORITY, scores, ONE_TO_FIVE)
    median = resolve(Policy.MEDIAN, scores, ONE_TO_FIVE)
    if unanimous is not None:
        assert majority == unanimous
    if majority is not None:
        assert median == majority  # more than half share a value: it sits in the middle


@given(
    scores=st.lists(st.floats(min_value=0, max_value=1, allow_nan=False), min_size=1, max_size=12)
)
def test_mean_is_within_min_and_max(scores: list[float]) -> None:
    value = resolve(Policy.MEAN, scores, UNIT)
    assert value is not None
    assert min(scores) - 1e-12 <= value <= max(scores) + 1e-12
