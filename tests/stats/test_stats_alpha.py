"""Krippendorff's alpha against Krippendorff (2011) and its edge cases."""

from __future__ import annotations

import math

import pytest

from rubricate.stats import AlphaLevel, krippendorff_alpha, krippendorff_alpha_from_matrix

N = None
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C:
# 4 coders (rows A-D) x 12 units, None = missing.
RELIABILITY_DATA: list[list[float | None]] = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
]
PUBLISHED = {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849, "ratio": 0.797}


def _units() -> list[list[float]]:
    """The same data as per-unit value lists (coder identity dropped)."""
    columns = zip(*RELIABILITY_DATA, strict=True)
    return [[v for v in column if v is not None] for column in columns]


@pytest.mark.parametrize("level", list(PUBLISHED))
def test_published_example_from_matrix(level: AlphaLevel) -> None:
    assert round(krippendorff_alpha_from_matrix(RELIABILITY_DATA, level), 3) == PUBLISHED[level]


@pytest.mark.parametrize("level", list(PUBLISHED))
def test_published_example_from_units(level: AlphaLevel) -> None:
    assert round(krippendorff_alpha(_units(), level), 3) == PUBLISHED[level]


def test_default_level_is_interval() -> None:
    assert round(krippendorff_alpha(_units()), 3) == PUBLISHED["interval"]


def test_nan_in_matrix_means_missing() -> None:
    data = [[math.nan if v is None else v for v in row] for row in RELIABILITY_DATA]
    assert round(krippendorff_alpha_from_matrix(data, "nominal"), 3) == PUBLISHED["nominal"]


def test_unpairable_units_are_ignored() -> None:
    # Unit 12 of the example holds a single value (3); a lone value of any kind changes nothing.
    base = krippendorff_alpha(_units(), "ordinal")
    assert krippendorff_alpha([*_units(), [7], []], "ordinal") == pytest.approx(base)


def test_ordinal_uses_values_present_in_data() -> None:
    # Ordinal alpha depends only on the order of the values that occur, so relabelling the
    # scale monotonically (1..5 -> 10, 20, 40, 80, 160) must not change it.
    relabel = {1: 10, 2: 20, 3: 40, 4: 80, 5: 160}
    relabelled = [[relabel[int(v)] for v in unit] for unit in _units()]
    assert krippendorff_alpha(relabelled, "ordinal") == pytest.approx(
        PUBLISHED["ordinal"], abs=5e-4
    )


def test_fractional_values_are_allowed() -> None:
    assert krippendorff_alpha([[1.5, 1.5], [2.5, 2.5], [3.0, 3.0]], "interval") == pytest.approx(
        1.0
    )


@pytest.mark.parametrize(
    "units",
    [[], [[1], [2], [3]], [[3, 3], [3, 3, 3]], [[3, 3], [5]]],
    ids=["no-units", "no-pairable-unit", "no-variation", "variation-only-unpairable"],
)
def test_undefined_alpha_is_nan(units: list[list[float]]) -> None:
    for level in PUBLISHED:
        assert math.isnan(krippendorff_alpha(units, level))  # type: ignore[arg-type]


def test_empty_matrix_is_nan() -> None:
    assert math.isnan(krippendorff_alpha_from_matrix([]))
    assert math.isnan(krippendorff_alpha_from_matrix([[None, 2], [None, None]]))


def test_systematic_disagreement_is_negative() -> None:
    assert krippendorff_alpha([[1, 2], [2, 1], [1, 2], [2, 1]], "nominal") < 0


def test_errors() -> None:
    with pytest.raises(ValueError, match="level"):
        krippendorff_alpha([[1, 2]], "cardinal")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="NaN"):
        krippendorff_alpha([[1, math.nan], [1, 2]])
    with pytest.raises(ValueError, match="non-negative"):
        krippendorff_alpha([[1, -2], [1, 2]], "ratio")
    with pytest.raises(ValueError, match="one entry per unit"):
        krippendorff_alpha_from_matrix([[1, 2], [1]])
