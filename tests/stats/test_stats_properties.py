"""Hypothesis properties of the agreement statistics."""

from __future__ import annotations

import math

from hypothesis import assume, given
from hypothesis import strategies as st

from rubricate.stats import AlphaLevel, krippendorff_alpha, weighted_kappa

LEVELS: list[AlphaLevel] = ["nominal", "ordinal", "interval", "ratio"]
scale_point = st.integers(min_value=1, max_value=5)

unanimous_units = st.lists(
    st.tuples(scale_point, st.integers(min_value=2, max_value=4)).map(lambda vr: [vr[0]] * vr[1]),
    min_size=2,
    max_size=15,
)


@given(units=unanimous_units, level=st.sampled_from(LEVELS))
def test_alpha_is_one_when_all_reviewers_agree(units: list[list[int]], level: AlphaLevel) -> None:
    assume(len({unit[0] for unit in units}) >= 2)
    assert math.isclose(krippendorff_alpha(units, level), 1.0)


ragged_units = st.lists(st.lists(scale_point, min_size=0, max_size=4), min_size=1, max_size=12)


@given(units=ragged_units, level=st.sampled_from(LEVELS), data=st.data())
def test_alpha_ignores_unit_and_reviewer_order(
    units: list[list[int]], level: AlphaLevel, data: st.DataObject
) -> None:
    shuffled = [data.draw(st.permutations(unit)) for unit in data.draw(st.permutations(units))]
    original, permuted = krippendorff_alpha(units, level), krippendorff_alpha(shuffled, level)
    assert (math.isnan(original) and math.isnan(permuted)) or math.isclose(
        original, permuted, abs_tol=1e-12
    )


@given(units=ragged_units)
def test_ordinal_alpha_depends_only_on_order(units: list[list[int]]) -> None:
    cubed = [[v**3 + 10 for v in unit] for unit in units]
    original, relabelled = (
        krippendorff_alpha(units, "ordinal"),
        krippendorff_alpha(cubed, "ordinal"),
    )
    assert (math.isnan(original) and math.isnan(relabelled)) or math.isclose(
        original, relabelled, abs_tol=1e-9
    )


pairs = st.lists(st.tuples(scale_point, scale_point), min_size=1, max_size=30)


@given(rows=pairs, weights=st.sampled_from(["linear", "quadratic"]))
def test_kappa_is_symmetric(rows: list[tuple[int, int]], weights: str) -> None:
    a = [r[0] for r in rows]
    b = [r[1] for r in rows]
    ab = weighted_kappa(a, b, [1, 2, 3, 4, 5], weights)  # type: ignore[arg-type]
    ba = weighted_kappa(b, a, [1, 2, 3, 4, 5], weights)  # type: ignore[arg-type]
    assert (math.isnan(ab) and math.isnan(ba)) or math.isclose(ab, ba, abs_tol=1e-12)


@given(rows=pairs)
def test_kappa_is_at_most_one(rows: list[tuple[int, int]]) -> None:
    kappa = weighted_kappa([r[0] for r in rows], [r[1] for r in rows], [1, 2, 3, 4, 5])
    assert math.isnan(kappa) or kappa <= 1.0 + 1e-12
