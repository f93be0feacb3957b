"""``gen_ai.evaluation.result`` events as judge results or annotations.

The event (a log record, or a span event of the judged span) is tied to the judged span by
its trace and span id. Which kind it becomes is decided by its source:

- ``gen_ai.evaluation.source`` (or Phoenix's ``annotator_kind``) ``human``, ``annotation``,
  ``annotator`` or ``reviewer``: an annotation by ``gen_ai.evaluation.annotator`` (else
  ``user.id``, else ``user.name``; one of them is required);
- ``llm``, ``llm_judge``, ``judge``, ``code``, ``evaluator``, ``eval`` or ``api``, or no source
  at all (the conventions define the event for evaluators): a judge result, its model from
  ``gen_ai.response.model`` or ``gen_ai.request.model``.

The score is ``gen_ai.evaluation.score.value``; ``gen_ai.evaluation.score.label`` is read
only when there is no value (evaluators often label a number with a word of their own).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from rubricate.domain.errors import InvalidInput
from rubricate.io.otel_records import finite
from rubricate.io.otel_spans import row_id
from rubricate.io.records import FlatAnnotation, FlatJudgeResult

EVALUATION_EVENT = "gen_ai.evaluation.result"
NAME = "gen_ai.evaluation.name"
SCORE = "gen_ai.evaluation.score.value"
LABEL = "gen_ai.evaluation.score.label"
EXPLANATION = "gen_ai.evaluation.explanation"
SOURCE_KEYS = ("gen_ai.evaluation.source", "annotator_kind")
ANNOTATOR_KEYS = ("gen_ai.evaluation.annotator", "user.id", "user.name")
MODEL_KEYS = ("gen_ai.response.model", "gen_ai.request.model")
VERSION = "rubricate.metric.version"  # written by export: the metric version that scored
HUMAN = ("human", "annotation", "annotator", "reviewer")
JUDGE = ("llm", "llm_judge", "judge", "code", "evaluator", "eval", "api")
# The record's fields as the event's attributes name them, for messages.
ATTRIBUTE_OF = {
    "annotator": ANNOTATOR_KEYS[0], "score": SCORE, "label": LABEL, "comment": EXPLANATION,
    "rationale": EXPLANATION, "model": MODEL_KEYS[1], "metric_version": VERSION,
    "metric": NAME, "error": "error.type",
}  # fmt: skip
Fail = Callable[[str, str | None], InvalidInput]  # (message, attribute) -> the error
Evaluation = FlatAnnotation | FlatJudgeResult


def evaluation_of(
    found: dict[str, Any], trace_id: str | None, span_id: str | None, fail: Fail
) -> Evaluation:
    """The judge result or annotation an event's attributes give, for the span it names."""
    if trace_id is None or span_id is None:
        raise fail("the event is not tied to a span: it needs traceId and spanId", None)
    name = found.get(NAME)
    if not isinstance(name, str) or not name:
        raise fail("the evaluation's name is missing", NAME)
    score, label = _score(found, fail)
    fields: dict[str, Any] = {
        "row_id": row_id(trace_id, span_id), "metric": name, "score": score, "label": label,
    }  # fmt: skip
    explanation = _text(found, EXPLANATION, fail)
    if _is_human(found, fail):
        annotator = next((found[k] for k in ANNOTATOR_KEYS if found.get(k)), None)
        if annotator is None:
            keys = ", ".join(ANNOTATOR_KEYS)
            raise fail(f"a reviewer's evaluation names its reviewer (one of {keys})", None)
        fields |= {"annotator": str(annotator), "comment": explanation}
        return _validated(FlatAnnotation, fields, fail)
    model = next((found[k] for k in MODEL_KEYS if isinstance(found.get(k), str)), None)
    fields |= {"rationale": explanation, "model": model}
    if score is None and label is None and found.get("error.type"):
        fields["error"] = str(found["error.type"])
    if found.get(VERSION) is not None:
        fields["metric_version"] = found[VERSION]
    return _validated(FlatJudgeResult, fields, fail)


def _score(found: dict[str, Any], fail: Fail) -> tuple[float | None, str | None]:
    value = found.get(SCORE)
    if value is not None:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise fail(f"expected a number (got {value!r})", SCORE)
        try:
            number = float(value)
        except ValueError:
            raise fail(f"expected a number (got {value!r})", SCORE) from None
        if not finite(number):
            raise fail(f"{value} is not a finite number", SCORE)
        return number, None
    return None, _text(found, LABEL, fail)


def _text(found: dict[str, Any], key: str, fail: Fail) -> str | None:
    value = found.get(key)
    if value is not None and not isinstance(value, str):
        raise fail(f"expected text (got {value!r})", key)
    return value or None


def _is_human(found: dict[str, Any], fail: Fail) -> bool:
    key = next((k for k in SOURCE_KEYS if found.get(k) is not None), None)
    if key is None:
        return False
    source = str(found[key]).strip().lower().replace("-", "_")
    if source in HUMAN or source in JUDGE:
        return source in HUMAN
    raise fail(
        f"unknown source {found[key]!r}: use one of {', '.join(HUMAN)} (an annotation) or "
        f"{', '.join(JUDGE)} (a judge result)",
        key,
    )


def _validated(model: type[Evaluation], fields: dict[str, Any], fail: Fail) -> Evaluation:
    try:
        return model.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = str(first["loc"][0]) if first["loc"] else None
        message = first["msg"].removeprefix("Value error, ")
        raise fail(message, ATTRIBUTE_OF.get(field or "", field)) from None
