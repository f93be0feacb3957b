"""What the connector reads of Langfuse's answers (scores, score configs, traces), as
pydantic models of the public API's shapes, and how they become rubricate's: a trace's
input and output as text, a score config as a scale."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import AliasGenerator, BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from rubricate.domain.errors import InvalidInput
from rubricate.domain.scale import Scale
from rubricate.limits import SCALE_MAX_POINTS

ANNOTATION, API, EVAL = "ANNOTATION", "API", "EVAL"
NUMERIC, CATEGORICAL, BOOLEAN = "NUMERIC", "CATEGORICAL", "BOOLEAN"
BOOLEAN_LABELS = {0.0: "False", 1.0: "True"}  # Langfuse's stringValue of a boolean score
TEXT_KEYS = ("messages", "input", "query", "question", "prompt", "output", "answer", "text")


class _Read(BaseModel):
    """camelCase on the wire; fields this connector does not use are ignored."""

    model_config = ConfigDict(
        extra="ignore", frozen=True, alias_generator=AliasGenerator(validation_alias=to_camel)
    )


class LfScore(_Read):
    id: str
    trace_id: str | None = None  # None: a session's or a dataset run's score
    observation_id: str | None = None
    name: str
    source: str
    data_type: str = NUMERIC
    value: float | None = None
    string_value: str | None = None
    author_user_id: str | None = None
    comment: str | None = None
    config_id: str | None = None
    timestamp: datetime
    metadata: Any = None

    @property
    def rubricate(self) -> dict[str, Any]:
        """What rubricate's own export wrote into the metadata (the metric and version)."""
        found = self.metadata if isinstance(self.metadata, dict) else {}
        return {k: v for k, v in found.items() if k.startswith("rubricate_")}


class LfCategory(_Read):
    value: float
    label: str


class LfConfig(_Read):
    id: str
    name: str
    data_type: str
    is_archived: bool = False
    min_value: float | None = None
    max_value: float | None = None
    categories: list[LfCategory] | None = None
    description: str | None = None


class LfTrace(_Read):
    id: str
    timestamp: datetime | None = None
    name: str | None = None
    input: Any = None
    output: Any = None
    session_id: str | None = None
    user_id: str | None = None
    release: str | None = None
    version: str | None = None
    tags: list[str] | None = None
    metadata: Any = None
    html_path: str | None = None


def parse(model: type[_Read], found: dict[str, Any], what: str) -> Any:
    """One object of an answer, or an error naming it and its field."""
    try:
        return model.model_validate(found)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        raise InvalidInput(
            f"Langfuse answered an unexpected {what}: {first['msg']}", file=what, field=field
        ) from None


# -- traces as rows -----------------------------------------------------------------------


def as_text(value: Any) -> str | None:
    """A trace's input or output as the text a judge reads: text as it is; a message list
    as its one message's text, or 'role: text' paragraphs; an object with one text field
    (or messages, input, query, ...) as that; anything else as indented JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, dict):
        texts = [v for v in value.values() if isinstance(v, str)]
        if len(value) == 1 and texts:
            return as_text(texts[0])
        for key in TEXT_KEYS:
            if key in value and (found := as_text(value[key])) is not None:
                return found
        if "role" in value and "content" in value:
            return _message_body(value)
    if isinstance(value, list) and value and all(_is_message(m) for m in value):
        parts = [(str(m.get("role") or ""), _message_body(m)) for m in value]
        if len(parts) == 1:
            return parts[0][1]
        return "\n\n".join(f"{role}: {body}" if role else body for role, body in parts)
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)


def _is_message(value: Any) -> bool:
    return isinstance(value, dict) and "content" in value


def _message_body(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # parts: text parts as text, others as compact JSON
        return "\n".join(
            str(part.get("text", ""))
            if isinstance(part, dict) and part.get("type") == "text"
            else json.dumps(part, ensure_ascii=False, sort_keys=True)
            for part in content
        )
    return "" if content is None else json.dumps(content, ensure_ascii=False, sort_keys=True)


def trace_metadata(trace: LfTrace) -> dict[str, Any]:
    """The row's metadata: where it came from in Langfuse (and the trace's own metadata when
    it is an object), so an export can send scores back to the trace."""
    found: dict[str, Any] = {"trace_id": trace.id}
    extra = {
        "name": trace.name, "session_id": trace.session_id, "user_id": trace.user_id,
        "release": trace.release, "version": trace.version, "tags": trace.tags or None,
        "timestamp": trace.timestamp.isoformat() if trace.timestamp else None,
    }  # fmt: skip
    found |= {key: value for key, value in extra.items() if value is not None}
    metadata: dict[str, Any] = {"langfuse": found}
    if isinstance(trace.metadata, dict) and trace.metadata:
        metadata["trace_metadata"] = trace.metadata
    return metadata


# -- score configs as scales ----------------------------------------------------------------


def config_scale(config: LfConfig, values: list[float]) -> Scale:
    """The scale a score config defines: NUMERIC with a range (ordinal when its bounds and
    every score read are whole numbers, else interval), CATEGORICAL (its categories as
    labels) or BOOLEAN (False/True)."""
    where = f"Langfuse score config {config.name!r}"
    if config.data_type == BOOLEAN:
        return Scale(type="labels", labels=BOOLEAN_LABELS)
    if config.data_type == CATEGORICAL:
        labels = {c.value: c.label for c in config.categories or []}
        if len(labels) < 2:
            raise InvalidInput(f"{where} has fewer than two categories: no scale to score on")
        return _scale(where, type="labels", labels=labels)
    low, high = config.min_value, config.max_value
    if low is None or high is None:
        raise InvalidInput(
            f"{where} has no minimum and maximum: give it both in Langfuse, or create the "
            "metric with its scale first (rubricate metrics create NAME --scale LOW-HIGH ...)"
        )
    whole = all(float(v).is_integer() for v in (low, high, *values))
    points = high - low + 1
    kind = "ordinal" if whole and points <= SCALE_MAX_POINTS else "interval"
    return _scale(where, type=kind, min=low, max=high)


def _scale(where: str, **fields: Any) -> Scale:
    try:
        return Scale.model_validate(fields)
    except ValidationError as exc:
        message = exc.errors(include_url=False)[0]["msg"].removeprefix("Value error, ")
        raise InvalidInput(f"{where} gives no usable scale: {message}") from None
