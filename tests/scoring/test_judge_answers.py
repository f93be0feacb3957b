"""Reading the judge's answer: every odd shape is either mapped because it can mean one
thing only, or kept as the row's error; nothing defaults to 0 or to a pass."""

from __future__ import annotations

from typing import Any

import pytest

from rubricate.domain.scale import Scale
from rubricate.models.client import Reply
from rubricate.scoring.judge import read_judgement

ONE_TO_FIVE = Scale(type="ordinal", min=1, max=5, labels={1: "Poor", 3: "Fair", 5: "Excellent"})
ZERO_TO_ONE = Scale(type="interval", min=0, max=1)
PASS_FAIL = Scale(type="labels", labels={0: "fail", 1: "pass"})


def reply(arguments: dict[str, Any] | str | None = None, text: str | None = None) -> Reply:
    return Reply(text, arguments, "raw", 10, 5, None, 0.1)


@pytest.mark.parametrize(
    ("score", "scale", "expected"),
    [
        (4, ONE_TO_FIVE, 4.0),
        (4.0, ONE_TO_FIVE, 4.0),
        ("4", ONE_TO_FIVE, 4.0),
        (" 4.0 ", ONE_TO_FIVE, 4.0),
        ("excellent", ONE_TO_FIVE, 5.0),
        ("Fair", ONE_TO_FIVE, 3.0),
        ("4/5", ONE_TO_FIVE, 4.0),
        (0.35, ZERO_TO_ONE, 0.35),
        ("0.5", ZERO_TO_ONE, 0.5),
        ("pass", PASS_FAIL, 1.0),
        (0, PASS_FAIL, 0.0),
    ],
)
def test_unambiguous_scores_are_mapped(score: Any, scale: Scale, expected: float) -> None:
    judgement = read_judgement(reply({"score": score, "rationale": " because "}), scale)
    assert judgement.error is None
    assert judgement.score == expected
    assert judgement.rationale == "because"


@pytest.mark.parametrize(
    ("score", "scale", "message"),
    [
        (9, ONE_TO_FIVE, "outside the scale 1–5"),
        (0, ONE_TO_FIVE, "outside the scale 1–5"),
        (3.5, ONE_TO_FIVE, "not a whole number"),
        ("4/10", ONE_TO_FIVE, "out of 10"),
        ("great", ONE_TO_FIVE, "unknown label 'great'"),
        ("four", ZERO_TO_ONE, "not a number on 0–1"),
        (True, PASS_FAIL, "not a number"),
        (None, ONE_TO_FIVE, "not a number"),
        ([4], ONE_TO_FIVE, "not a number"),
        ("nan", ZERO_TO_ONE, "not a number on 0–1"),
        (0.5, PASS_FAIL, "not on the scale"),
        ("yes", PASS_FAIL, "unknown label 'yes'"),
    ],
)
def test_ambiguous_scores_become_the_rows_error(score: Any, scale: Scale, message: str) -> None:
    judgement = read_judgement(reply({"score": score, "rationale": "r"}), scale)
    assert judgement.score is None
    assert judgement.error is not None and message in judgement.error


def test_a_missing_score_is_an_error_not_zero() -> None:
    judgement = read_judgement(reply({"rationale": "I would say good"}), ONE_TO_FIVE)
    assert judgement.score is None
    assert judgement.error == "the answer has no score"
    assert judgement.rationale == "I would say good"


@pytest.mark.parametrize(
    "text",
    [
        '{"score": 2, "rationale": "thin"}',
        'Here is my verdict:\n```json\n{"score": 2, "rationale": "thin"}\n```',
        'Sure. {"score": 2, "rationale": "a brace } in \\"text\\""} Hope it helps.',
    ],
)
def test_the_text_fallback_reads_json_in_text(text: str) -> None:
    judgement = read_judgement(reply(text=text), ONE_TO_FIVE)
    assert judgement.score == 2.0
    assert judgement.error is None


