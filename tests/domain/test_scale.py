"""Score scales: validation, checking scores, labels, and the JSON layout of dataset.json."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from rubricate.domain.scale import Scale, ScaleError

FOUR_POINTS = Scale(
    type="ordinal",
    min=1,
    max=4,
    labels={1: "Bad", 2: "Could be Improved", 3: "Acceptable", 4: "Excellent"},
)
PASS_FAIL = Scale(type="labels", labels={0: "fail", 1: "pass"})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"type": "ordinal"}, "needs min and max"),
        ({"type": "interval", "min": 0}, "needs min and max"),
        ({"type": "ordinal", "min": 5, "max": 1}, "must be below"),
        ({"type": "interval", "min": 1, "max": 1}, "must be below"),
        ({"type": "interval", "min": 0, "max": math.inf}, "must be below"),
        ({"type": "ordinal", "min": 0.5, "max": 5}, "whole numbers"),
        ({"type": "ordinal", "min": 1, "max": 5, "labels": {"6": "great"}}, "outside"),
        ({"type": "ordinal", "min": 1, "max": 5, "labels": {"2.5": "half"}}, "whole number"),
        ({"type": "ordinal", "min": 1, "max": 3, "labels": {"1": "a", "2": "a"}}, "distinct"),
        ({"type": "ordinal", "min": 1, "max": 3, "labels": {"1": "Good", "2": "good "}}, "case"),
        ({"type": "ordinal", "min": 1, "max": 3, "labels": {"1": " "}}, "empty"),
        ({"type": "labels", "labels": {"1": "only"}}, "at least two"),
        ({"type": "labels"}, "at least two"),
        ({"type": "labels", "labels": {"0": "no", "1": "yes"}, "max": 10}, "highest label"),
        ({"type": "labels", "labels": {"0": "no", "1": "yes"}, "min": -1}, "lowest label"),
        ({"type": "labels", "labels": {"0": "no", "inf": "yes"}}, "finite"),
        ({"type": "nominal", "min": 0, "max": 1}, "type"),
        ({"type": "ordinal", "min": 1, "max": 5, "step": 1}, "step"),
    ],
)
def test_invalid_scales_are_refused(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Scale.model_validate(data)
    assert message in str(caught.value)


def test_a_labels_scale_takes_its_bounds_from_its_labels() -> None:
    scale = Scale(type="labels", labels={2: "good", 0: "bad", 1: "fair"})
    assert (scale.low, scale.high) == (0.0, 2.0)
    assert scale.points == [0.0, 1.0, 2.0]
    assert scale.describe() == "bad/fair/good"
    assert not scale.is_numeric
    assert Scale(type="labels", labels={0: "no", 1: "yes"}, min=0, max=1).high == 1.0


def test_points_and_numeric_kinds() -> None:
    assert FOUR_POINTS.points == [1.0, 2.0, 3.0, 4.0]
    assert FOUR_POINTS.is_numeric
    interval = Scale(type="interval", min=0, max=1)
    assert interval.points is None
    assert interval.span == 1.0
    assert interval.describe() == "0–1"


@pytest.mark.parametrize(
    ("scale", "value"),
    [
        (FOUR_POINTS, 1),
        (FOUR_POINTS, 4.0),
        (Scale(type="interval", min=0, max=1), 0.37),
        (Scale(type="interval", min=-1, max=1), -1),
        (PASS_FAIL, 1),
    ],
)
def test_check_accepts_values_on_the_scale(scale: Scale, value: float) -> None:
    checked = scale.check(value)
    assert checked == value
    assert isinstance(checked, float)


def test_check_accepts_numpy_numbers() -> None:
    # numpy scalars are numbers.Real at run time, though not floats to a type checker
    assert FOUR_POINTS.check(np.int64(3)) == 3.0  # type: ignore[arg-type]
    assert type(FOUR_POINTS.check(np.float32(2.0))) is float  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("scale", "value", "message"),
    [
        (FOUR_POINTS, 5, "outside the scale 1–4"),
        (FOUR_POINTS, 0, "outside"),
        (FOUR_POINTS, 2.5, "not a whole number"),
        (FOUR_POINTS, math.nan, "not a finite number"),
        (FOUR_POINTS, math.inf, "not a finite number"),
        (FOUR_POINTS, True, "must be a number"),
        (FOUR_POINTS, "3", "must be a number"),
        (Scale(type="interval", min=0, max=1), 1.01, "outside the scale 0–1"),
        (PASS_FAIL, 0.5, "allowed 0 (fail), 1 (pass)"),
        (PASS_FAIL, 2, "not on the scale"),
    ],
)
def test_check_refuses_values_off_the_scale(scale: Scale, value: Any, message: str) -> None:
    with pytest.raises(ScaleError) as caught:
        scale.check(value)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("label", "value"),
    [("Excellent", 4.0), ("excellent", 4.0), ("  EXCELLENT ", 4.0), ("could be improved", 2.0)],
)
def test_value_of_ignores_case_and_surrounding_space(label: str, value: float) -> None:
    assert FOUR_POINTS.value_of(label) == value
    assert FOUR_POINTS.label_of(value) is not None


def test_value_of_an_unknown_label_names_the_known_ones() -> None:
    with pytest.raises(ScaleError) as caught:
        FOUR_POINTS.value_of("Great")
    assert "'Great'" in str(caught.value)
    assert "'Acceptable'" in str(caught.value)
    with pytest.raises(ScaleError, match="none"):
        Scale(type="ordinal", min=1, max=5).value_of("good")


@pytest.mark.parametrize(
    "scale",
    [
        FOUR_POINTS,
        PASS_FAIL,
        Scale(type="ordinal", min=1, max=5),
        Scale(type="interval", min=0, max=1, labels={0: "none", 0.5: "half", 1: "all"}),
        Scale(type="labels", labels={-1: "worse", 0: "same", 1: "better"}),
    ],
)
def test_to_json_round_trips_through_json_text(scale: Scale) -> None:
    data = json.loads(json.dumps(scale.to_json()))
    labels = data.get("labels", {})
    assert all(isinstance(key, str) for key in labels)
    assert Scale.model_validate(data) == scale
    # the storage layout (model_dump) round-trips too
    assert Scale.model_validate(json.loads(json.dumps(scale.model_dump(mode="json")))) == scale


def test_to_json_writes_whole_numbers_without_a_decimal_point() -> None:
    assert FOUR_POINTS.to_json() == {
        "type": "ordinal",
        "min": 1,
        "max": 4,
        "labels": {"1": "Bad", "2": "Could be Improved", "3": "Acceptable", "4": "Excellent"},
    }
    half = Scale(type="interval", min=0, max=2.5).to_json()
    assert half["max"] == 2.5


def test_scales_are_immutable() -> None:
    with pytest.raises(ValidationError):
        FOUR_POINTS.max = 10  # type: ignore[misc]


@given(
    low=st.integers(min_value=-50, max_value=50),
    width=st.integers(min_value=1, max_value=20),
    value=st.integers(min_value=-80, max_value=80),
)
def test_ordinal_check_agrees_with_its_points(low: int, width: int, value: int) -> None:
    scale = Scale(type="ordinal", min=low, max=low + width)
    points = scale.points
    assert points is not None
    if value in points:
        assert scale.check(value) == value
    else:
        with pytest.raises(ScaleError):
            scale.check(value)
