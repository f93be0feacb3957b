"""Alpha from counted units equals alpha on the expanded units, at every level."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rubricate.stats import krippendorff_alpha, krippendorff_alpha_from_counts

unit = st.lists(st.integers(min_value=1, max_value=5).map(float), min_size=1, max_size=4)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
@settings(max_examples=40, deadline=None)
@given(units=st.lists(unit, min_size=1, max_size=40))
def test_counts_match_the_expanded_units(level: str, units: list[list[float]]) -> None:
    counted = Counter(tuple(sorted(u)) for u in units)
    expected = krippendorff_alpha(units, level)  # type: ignore[arg-type]
    found = krippendorff_alpha_from_counts(counted, level)  # type: ignore[arg-type]
    assert found == pytest.approx(expected, nan_ok=True, abs=1e-9)


def test_unpairable_or_constant_units_give_nan() -> None:
    assert math.isnan(krippendorff_alpha_from_counts({(3.0,): 10}))
    assert math.isnan(krippendorff_alpha_from_counts({(4.0, 4.0): 5}))
    assert not math.isnan(krippendorff_alpha_from_counts({(4.0, 4.0): 5, (1.0, 2.0): 1}))
