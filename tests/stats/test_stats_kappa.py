"""Cohen's weighted kappa and confusion matrices."""

from __future__ import annotations

import math

import pytest

from rubricate.stats import confusion_matrix, weighted_kappa

# Hand-worked example, scale [1, 2, 3] (k = 3), n = 5, rows = a, columns = b:
#   pairs (1,1) (2,2) (3,2) (1,1) (2,3)
#   O = [[2, 0, 0], [0, 1, 1], [0, 1, 0]]; row sums r = [2, 2, 1]; column sums c = [2, 2, 1]
#   E = r c^T / n = [[.8, .8, .4], [.8, .8, .4], [.4, .4, .2]]
# Linear weights |i-j|/2 = [[0, .5, 1], [.5, 0, .5], [1, .5, 0]]:
#   sum w*O = .5 + .5 = 1;  sum w*E = .4 + .4 + .4 + .2 + .4 + .2 = 2
#   kappa = 1 - 1/2 = 0.5
# Quadratic weights (|i-j|/2)^2 = [[0, .25, 1], [.25, 0, .25], [1, .25, 0]]:
#   sum w*O = .25 + .25 = .5;  sum w*E = .2 + .4 + .2 + .1 + .4 + .1 = 1.4
#   kappa = 1 - .5/1.4 = 9/14
A = [1, 2, 3, 1, 2]
B = [1, 2, 2, 1, 3]


def test_linear_kappa_hand_worked() -> None:
    assert weighted_kappa(A, B, [1, 2, 3], weights="linear") == pytest.approx(0.5)


def test_quadratic_kappa_hand_worked() -> None:
    assert weighted_kappa(A, B, [1, 2, 3], weights="quadratic") == pytest.approx(9 / 14)


def test_default_is_quadratic_over_observed_values() -> None:
    assert weighted_kappa(A, B) == pytest.approx(9 / 14)


def test_linear_and_quadratic_differ() -> None:
    linear = weighted_kappa(A, B, [1, 2, 3], weights="linear")
    quadratic = weighted_kappa(A, B, [1, 2, 3], weights="quadratic")
    assert not math.isclose(linear, quadratic)


def test_perfect_agreement_is_one() -> None:
    scores = [1, 5, 3, 2, 4, 4]
    assert weighted_kappa(scores, scores, [1, 2, 3, 4, 5]) == pytest.approx(1.0)
    assert weighted_kappa(scores, scores, [1, 2, 3, 4, 5], weights="linear") == pytest.approx(1.0)


def test_unused_outer_scale_points_do_not_change_kappa() -> None:
    # Weights on [1..5] are the [1..3] weights divided by (4/2)^p; kappa is a ratio of
    # weighted sums, so the common factor cancels.
    for weights in ("linear", "quadratic"):
        narrow = weighted_kappa(A, B, [1, 2, 3], weights=weights)
        wide = weighted_kappa(A, B, [1, 2, 3, 4, 5], weights=weights)
        assert wide == pytest.approx(narrow)


def test_fractional_values_round_to_nearest_category_ties_down() -> None:
    # 1.2 -> 1, 2.5 -> 2 (tie goes to the lower category), 2.6 -> 3
    assert weighted_kappa([1, 2, 3], [1.2, 2.5, 2.6], [1, 2, 3]) == pytest.approx(1.0)
    # 2.5 rounding *up* would make row 2 disagree
    assert weighted_kappa([1, 3, 3], [1.2, 2.5, 2.6], [1, 2, 3]) < 1.0


def test_degenerate_single_category_is_nan() -> None:
    assert math.isnan(weighted_kappa([4, 4, 4], [4, 4, 4], [1, 2, 3, 4, 5]))
    assert math.isnan(weighted_kappa([4, 4], [4, 4]))


def test_values_outside_scale_raise() -> None:
    with pytest.raises(ValueError, match="outside the scale"):
        weighted_kappa([1, 6], [1, 5], [1, 2, 3, 4, 5])


@pytest.mark.parametrize("categories", [[], [3, 2, 1], [1, 1, 2], [1, math.nan]])
def test_bad_categories_raise(categories: list[float]) -> None:
    with pytest.raises(ValueError, match="categories"):
        weighted_kappa([1], [1], categories)


def test_bad_weights_raise() -> None:
    with pytest.raises(ValueError, match="weights"):
        weighted_kappa([1], [1], weights="cubic")  # type: ignore[arg-type]


def test_confusion_matrix_rows_are_a_columns_are_b() -> None:
    judge = ["pass", "fail", "pass", "pass"]
    human = ["pass", "pass", "fail", "pass"]
    assert confusion_matrix(judge, human, ["pass", "fail"]) == [[2, 1], [1, 0]]


def test_confusion_matrix_numeric_scale() -> None:
    assert confusion_matrix(A, B, [1, 2, 3]) == [[2, 0, 0], [0, 1, 1], [0, 1, 0]]


def test_confusion_matrix_errors() -> None:
    with pytest.raises(ValueError, match="not one of the categories"):
        confusion_matrix(["pass"], ["maybe"], ["pass", "fail"])
    with pytest.raises(ValueError, match="unique"):
        confusion_matrix(["pass"], ["pass"], ["pass", "pass"])
    with pytest.raises(ValueError, match="length mismatch"):
        confusion_matrix(["pass"], [], ["pass"])
    with pytest.raises(ValueError, match="empty"):
        confusion_matrix([], [], ["pass"])
