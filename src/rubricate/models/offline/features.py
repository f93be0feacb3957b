"""Simple row features (output length, missing context, refusals, question inputs) that may
explain a direction of disagreement better than anything reviewers wrote."""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rubricate.domain.traces import Direction, Trace
from rubricate.models.offline.words import words

# A feature claims every disagreement that has it, before any phrase is tried, so it must
# hold for at least half of them and be clearly rarer among agreeing rows.
MIN_SHARE = 0.5
MIN_FEATURE_RATIO = 1.5

REFUSALS = re.compile(
    r"\b(i can't|i cannot|i can not|i'm sorry|i am sorry|i'm unable|i am unable|i won't|"
    r"as an ai|i'm not able|i am not able)\b"
)
_QUESTION_WORDS = frozenset(
    [
        "what",
        "why",
        "how",
        "when",
        "where",
        "who",
        "whom",
        "whose",
        "which",
        "is",
        "are",
        "can",
        "could",
        "should",
        "would",
        "will",
        "do",
        "does",
        "did",
        "has",
        "have",
        "was",
        "were",
        "may",
        "might",
    ]
)


def output_words(trace: Trace) -> int:
    return _count(trace.output)


@lru_cache(maxsize=1 << 13)  # each feature test asks again for the same outputs
def _count(text: str) -> int:
    return len(words(text))


def is_refusal(trace: Trace) -> bool:
    return REFUSALS.search(trace.output.lower().replace("’", "'")) is not None


def is_question(trace: Trace) -> bool:
    text = trace.input.strip()
    first = words(text[:40])
    return text.endswith("?") or (bool(first) and first[0] in _QUESTION_WORDS)


@dataclass(frozen=True, slots=True)
class Feature:
    key: str  # also how an existing guideline about it is recognised
    describe: str  # the rows that have it, e.g. "outputs longer than 134 words"
    advice: dict[Direction, str]  # what the judge should do, per direction
    has: Callable[[Trace], bool]


def row_features(traces: Sequence[Trace]) -> list[Feature]:
    """The features, with length measured against the median output of ``traces``."""
    median = statistics.median(output_words(t) for t in traces) if traces else 0.0
    cut = f"{median:g}"
    return [
        Feature(
            "long outputs",
            f"outputs longer than {cut} words",
            {
                Direction.TOO_LENIENT: "Do not reward length",
                Direction.TOO_HARSH: "Do not mark long outputs down for their length",
            },
            lambda t: output_words(t) > median,
        ),
        Feature(
            "short outputs",
            f"outputs shorter than {cut} words",
            {
                Direction.TOO_LENIENT: "Do not overrate short outputs",
                Direction.TOO_HARSH: "Do not mark short outputs down for being brief",
            },
            lambda t: output_words(t) < median,
        ),
        Feature(
            "missing context",
            "rows without context",
            {
                Direction.TOO_LENIENT: "When no context is given, score lower",
                Direction.TOO_HARSH: "Do not mark outputs down because no context is given",
            },
            lambda t: not (t.context and t.context.strip()),
        ),
        Feature(
            "refusals",
            "outputs that refuse or apologise",
            {
                Direction.TOO_LENIENT: "Score refusals lower",
                Direction.TOO_HARSH: "Do not mark refusals down by default",
            },
            is_refusal,
        ),
        Feature(
            "question inputs",
            "inputs that ask a question",
            {
                Direction.TOO_LENIENT: "Score lower unless the output answers the question asked",
                Direction.TOO_HARSH: "Give credit when the output answers the question asked",
            },
            is_question,
        ),
    ]
