"""Resolving annotations through the workspace: policies in bulk, an admin's own decisions,
and adding annotations (labels, out-of-scale scores)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rubricate import Rubricate
from rubricate.domain.errors import InvalidInput, NotFound
from rubricate.domain.resolution import Policy

# the fixtures `resolutions` and `annotations_of` of conftest.py: what the database holds
Resolutions = Callable[[str, str], dict[str, tuple[float, str]]]
AnnotationsOf = Callable[[str, str], dict[tuple[str, str], tuple[float, str | None]]]

# what each policy makes of the `quality` scores in conftest.SCORES
QUALITY: dict[Policy, dict[str, float]] = {
    Policy.UNANIMOUS: {"r3": 4},
    Policy.MAJORITY: {"r3": 4, "r1": 4, "r7": 3},
    Policy.MEDIAN: {"r3": 4, "r1": 4, "r10": 2, "r7": 3},
    Policy.MEAN: {"r3": 4, "r1": 3, "r10": 2, "r2": 2.5, "r7": 2.5},
}


def test_each_policy_resolves_what_it_can_decide(
    rb: Rubricate, tiny: str, resolutions: Resolutions
) -> None:
    for policy in (Policy.MEAN, Policy.MEDIAN, Policy.MAJORITY, Policy.UNANIMOUS):
        report = rb.annotations.resolve(tiny, "quality", policy, replace=True)
        expected = QUALITY[policy]
        assert (report.annotated_rows, report.resolved, report.unresolved, report.kept) == (
            5,  # r5 has no annotations
            len(expected),
            5 - len(expected),
            0,
        ), policy
        assert resolutions(tiny, "quality") == {
            row: (value, f"policy:{policy.value}") for row, value in expected.items()
        }, policy


def test_label_scales_resolve_by_majority_and_median_but_not_mean(
    rb: Rubricate, tiny: str, resolutions: Resolutions
) -> None:
    assert rb.annotations.resolve(tiny, "verdict", "majority").resolved == 2
    assert resolutions(tiny, "verdict") == {
        "r3": (1.0, "policy:majority"),
        "r1": (1.0, "policy:majority"),
    }
    report = rb.annotations.resolve(tiny, "verdict", Policy.MEDIAN, replace=True)
    assert (report.resolved, report.unresolved) == (2, 2)  # r10 (0, 1) and r2 (0, 0, 1, 1)
    with pytest.raises(InvalidInput) as caught:
        rb.annotations.resolve(tiny, "verdict", Policy.MEAN, replace=True)
    assert caught.value.field == "policy"
    assert set(resolutions(tiny, "verdict").values()) == {(1.0, "policy:median")}


def test_rows_already_resolved_are_kept_unless_replace(
    rb: Rubricate, tiny: str, resolutions: Resolutions
) -> None:
    rb.annotations.resolve(tiny, "quality", Policy.MAJORITY)
    report = rb.annotations.resolve(tiny, "quality", Policy.MEDIAN)
    assert (report.kept, report.resolved, report.unresolved) == (3, 1, 1)
    assert resolutions(tiny, "quality") == {
        "r3": (4.0, "policy:majority"),
        "r1": (4.0, "policy:majority"),
        "r7": (3.0, "policy:majority"),
        "r10": (2.0, "policy:median"),
    }
    report = rb.annotations.resolve(tiny, "quality", Policy.MEAN, replace=True)
    assert (report.kept, report.resolved, report.unresolved) == (0, 5, 0)
    assert resolutions(tiny, "quality") == {
        row: (value, "policy:mean") for row, value in QUALITY[Policy.MEAN].items()
    }


def test_replace_leaves_rows_the_new_policy_cannot_decide_unresolved(
    rb: Rubricate, tiny: str, resolutions: Resolutions
) -> None:
    rb.annotations.resolve(tiny, "quality", Policy.MEAN)
    report = rb.annotations.resolve(tiny, "quality", Policy.UNANIMOUS, replace=True)
    assert (report.resolved, report.unresolved, report.cleared) == (1, 4, 4)
    # no value of the mean policy is left behind under the name of no policy
    assert resolutions(tiny, "quality") == {"r3": (4.0, "policy:unanimous")}


def test_replace_never_overwrites_an_admins_decision(
    rb: Rubricate, tiny: str, resolutions: Resolutions
) -> None:
    rb.annotations.resolve(tiny, "quality", Policy.MEAN)
    assert rb.annotations.resolve_row(tiny, "r1", "quality", value="Bad", user="admin") == 1.0
    assert rb.annotations.resolve_row(tiny, "r2", "quality", value=3, user="admin") == 3.0
    assert rb.annotations.resolve_row(tiny, "r5", "quality", value="4", user="lee") == 4.0
    for policy in (Policy.UNANIMOUS, Policy.MEDIAN, Policy.MEAN):
        report = rb.annotations.resolve(tiny, "quality", policy, replace=True)
        assert report.kept == 2  # r1 and r2 (r5 has no annotations to count)
        stored = resolutions(tiny, "quality")
        assert stored["r1"] == (1.0, "user:admin")
        assert stored["r2"] == (3.0, "user:admin")
        assert stored["r5"] == (4.0, "user:lee")


def test_resolve_row_takes_labels_and_replaces_the_earlier_value(
    rb: Rubricate, tiny: str, resolutions: Resolutions
) -> None:
    rb.annotations.resolve(tiny, "verdict", Policy.MAJORITY)
    assert rb.annotations.resolve_row(tiny, "r1", "verdict", value=" FAIL ", user="ana") == 0.0
    assert rb.annotations.resolve_row(tiny, "r10", "verdict", value="Pass", user="ana") == 1.0
    assert rb.annotations.resolve_row(tiny, "r10", "quality", value="acceptable", user="ana") == 3
    assert resolutions(tiny, "verdict") == {
        "r3": (1.0, "policy:majority"),
        "r1": (0.0, "user:ana"),
        "r10": (1.0, "user:ana"),
    }
    assert resolutions(tiny, "quality") == {"r10": (3.0, "user:ana")}


OFF_THE_SCALE: list[tuple[str, float | str]] = [
    ("quality", 5),
    ("quality", 0),
    ("quality", 2.5),  # an admin, like a reviewer, picks a point of an ordinal scale
    ("quality", "Great"),
    ("quality", "inf"),
    ("verdict", 0.5),
    ("verdict", 2),
    ("verdict", "nan"),
    ("closeness", -0.1),
    ("closeness", 1.5),
]


def test_resolve_row_refuses_values_off_the_scale_and_writes_nothing(
    rb: Rubricate, tiny: str, resolutions: Resolutions
) -> None:
    for metric in ("quality", "verdict", "closeness"):
        rb.annotations.resolve_row(tiny, "r1", metric, value=1, user="first")
    before = {metric: resolutions(tiny, metric) for metric in ("quality", "verdict", "closeness")}
    for metric, value in OFF_THE_SCALE:
        for row in ("r1", "r2"):  # replacing a resolution, and a new one
            with pytest.raises(InvalidInput) as caught:
                rb.annotations.resolve_row(tiny, row, metric, value=value, user="admin")
            assert caught.value.field == "value", (metric, value)
        assert resolutions(tiny, metric) == before[metric]


def test_resolve_row_needs_a_user(rb: Rubricate, tiny: str, resolutions: Resolutions) -> None:
    with pytest.raises(InvalidInput) as caught:
        rb.annotations.resolve_row(tiny, "r1", "quality", value=2, user="  ")
    assert caught.value.field == "user"
    assert resolutions(tiny, "quality") == {}


def test_add_takes_a_label_and_replaces_the_reviewers_earlier_score(
    rb: Rubricate, tiny: str, annotations_of: AnnotationsOf
) -> None:
    assert rb.annotations.add(tiny, "r5", "verdict", annotator="eve", score="Pass") == 1.0
    assert rb.annotations.add(tiny, "r5", "quality", annotator="eve", score="excellent") == 4.0
    assert rb.annotations.add(tiny, "r5", "closeness", annotator="eve", score=0.3) == 0.3
    assert annotations_of(tiny, "verdict")["r5", "eve"] == (1.0, None)
    assert (
        rb.annotations.add(tiny, "r5", "verdict", annotator="eve", score="fail", comment="no") == 0
    )
    stored = annotations_of(tiny, "verdict")
    assert stored["r5", "eve"] == (0.0, "no")
    assert len(stored) == 13  # 12 imported and eve's, once


def test_add_refuses_scores_off_the_scale_and_writes_nothing(
    rb: Rubricate, tiny: str, annotations_of: AnnotationsOf
) -> None:
    for metric, score in OFF_THE_SCALE:
        before = annotations_of(tiny, metric)
        for who, row in (("ana", "r3"), ("newcomer", "r5")):  # replacing one, and a new one
            with pytest.raises(InvalidInput) as caught:
                rb.annotations.add(tiny, row, metric, annotator=who, score=score)
            assert caught.value.field == "score", (metric, score)
        assert annotations_of(tiny, metric) == before


def test_add_needs_an_annotator(rb: Rubricate, tiny: str, annotations_of: AnnotationsOf) -> None:
    before = annotations_of(tiny, "quality")
    for who in ("", "   ", "x" * 201):
        with pytest.raises(InvalidInput) as caught:
            rb.annotations.add(tiny, "r5", "quality", annotator=who, score=2)
        assert caught.value.field == "annotator"
    assert annotations_of(tiny, "quality") == before


def test_unknown_names_are_reported(rb: Rubricate, tiny: str) -> None:
    with pytest.raises(NotFound, match="no row 'r99'"):
        rb.annotations.add(tiny, "r99", "quality", annotator="ana", score=2)
    with pytest.raises(NotFound, match="no evaluation named 'nope'"):
        rb.annotations.resolve_row("nope", "r1", "quality", value=2, user="a")
    with pytest.raises(NotFound, match="no metric named 'nope'"):
        rb.annotations.resolve(tiny, "nope", Policy.MAJORITY)
    with pytest.raises(NotFound, match="no metric named 'nope'"):
        rb.annotations.agreement(tiny, "nope")
    with pytest.raises(InvalidInput) as caught:
        rb.annotations.resolve(tiny, "quality", "vote")
    assert caught.value.field == "policy"


def test_agreement_counts_rows_with_two_scores_and_every_pair(rb: Rubricate, tiny: str) -> None:
    agreement = rb.annotations.agreement(tiny, "verdict")
    assert (agreement.rows, agreement.reviewers) == (4, 4)
    pairs = {(p.reviewer_a, p.reviewer_b): p for p in agreement.pairs}
    assert set(pairs) == {
        ("ana", "ben"),
        ("ana", "cy"),
        ("ana", "dee"),
        ("ben", "cy"),
        ("ben", "dee"),
        ("cy", "dee"),
    }
    # ana and ben: r3 (1, 1), r1 (1, 1), r10 (0, 1), r2 (0, 0)
    assert (pairs["ana", "ben"].n_shared, pairs["ana", "ben"].exact_agreement) == (4, 0.75)
    assert (pairs["cy", "dee"].n_shared, pairs["cy", "dee"].exact_agreement) == (1, 1.0)
