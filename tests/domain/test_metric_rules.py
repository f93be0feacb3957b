"""Metric names and which version is active (pure rules)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rubricate.domain.errors import InvalidInput
from rubricate.domain.metrics import (
    Metric,
    MetricKind,
    MetricVersion,
    VersionOrigin,
    active_version,
    check_metric_name,
)
from rubricate.domain.scale import Scale

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("name", ["a", "tone", "Answer_quality-2", "v1.2", "9lives", "x" * 100])
def test_plain_names_are_accepted(name: str) -> None:
    assert check_metric_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["", "_x", "-x", ".x", "has space", "tone@2", "tone\n", "x" * 101, "é", "a/b", "a:b"],
)
def test_other_names_are_refused_naming_the_field(name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_metric_name(name)
    assert caught.value.field == "name"


def _version(number: int) -> MetricVersion:
    return MetricVersion(
        id=number * 10,
        metric_id=1,
        number=number,
        prompt=f"prompt {number}",
        guidelines="",
        scale=Scale(type="ordinal", min=1, max=5),
        origin=VersionOrigin.MANUAL,
        created_at=NOW,
    )


def _metric(pinned: int | None) -> Metric:
    return Metric(1, "tone", "", MetricKind.CUSTOM, NOW, pinned_version=pinned)


def test_the_newest_version_is_active_unless_one_is_pinned() -> None:
    versions = [_version(2), _version(1), _version(3)]
    assert active_version(_metric(None), versions).number == 3
    assert active_version(_metric(1), versions).number == 1


def test_a_metric_without_versions_has_no_active_one() -> None:
    with pytest.raises(LookupError):
        active_version(_metric(None), [])