def test_arguments_sent_as_a_string_are_read_or_refused() -> None:
    good = read_judgement(reply('{"score": "5", "rationale": "ok"}'), ONE_TO_FIVE)
    assert good.score == 5.0
    bad = read_judgement(reply('{"score": 5, "rationale": '), ONE_TO_FIVE)
    assert bad.score is None
    assert bad.error == "the tool call's arguments are not a JSON object"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("I think it deserves a 4.", "the answer holds no JSON object with a score"),
        ("[4, 5]", "the answer holds no JSON object with a score"),
        (None, "the model gave no answer"),
    ],
)
def test_answers_without_an_object_are_errors(text: str | None, error: str) -> None:
    judgement = read_judgement(reply(text=text), ONE_TO_FIVE)
    assert judgement.score is None
    assert judgement.error == error


# -- rationale first, then the score, then the guidelines applied (issue 11, item 4) -----


def test_the_schema_asks_for_the_rationale_before_the_score_and_then_applied() -> None:
    from rubricate.scoring.judge import JUDGE_SCHEMA

    assert list(JUDGE_SCHEMA.json_schema["properties"]) == ["rationale", "score", "applied"]


@pytest.mark.parametrize(
    "answer",
    [
        {"rationale": "Long but on point; guideline 2 applies.", "score": 3, "applied": [2, 1]},
        '{"rationale": "Long but on point; guideline 2 applies.", "score": 3, "applied": [1, 2]}',
    ],
)
def test_a_rationale_first_answer_is_read_with_its_applied_numbers(answer: Any) -> None:
    judgement = read_judgement(reply(answer), ONE_TO_FIVE)
    assert judgement.score == 3.0 and judgement.error is None
    assert judgement.rationale == "Long but on point; guideline 2 applies."
    assert judgement.applied == frozenset({1, 2})


def test_applied_numbers_in_prose_text_are_read() -> None:
    text = 'Reasoning first.\n```json\n{"rationale": "r", "score": 4, "applied": ["3"]}\n```'
    judgement = read_judgement(reply(text=text), ONE_TO_FIVE)
    assert (judgement.score, judgement.applied) == (4.0, frozenset({3}))


@pytest.mark.parametrize(
    ("applied", "expected"),
    [
        ([], frozenset()),  # said: none applied
        ([2.0, 2], frozenset({2})),
        (None, None),  # did not say
        ("1, 2", None),  # not a list: unknown, not guessed
        ([1, "two"], None),
        ([True], None),
        ([0], None),  # guidelines are numbered from 1
        ([-1], None),
        ([1.5], None),
        (list(range(1, 2000)), None),  # more than any prompt has
    ],
)
def test_applied_is_a_hint_that_never_costs_the_score(applied: Any, expected: Any) -> None:
    answer: dict[str, Any] = {"rationale": "r", "score": 2}
    if applied is not None:
        answer["applied"] = applied
    judgement = read_judgement(reply(answer), ONE_TO_FIVE)
    assert judgement.score == 2.0 and judgement.error is None
    assert judgement.applied == expected


def test_an_unreadable_score_keeps_its_applied_numbers_beside_the_error() -> None:
    judgement = read_judgement(reply({"rationale": "r", "score": 9, "applied": [1]}), ONE_TO_FIVE)
    assert judgement.score is None and judgement.error
    assert judgement.applied == frozenset({1})


def test_the_judge_sees_numbered_guidelines_and_the_answer_order() -> None:
    from rubricate.scoring.render import render_prompt

    rendered = render_prompt(
        "Judge {{ output }}.",
        input="q",
        output="o",
        guidelines="- Be strict.\n- Do not reward length:\n  a long one is not better.\n* Third.",
        scale=ONE_TO_FIVE,
    )
    assert (
        "1. Be strict.\n2. Do not reward length: a long one is not better.\n3. Third."
        in rendered.system
    )
    answer_format = rendered.system[rendered.system.index("## Answer format") :]
    assert answer_format.index('"rationale"') < answer_format.index('"score"')
    assert answer_format.index('"score"') < answer_format.index('"applied"')


def test_numbering_a_numbered_section_changes_nothing() -> None:
    from rubricate.scoring.guidelines import numbered_guidelines

    once = numbered_guidelines("- A.\n- B.")
    assert once == "1. A.\n2. B."
    assert numbered_guidelines(once) == once
    assert numbered_guidelines("") == ""
