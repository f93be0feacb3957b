"""GenAI spans as rows: where a span's input, output and retrieved context are written,
under the OpenTelemetry GenAI conventions (``gen_ai.input.messages`` /
``gen_ai.output.messages``, the older ``gen_ai.prompt`` / ``gen_ai.completion``, plain or
flattened as ``gen_ai.prompt.0.content``) and OpenInference's (``input.value``,
``output.value``, ``llm.input_messages.0.message.content``,
``retrieval.documents.0.document.content``), as Phoenix writes them."""

from __future__ import annotations

import json
import re
from typing import Any

from rubricate.io.otel_records import Span, attributes, finite

ROW_ID = re.compile(r"([0-9a-f]{32})-([0-9a-f]{16})")
# Span events whose attributes carry the content (older and newer GenAI conventions).
CONTENT_EVENTS = (
    "gen_ai.content.prompt",
    "gen_ai.content.completion",
    "gen_ai.client.inference.operation.details",
)
# Attributes that hold content (kept out of a row's metadata: they are its input/output).
CONTENT_PREFIXES = (
    "gen_ai.prompt", "gen_ai.completion", "gen_ai.input.messages", "gen_ai.output.messages",
    "gen_ai.system_instructions", "gen_ai.tool.definitions", "input.", "output.",
    "llm.input_messages", "llm.output_messages", "llm.prompts", "retrieval.documents",
)  # fmt: skip
MODEL_KEYS = ("gen_ai.response.model", "gen_ai.request.model", "llm.model_name")
METADATA_MAX_ATTRIBUTES = 40
METADATA_MAX_CHARS = 200


def row_id(trace_id: str, span_id: str) -> str:
    """A span's row id: its trace id and span id in hex, joined by '-'."""
    return f"{trace_id}-{span_id}"


def span_of(row: str) -> tuple[str, str] | None:
    """(trace id, span id) of a row that came from a span; None for any other row."""
    found = ROW_ID.fullmatch(row)
    return (found.group(1), found.group(2)) if found else None


def span_attributes(span: Span) -> dict[str, Any]:
    """The span's attributes, with those of its content events where the span lacks them."""
    found = attributes(span.attributes)
    for event in span.events:
        if event.name in CONTENT_EVENTS:
            for key, value in attributes(event.attributes).items():
                found.setdefault(key, value)
    return found


def input_text(found: dict[str, Any]) -> str | None:
    return _first_text(
        found, "gen_ai.input.messages", "gen_ai.prompt", "input.value", "llm.input_messages"
    )


def output_text(found: dict[str, Any]) -> str | None:
    return _first_text(
        found, "gen_ai.output.messages", "gen_ai.completion", "output.value", "llm.output_messages"
    )


def context_text(found: dict[str, Any]) -> str | None:
    """Retrieved documents (OpenInference), one paragraph each."""
    documents = _flattened(found, "retrieval.documents")
    texts = [_text((d.get("document") or {}).get("content")) for d in documents]
    joined = "\n\n".join(t for t in texts if t)
    return joined or None


def model_of(found: dict[str, Any]) -> str | None:
    return next((str(found[k]) for k in MODEL_KEYS if isinstance(found.get(k), str)), None)


def small_attributes(found: dict[str, Any]) -> dict[str, Any]:
    """Scalar attributes other than content, texts cut short, at most a few dozen."""
    kept: dict[str, Any] = {}
    for key in sorted(found):
        value = found[key]
        if key.startswith(CONTENT_PREFIXES) or not isinstance(value, str | int | float | bool):
            continue
        if not finite(value):
            continue
        kept[key] = value[:METADATA_MAX_CHARS] if isinstance(value, str) else value
        if len(kept) == METADATA_MAX_ATTRIBUTES:
            break
    return kept


def _first_text(found: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = found.get(key)
        if value is None and key != "input.value" and key != "output.value":
            flattened = _flattened(found, key)
            value = [m.get("message", m) for m in flattened] if flattened else None
        text = _messages_text(value)
        if text is not None:
            return text
    return None


def _flattened(found: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """``prefix.0.role``, ``prefix.0.content``, ... as a list of nested dicts."""
    items: dict[int, dict[str, Any]] = {}
    start = prefix + "."
    for key, value in found.items():
        if not key.startswith(start):
            continue
        index, _, rest = key[len(start) :].partition(".")
        if not index.isdigit() or not rest:
            continue
        node = items.setdefault(int(index), {})
        *parents, last = rest.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            node = child if isinstance(child, dict) else {}
        node[last] = value
    return [items[i] for i in sorted(items)]


def _messages_text(value: Any) -> str | None:
    """A message list (JSON text or structured) as text: one message's text alone, many as
    'role: text' paragraphs; any other text as it is."""
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        if not isinstance(parsed, list | dict):
            return value
        value = parsed
    if isinstance(value, dict):
        value = value.get("messages", [value])
    if not isinstance(value, list):
        return None if value is None else str(value)
    messages = [m for m in value if isinstance(m, dict)]
    if not messages:
        return json.dumps(value, ensure_ascii=False) if value else None
    parts = [(str(m.get("role", "")), _message_body(m)) for m in messages]
    if len(parts) == 1:
        return parts[0][1]
    return "\n\n".join(f"{role}: {body}" if role else body for role, body in parts)


def _message_body(message: dict[str, Any]) -> str:
    if "parts" in message and isinstance(message["parts"], list):
        return "\n".join(_part_text(p) for p in message["parts"])
    return _text(message.get("content")) or ""


def _part_text(part: Any) -> str:
    if isinstance(part, dict) and part.get("type") == "text":
        return _text(part.get("content", part.get("text"))) or ""
    return json.dumps(part, ensure_ascii=False, sort_keys=True)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):  # content as a list of parts
        return "\n".join(_part_text(p) for p in value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
