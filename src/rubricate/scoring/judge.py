"""The judge's answer: the schema asked for, and reading what came back against the
metric's scale. Odd answers are handled on purpose: a quoted number, a label or a fraction
like "4/5" is mapped when it can mean one thing only; anything else becomes that row's error
with the raw output kept. Nothing is ever stored as 0 or as a pass by default."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from rubricate.domain.scale import Scale, ScaleError
from rubricate.models.client import OutputSchema, Reply

JUDGE_SCHEMA = OutputSchema(
    name="final_result",
    description="Give the score for the row and a short rationale.",
    json_schema={
        "type": "object",
        "properties": {
            "score": {"type": "number", "description": "The score on the metric's scale."},
            "rationale": {"type": "string", "description": "Why, in one to three sentences."},
        },
        "required": ["score", "rationale"],
        "additionalProperties": False,
    },
)

_FENCED_JSON = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.DOTALL | re.IGNORECASE)
_FRACTION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True, slots=True)
class Judgement:
    """A score on the scale, or an error saying why the answer could not be read."""

    score: float | None
    rationale: str | None
    error: str | None = None


def read_judgement(reply: Reply, scale: Scale) -> Judgement:
    answer, problem = _answer_object(reply)
    if answer is None:
        return Judgement(None, None, problem)
    rationale = answer.get("rationale")
    rationale_text = rationale.strip() if isinstance(rationale, str) else None
    if "score" not in answer:
        return Judgement(None, rationale_text, "the answer has no score")
    try:
        score = read_score(answer["score"], scale)
    except ScaleError as error:
        return Judgement(None, rationale_text, str(error))
    return Judgement(score, rationale_text)


def read_score(value: Any, scale: Scale) -> float:
    """The value as a point on ``scale``, or ScaleError."""
    if isinstance(value, bool) or value is None:
        raise ScaleError(f"the score {json.dumps(value)} is not a number")
    if isinstance(value, int | float):
        return scale.check(value)
    if not isinstance(value, str):
        raise ScaleError(f"the score {json.dumps(value)} is not a number")
    text = value.strip()
    number = _number(text)
    if number is not None:
        return scale.check(number)
    if (fraction := _FRACTION.match(text)) is not None:
        top, bottom = float(fraction[1]), float(fraction[2])
        if bottom == scale.high:  # "4/5" on a 1–5 scale can only mean 4
            return scale.check(top)
        raise ScaleError(f"the score {text!r} is out of {bottom:g}, not of {scale.describe()}")
    if scale.labels:
        return scale.value_of(text)  # raises with the known labels
    raise ScaleError(f"the score {text!r} is not a number on {scale.describe()}")


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _answer_object(reply: Reply) -> tuple[dict[str, Any] | None, str]:
    if isinstance(reply.arguments, dict):
        return reply.arguments, ""
    if isinstance(reply.arguments, str):
        found = find_json_object(reply.arguments)
        if found is not None:
            return found, ""
        return None, "the tool call's arguments are not a JSON object"
    if reply.text:
        found = find_json_object(reply.text)
        if found is not None:
            return found, ""
        return None, "the answer holds no JSON object with a score"
    return None, "the model gave no answer"


def find_json_object(text: str) -> dict[str, Any] | None:
    """The answer object in text: the whole text, a fenced ```json block, or the first
    balanced {...} in it (the text fallback for servers with weak tool support)."""
    candidates = [text.strip()]
    candidates += [m[1] for m in _FENCED_JSON.finditer(text)]
    start = text.find("{")
    if start >= 0:
        candidates.append(_balanced(text, start))
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except (json.JSONDecodeError, ValueError):
            continue
        if isinstance(value, dict):
            return value
    return None


def _balanced(text: str, start: int) -> str:
    depth, in_string, escaped = 0, False, False
    for index in range(start, len(text)):
        char = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[start : index + 1]
    return text[start:]
