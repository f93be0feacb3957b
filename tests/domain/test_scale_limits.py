"""Issue 12: a scale too wide to list is refused, naming the field, before anything lists
its points (a 0–10,000,000 ordinal scale once drove the server to 22.8 GB)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from rubricate.domain.scale import Scale, ScaleError
from rubricate.limits import SCALE_MAX_ABS, SCALE_MAX_POINTS


@pytest.mark.parametrize(
    ("data", "field", "text"),
    [
        ({"type": "ordinal", "min": 0, "max": 10_000_000}, "max", "at most 101 points"),
        ({"type": "ordinal", "min": 0, "max": 1e12}, "max", "at most 101 points"),
        ({"type": "ordinal", "min": -1e300, "max": 0}, "min", "at most"),
        ({"type": "interval", "min": 0, "max": 1e300}, "max", "at most"),
        ({"type": "interval", "min": -1e13, "max": 0}, "min", "at most"),
        (
            {"type": "labels", "labels": {str(i): f"l{i}" for i in range(SCALE_MAX_POINTS + 1)}},
            "labels",
            "at most 101 labels",
        ),
    ],
)
def test_a_scale_too_wide_is_refused_naming_the_field(
    data: dict[str, object], field: str, text: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        Scale.model_validate(data)
    (error,) = caught.value.errors()
    assert error["loc"] == (field,), error
    assert text in error["msg"], error["msg"]


def test_the_widest_allowed_scales() -> None:
    widest = Scale(type="ordinal", min=0, max=SCALE_MAX_POINTS - 1)
    assert widest.points is not None and len(widest.points) == SCALE_MAX_POINTS
    assert Scale(type="interval", min=-SCALE_MAX_ABS, max=SCALE_MAX_ABS).points is None
    labels = Scale(type="labels", labels={float(i): f"l{i}" for i in range(SCALE_MAX_POINTS)})
    assert len(labels.labels) == SCALE_MAX_POINTS


@pytest.mark.parametrize("value", [1.0, 3.0, 5.0])
def test_is_point_without_listing(value: float) -> None:
    scale = Scale(type="ordinal", min=1, max=5)
    assert scale.is_point(value)
    assert not scale.is_point(value + 0.5)
    assert not scale.is_point(value + 10)
    assert not Scale(type="interval", min=0, max=1).is_point(0.5)
    assert Scale(type="labels", labels={0: "fail", 1: "pass"}).is_point(1.0)


def test_a_huge_score_is_out_of_range_not_an_overflow() -> None:
    scale = Scale(type="ordinal", min=1, max=5)
    with pytest.raises(ScaleError, match="outside the scale"):
        scale.check(10**400)
    with pytest.raises(ScaleError, match="outside the scale"):
        scale.check(-(10**400))
