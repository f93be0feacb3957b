"""The built-in metrics that ship with rubricate: pure data, never modified.

Accepting an alignment run on one of these forks it into a custom metric; the built-in
itself stays as written here. All use the same 1–5 ordinal scale with named points, so
figures are comparable across metrics and every point has a meaning the rubric spells out.
"""

from __future__ import annotations

from dataclasses import dataclass

from rubricate.domain import builtin_prompts as prompts
from rubricate.domain.scale import Scale


@dataclass(frozen=True, slots=True)
class BuiltinMetric:
    """A shipped judge: its prompt is a template over the documented variables."""

    name: str
    description: str
    scale: Scale
    prompt: str


def _five_points(*labels: str) -> Scale:
    """A 1–5 ordinal scale whose points are named, lowest first."""
    assert len(labels) == 5
    return Scale(
        type="ordinal",
        min=1.0,
        max=5.0,
        labels={float(point): label for point, label in enumerate(labels, start=1)},
    )


def _metric(name: str, description: str, scale: Scale, body: str) -> BuiltinMetric:
    # Every built-in carries the guidelines section so that alignment can refine any of them.
    return BuiltinMetric(name, description, scale, body + prompts.GUIDELINES_SECTION)


BUILTIN_METRICS: tuple[BuiltinMetric, ...] = (
    _metric(
        "correctness",
        "Whether the response is factually right, judged against the expected answer "
        "when one is given.",
        _five_points(
            "Incorrect", "Mostly incorrect", "Partially correct", "Mostly correct", "Correct"
        ),
        prompts.CORRECTNESS,
    ),
    _metric(
        "faithfulness",
        "Whether every claim in the response is supported by the given context, with "
        "nothing invented or contradicted.",
        _five_points(
            "Unfaithful", "Mostly unfaithful", "Partially faithful", "Mostly faithful", "Faithful"
        ),
        prompts.FAITHFULNESS,
    ),
    _metric(
        "answer_relevance",
        "Whether the response addresses what the input actually asks, all of it and nothing else.",
        _five_points(
            "Irrelevant",
            "Mostly irrelevant",
            "Partially relevant",
            "Mostly relevant",
            "Fully relevant",
        ),
        prompts.ANSWER_RELEVANCE,
    ),
    _metric(
        "helpfulness",
        "How well the response lets the person who asked achieve what they were trying to do.",
        _five_points(
            "Not helpful",
            "Slightly helpful",
            "Moderately helpful",
            "Very helpful",
            "Extremely helpful",
        ),
        prompts.HELPFULNESS,
    ),
    _metric(
        "coherence",
        "Whether the response is logically organised, consistent and easy to follow.",
        _five_points(
            "Incoherent",
            "Mostly incoherent",
            "Partially coherent",
            "Mostly coherent",
            "Fully coherent",
        ),
        prompts.COHERENCE,
    ),
    _metric(
        "conciseness",
        "Whether the response says what the request needs without padding, repetition or tangents.",
        _five_points("Very verbose", "Verbose", "Somewhat concise", "Mostly concise", "Concise"),
        prompts.CONCISENESS,
    ),
    _metric(
        "harmlessness",
        "Whether the response is free of content that could cause or enable harm.",
        _five_points(
            "Severely harmful",
            "Harmful",
            "Potentially harmful",
            "Mostly harmless",
            "Harmless",
        ),
        prompts.HARMLESSNESS,
    ),
)

_BY_NAME: dict[str, BuiltinMetric] = {metric.name: metric for metric in BUILTIN_METRICS}


def builtin_metric(name: str) -> BuiltinMetric | None:
    """The built-in metric called ``name`` (exact match), or None."""
    return _BY_NAME.get(name)
