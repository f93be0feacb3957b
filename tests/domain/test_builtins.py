"""The built-in metrics: well-formed data whose prompts render in every situation."""

from __future__ import annotations

import dataclasses

import pytest

from rubricate.domain.builtins import BUILTIN_METRICS, BuiltinMetric, builtin_metric
from rubricate.domain.metrics import NAME_PATTERN
from rubricate.scoring import check_template, render_prompt

EXPECTED_NAMES = {
    "correctness",
    "faithfulness",
    "answer_relevance",
    "helpfulness",
    "coherence",
    "conciseness",
    "harmlessness",
}
METRICS = pytest.mark.parametrize("metric", BUILTIN_METRICS, ids=lambda m: m.name)


def test_at_least_the_seven_promised_metrics_ship() -> None:
    assert len(BUILTIN_METRICS) >= 7
    assert {m.name for m in BUILTIN_METRICS} >= EXPECTED_NAMES


def test_names_are_unique() -> None:
    names = [m.name for m in BUILTIN_METRICS]
    assert len(names) == len(set(names))


@METRICS
def test_name_is_a_valid_metric_name(metric: BuiltinMetric) -> None:
    assert NAME_PATTERN.match(metric.name)


@METRICS
def test_description_is_one_sentence(metric: BuiltinMetric) -> None:
    assert metric.description[0].isupper()
    assert metric.description.endswith(".")
    assert metric.description.count(". ") == 0


@METRICS
def test_scale_is_one_to_five_with_every_point_named(metric: BuiltinMetric) -> None:
    scale = metric.scale
    assert (scale.type, scale.low, scale.high) == ("ordinal", 1.0, 5.0)
    assert sorted(scale.labels) == scale.points == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert len(set(scale.labels.values())) == 5


@METRICS
def test_rubric_says_what_every_point_means(metric: BuiltinMetric) -> None:
    for value, label in metric.scale.labels.items():
        assert f"{value:g} ({label}):" in metric.prompt


@METRICS
def test_prompt_passes_check_template(metric: BuiltinMetric) -> None:
    check_template(metric.prompt, scale=metric.scale)


def test_lookup_by_exact_name() -> None:
    assert builtin_metric("faithfulness") is BUILTIN_METRICS[1]
    assert builtin_metric("Faithfulness") is None
    assert builtin_metric("no-such-metric") is None


def test_builtins_cannot_be_modified() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        BUILTIN_METRICS[0].prompt = "changed"  # type: ignore[misc]


@METRICS
@pytest.mark.parametrize("context", [None, "CTX-MARKER Paris is the capital of France."])
@pytest.mark.parametrize("expected", [None, "EXP-MARKER Paris"])
@pytest.mark.parametrize("guidelines", ["", "- GUIDE-MARKER: penalise unit errors."])
def test_prompt_renders_with_and_without_optional_fields(
    metric: BuiltinMetric, context: str | None, expected: str | None, guidelines: str
) -> None:
    rendered = render_prompt(
        metric.prompt,
        input="IN-MARKER What is the capital of France?",
        output="OUT-MARKER Paris.",
        context=context,
        expected=expected,
        guidelines=guidelines,
        scale=metric.scale,
    )
    for marker in ("IN-MARKER", "OUT-MARKER", "CTX-MARKER", "EXP-MARKER"):
        assert marker not in rendered.system  # row text is never part of the instructions
    assert "IN-MARKER" in rendered.user and "OUT-MARKER" in rendered.user
    assert ("GUIDE-MARKER" in rendered.system) == bool(guidelines)
    assert ("## Guidelines" in rendered.system) == bool(guidelines)
    assert "{%" not in rendered.system and "{{" not in rendered.system
    assert '"score"' in rendered.system and '"rationale"' in rendered.system


def test_correctness_uses_the_reference_answer_only_when_given() -> None:
    metric = builtin_metric("correctness")
    assert metric is not None
    with_ref = render_prompt(
        metric.prompt, input="2+2?", output="4", expected="4", scale=metric.scale
    )
    without = render_prompt(metric.prompt, input="2+2?", output="4", scale=metric.scale)
    assert "[EXPECTED]" in with_ref.system and "<<<BEGIN EXPECTED" in with_ref.user
    assert "No reference answer" in without.system and "EXPECTED" not in without.user


def test_faithfulness_sends_the_context_it_judges_against() -> None:
    metric = builtin_metric("faithfulness")
    assert metric is not None
    rendered = render_prompt(
        metric.prompt, input="q", output="o", context="the source", scale=metric.scale
    )
    assert "[CONTEXT]" in rendered.system
    assert f"<<<BEGIN CONTEXT {rendered.fence}>>>\nthe source\n" in rendered.user


def test_metrics_that_do_not_need_context_do_not_send_it() -> None:
    metric = builtin_metric("conciseness")
    assert metric is not None
    rendered = render_prompt(
        metric.prompt, input="q", output="o", context="unused", scale=metric.scale
    )
    assert "CONTEXT" not in rendered.user
