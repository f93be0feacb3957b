"""The judge's answer: the schema asked for (rationale, then score, then the numbers of the
guidelines applied), and reading what came back against the metric's scale. Odd answers
are handled on purpose: a quoted number, a label or a fraction like "4/5" is mapped when
it can mean one thing only; anything else becomes that row's error with the raw output
kept. Nothing is ever stored as 0 or as a pass by default."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from rubricate.domain.scale import Scale, ScaleError
from rubricate.limits import JUDGE_REPLY_MAX_CHARS, SCORE_MAX_CHARS
from rubricate.models.client import OutputSchema, Reply

JUDGE_SCHEMA = OutputSchema(
    name="final_result",
    description="Reason about the row, then give its score and the guidelines applied.",
    json_schema={
        "type": "object",
        # Rationale first: a model writes the fields in this order, so it reads the row
        # and the guidelines before it commits to a score.
        "properties": {
            "rationale": {"type": "string", "description": "Why, in one to three sentences."},
            "score": {"type": "number", "description": "The score on the metric's scale."},
            "applied": {
                "type": "array",
                "items": {"type": "integer"},
                "description": "The numbers of the guidelines applied; [] when none.",
            },
        },
        "required": ["rationale", "score", "applied"],
        "additionalProperties": False,
    },
)

_MAX_APPLIED = 1_000  # more numbers than any prompt has guidelines: not an answer

_FRACTION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True, slots=True)
class Judgement:
    """A score on the scale, or an error saying why the answer could not be read.
    ``applied``: the numbers of the guidelines the judge said it applied (None when it did
    not say, or said it in a form that is not a list of whole numbers): a hint, not the
    truth, so a bad list never costs the row its score."""

    score: float | None
    rationale: str | None
    error: str | None = None
    applied: frozenset[int] | None = None


def read_judgement(reply: Reply, scale: Scale) -> Judgement:
    answer, problem = _answer_object(reply)
    if answer is None:
        return Judgement(None, None, problem)
    rationale = answer.get("rationale")
    rationale_text = rationale.strip() if isinstance(rationale, str) else None
    applied = read_applied(answer.get("applied"))
    if "score" not in answer:
        return Judgement(None, rationale_text, "the answer has no score", applied)
    try:
        score = read_score(answer["score"], scale)
    except ScaleError as error:
        return Judgement(None, rationale_text, str(error), applied)
    return Judgement(score, rationale_text, None, applied)


def read_applied(value: Any) -> frozenset[int] | None:
    """Guideline numbers from the answer's ``applied`` field: a list of whole numbers
    (as numbers or digit strings, all 1 or more); anything else is unknown (None)."""
    if not isinstance(value, list) or len(value) > _MAX_APPLIED:
        return None
    found: set[int] = set()
    for item in value:
        if isinstance(item, bool):
            return None
        if isinstance(item, int):
            number = item
        elif isinstance(item, float) and item.is_integer():
            number = int(item)
        elif isinstance(item, str) and item.strip().isdigit() and len(item.strip()) <= 6:
            number = int(item.strip())
        else:
            return None
        if number < 1:
            return None
        found.add(number)
    return frozenset(found)


def read_score(value: Any, scale: Scale) -> float:
    """The value as a point on ``scale``, or ScaleError."""
    if isinstance(value, bool) or value is None:
        raise ScaleError(f"the score {_shown(json.dumps(value), quote=False)} is not a number")
    if isinstance(value, int | float):
        return scale.check(value)
    if not isinstance(value, str):
        raise ScaleError(f"the score {_shown(json.dumps(value), quote=False)} is not a number")
    text = value.strip()
    number = _number(text)
    if number is not None:
        return scale.check(number)
    if (fraction := _FRACTION.match(text)) is not None:
        top, bottom = _number(fraction[1]), _number(fraction[2])
        if top is not None and bottom == scale.high:  # "4/5" on a 1–5 scale can only mean 4
            return scale.check(top)
        shown = f"{bottom:g}" if bottom is not None else "a huge number"
        raise ScaleError(f"the score {_shown(text)} is out of {shown}, not of {scale.describe()}")
    if scale.labels and len(text) <= max(map(len, scale.labels.values())):
        return scale.value_of(text)  # raises with the known labels (a longer text is none)
    raise ScaleError(f"the score {_shown(text)} is not a number on {scale.describe()}")


def _number(text: str) -> float | None:
    """The number written in text, or None; a written number too large for a float is
    refused as out of range (not read as infinity, nor as a label)."""
    try:
        number = float(text)
    except ValueError:
        return None
    if math.isinf(number) and "inf" not in text.lower():
        size = "large" if number > 0 else "small"
        raise ScaleError(f"the score {_shown(text)} is too {size}: outside the scale")
    return number if math.isfinite(number) else None


def _shown(text: str, *, quote: bool = True) -> str:
    """A score as quoted in an error, cut short: a reply may be huge."""
    cut = text if len(text) <= SCORE_MAX_CHARS else text[:SCORE_MAX_CHARS]
    shown = repr(cut) if quote else cut
    return shown if cut == text else f"{shown}… ({len(text):,} characters)"


def _answer_object(reply: Reply) -> tuple[dict[str, Any] | None, str]:
    if isinstance(reply.arguments, dict):
        return reply.arguments, ""
    if isinstance(reply.arguments, str):
        found, problem = find_answer(reply.arguments)
        if found is not None:
            return found, ""
        return None, problem or "the tool call's arguments are not a JSON object"
    if reply.text:
        found, problem = find_answer(reply.text)
        if found is not None:
            return found, ""
        return None, problem or "the answer holds no JSON object with a score"
    return None, "the model gave no answer"


def find_json_object(text: str) -> dict[str, Any] | None:
    """The answer object in text, or None (see ``find_answer``)."""
    return find_answer(text)[0]


def find_answer(text: str) -> tuple[dict[str, Any] | None, str]:
    """The answer object in text: the whole text, or the JSON objects in it (a fenced
    ```json block, or a balanced {...} among prose: the text fallback for servers with weak
    tool support). Returns (object, "") or (None, why): an answer that could mean two
    things is refused, never guessed: objects with different scores, or a list of answers.
    "" as the reason means no object was found at all."""
    if len(text) > JUDGE_REPLY_MAX_CHARS:
        return None, f"the answer is longer than {JUDGE_REPLY_MAX_CHARS:,} characters"
    values = [value for value in map(_loads, _top_level_spans(text)) if value is not _BAD]
    if any(
        isinstance(v, list) and any(isinstance(i, dict) and "score" in i for i in v) for v in values
    ):
        return None, "the answer is a list of objects, not one answer object"
    objects = [v for v in values if isinstance(v, dict)]
    scored = [o for o in objects if "score" in o]
    if len({_key(o["score"]) for o in scored}) > 1:
        return None, f"the answer holds {len(scored)} JSON objects with different scores"
    if scored:
        return scored[0], ""
    return (objects[0], "") if objects else (None, "")


_BAD = object()  # a span that is not JSON


def _loads(span: str) -> Any:
    try:
        return json.loads(span)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
        return _BAD


def _key(score: Any) -> str:
    """Scores compared as written, so that 4 and 4.0 count as one."""
    if isinstance(score, int | float) and not isinstance(score, bool):
        try:
            return repr(float(score))
        except OverflowError:
            return repr(score)
    return json.dumps(score, sort_keys=True)


_PAIRS = {"{": "}", "[": "]"}


def _top_level_spans(text: str) -> list[str]:
    """Each balanced {...} or [...] not inside another, in one pass (linear in the text,
    however deep or unbalanced it is). Quotes count only inside a span: prose outside may
    hold any. A mismatched closer abandons the span; an unclosed one is dropped."""
    spans: list[str] = []
    stack: list[str] = []
    start, in_string, escaped = 0, False, False
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char in _PAIRS:
            if not stack:
                start = index
            stack.append(_PAIRS[char])
        elif not stack:
            continue
        elif char == '"':
            in_string = True
        elif char in "}]":
            if char != stack.pop():
                stack.clear()
            elif not stack:
                spans.append(text[start : index + 1])
    return spans
