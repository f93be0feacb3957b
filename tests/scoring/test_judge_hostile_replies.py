"""Issue 12: ambiguous or hostile judge replies are refused as unreadable answers (the
row's error), never scored by a guess and never raised as a traceback."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rubricate.domain.scale import Scale
from rubricate.models.client import Reply
from rubricate.scoring.judge import Judgement, find_json_object, read_judgement

ONE_TO_FIVE = Scale(type="ordinal", min=1, max=5, labels={1: "Poor", 5: "Excellent"})
ZERO_TO_ONE = Scale(type="interval", min=0, max=1)
PASS_FAIL = Scale(type="labels", labels={0: "fail", 1: "pass"})


def reply(arguments: dict[str, Any] | str | None = None, text: str | None = None) -> Reply:
    return Reply(text, arguments, "raw", 10, 5, None, 0.1)


def refused(judgement: Judgement, *words: str) -> None:
    assert judgement.score is None, judgement
    assert judgement.error is not None
    for word in words:
        assert word in judgement.error, judgement.error


def refused_as_text_and_as_arguments(text: str, *words: str) -> None:
    """Refused as the reply's text and as its tool arguments (a string that is not JSON)."""
    refused(read_judgement(reply(text=text), ONE_TO_FIVE), *words)
    refused(read_judgement(reply(text), ONE_TO_FIVE), *words)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        # two objects with different scores
        ('{"score": 1} {"score": 5}', "different scores"),
        ('{"score": 1, "rationale": "a"}\n{"score": 5, "rationale": "b"}', "different scores"),
        ('First: ```json\n{"score": 2}\n``` then, on reflection, {"score": 4}', "different scores"),
        ('{"score": "Poor"} or maybe {"score": "Excellent"}', "different scores"),
        # a list of answers
        ('[{"score": 3}]', "list"),
        ('[{"score": 3, "rationale": "r"}, {"score": 3, "rationale": "r"}]', "list"),
        ('Here you go: [{"score": 3, "rationale": "fine"}]', "list"),
        ('```json\n[{"score": 3}]\n```', "list"),
    ],
)
def test_two_objects_with_different_scores_or_a_list_of_answers_are_refused(
    text: str, why: str
) -> None:
    refused_as_text_and_as_arguments(text, why)


def test_two_objects_with_the_same_score_are_read() -> None:
    text = '{"score": 3, "rationale": "ok"}\n```json\n{"score": 3, "rationale": "ok"}\n```'
    judgement = read_judgement(reply(text=text), ONE_TO_FIVE)
    assert (judgement.score, judgement.error) == (3.0, None)


@pytest.mark.parametrize(
    "score",
    [10**400, -(10**400), "9" * 400, "-" + "9" * 400, "1e400", "1" + "0" * 400 + "/5"],
)
def test_a_huge_score_is_out_of_range(score: Any) -> None:
    raw = json.dumps({"score": score, "rationale": "r"})
    refused_as_text_and_as_arguments(raw)
    refused(read_judgement(reply({"score": score, "rationale": "r"}), ONE_TO_FIVE))


@pytest.mark.parametrize(
    "text",
    ["[" * 100_000, "{" * 100_000, '{"a":' * 5000 + "1" + "}" * 5000, "x" * 2_000_000],
)
def test_deep_or_long_text_is_refused_quickly(text: str) -> None:
    refused_as_text_and_as_arguments(text)


# --- fuzz: whatever the model sends, the parser answers with a Judgement ---------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
ANSWERS = st.fixed_dictionaries(
    {
        "score": JSON
        | st.integers()
        | st.sampled_from(["4", "4/5", "pass", "1e999", "nan", "9" * 400])
    },
    optional={"rationale": JSON},
)
PIECES = st.one_of(
    st.text(max_size=40),
    JSON.map(json.dumps),
    ANSWERS.map(json.dumps),
    st.sampled_from(["{", "}", "[", "]", '"', "\\", "```json\n", "\n```", "\ud800", "\x00"]),
)
TEXTS = st.lists(PIECES, max_size=8).map("".join)


def check(judgement: Judgement) -> None:
    assert isinstance(judgement, Judgement)
    assert (judgement.score is None) != (judgement.error is None), judgement
    if judgement.score is not None:
        assert isinstance(judgement.score, float)


@settings(max_examples=300, deadline=None)
@given(text=TEXTS, scale=st.sampled_from([ONE_TO_FIVE, ZERO_TO_ONE, PASS_FAIL]))
def test_fuzz_any_text_reads_or_is_refused(text: str, scale: Scale) -> None:
    check(read_judgement(reply(text=text), scale))
    check(read_judgement(reply(text), scale))
    found = find_json_object(text)
    assert found is None or isinstance(found, dict)


@settings(max_examples=300, deadline=None)
@given(
    answer=st.dictionaries(st.text(max_size=10), JSON, max_size=4) | ANSWERS,
    scale=st.sampled_from([ONE_TO_FIVE, ZERO_TO_ONE, PASS_FAIL]),
)
def test_fuzz_any_arguments_read_or_are_refused(answer: dict[str, Any], scale: Scale) -> None:
    check(read_judgement(reply(answer), scale))
