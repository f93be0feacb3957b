"""Wire formats of the fake OpenAI server: reading requests and building replies.

Request bodies are read leniently (anything the real API accepts should not crash the
fake); replies follow the types of the installed `openai` SDK (`openai.types.chat.
ChatCompletion`, `openai.types.responses.Response`, `openai.types.Model`) closely enough
that the SDK validates them with `_strict_response_validation=True`.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]

VOLATILE_FIELDS = frozenset(
    {
        "user",
        "safety_identifier",
        "metadata",
        "prompt_cache_key",
        "prompt_cache_retention",
        "store",
        "stream",
        "stream_options",
    }
)
"""Body fields left out of a request's key: they do not change what is asked."""

_MESSAGE_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})


def request_key(body: Json) -> str:
    """A stable hash of a request body without its volatile fields (key order does not matter)."""
    kept = {k: v for k, v in body.items() if k not in VOLATILE_FIELDS}
    canonical = json.dumps(kept, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def estimate_tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: about four characters a token."""
    return max(1, len(text) // 4)


# --- reading requests --------------------------------------------------------------------


def text_of(content: object) -> str:
    """The plain text of a message content: a string, or a list of parts with `text`."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts: list[str] = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict):
                text = part.get("text", part.get("refusal"))
                if isinstance(text, str):
                    texts.append(text)
        return "\n".join(texts)
    return ""


def chat_messages(body: Json) -> list[dict[str, str]]:
    messages: list[dict[str, str]] = []
    for message in _list(body.get("messages")):
        role = message.get("role")
        if role == "function":
            role = "tool"
        if role in _MESSAGE_ROLES:
            messages.append({"role": role, "content": text_of(message.get("content"))})
    return messages


def responses_messages(body: Json) -> list[dict[str, str]]:
    """Messages of a Responses request: `instructions` becomes a leading system message."""
    messages: list[dict[str, str]] = []
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        messages.append({"role": "system", "content": instructions})
    items = body.get("input")
    if isinstance(items, str):
        messages.append({"role": "user", "content": items})
        return messages
    for item in _list(items):
        kind = item.get("type", "message")
        role = item.get("role")
        if kind == "message" and role in _MESSAGE_ROLES:
            messages.append({"role": role, "content": text_of(item.get("content"))})
        elif kind == "function_call_output":
            messages.append({"role": "tool", "content": text_of(item.get("output"))})
    return messages


def chat_tool_names(body: Json) -> list[str]:
    names: list[str] = []
    for tool in _list(body.get("tools")):
        function = tool.get("function")
        if tool.get("type") == "function" and isinstance(function, dict):
            name = function.get("name")
            if isinstance(name, str):
                names.append(name)
    return names


def responses_tool_names(body: Json) -> list[str]:
    return [
        tool["name"]
        for tool in _list(body.get("tools"))
        if tool.get("type") == "function" and isinstance(tool.get("name"), str)
    ]


def chat_wants_json(body: Json) -> bool:
    return _is_json_format(body.get("response_format"))


def responses_wants_json(body: Json) -> bool:
    text = body.get("text")
    return isinstance(text, dict) and _is_json_format(text.get("format"))


def _is_json_format(value: object) -> bool:
    return isinstance(value, dict) and value.get("type") in {"json_schema", "json_object"}


def _list(value: object) -> list[Json]:
    """The dict items of a JSON list (anything else is ignored)."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


# --- building replies --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """What one reply says, in either API: text, or one call of ``tool`` (name,
    arguments); ``number`` makes its ids."""

    number: int
    model: str
    text: str | None
    tool: tuple[str, str] | None
    input_tokens: int
    output_tokens: int


def reply_body(api: str, body: Json, answer: Answer) -> Json:
    """The reply of `api` ("chat" or "responses") to the request `body`."""
    if api == "chat":
        return chat_completion(answer)
    return responses_response(answer, body)


def chat_completion(answer: Answer) -> Json:
    """A `chat.completion` with text content or one call of a tool."""
    message: Json = {"role": "assistant", "content": answer.text, "refusal": None}
    if answer.tool is not None:
        name, arguments = answer.tool
        message["tool_calls"] = [
            {
                "id": f"call_fake{answer.number:06d}",
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
        ]
    return {
        "id": f"chatcmpl-fake{answer.number:06d}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": answer.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "stop" if answer.tool is None else "tool_calls",
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": answer.input_tokens,
            "completion_tokens": answer.output_tokens,
            "total_tokens": answer.input_tokens + answer.output_tokens,
        },
        "system_fingerprint": "fake",
    }


def responses_response(answer: Answer, body: Json) -> Json:
    """A `response` object (status completed) with one output message or one function call."""
    output: Json
    if answer.tool is None:
        output = {
            "type": "message",
            "id": f"msg_fake{answer.number:06d}",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": answer.text or "", "annotations": []}],
        }
    else:
        name, arguments = answer.tool
        output = {
            "type": "function_call",
            "id": f"fc_fake{answer.number:06d}",
            "call_id": f"call_fake{answer.number:06d}",
            "name": name,
            "arguments": arguments,
            "status": "completed",
        }
    now = time.time()
    instructions = body.get("instructions")
    return {
        "id": f"resp_fake{answer.number:06d}",
        "object": "response",
        "created_at": now,
        "completed_at": now,
        "status": "completed",
        "model": answer.model,
        "output": [output],
        "error": None,
        "incomplete_details": None,
        "instructions": instructions if isinstance(instructions, str) else None,
        "metadata": body.get("metadata") or {},
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "temperature": body.get("temperature"),
        "top_p": body.get("top_p"),
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "text": body.get("text") or {"format": {"type": "text"}},
        "usage": {
            "input_tokens": answer.input_tokens,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": answer.output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": answer.input_tokens + answer.output_tokens,
        },
    }


def models_list(models: tuple[str, ...]) -> Json:
    return {
        "object": "list",
        "data": [
            {"id": m, "object": "model", "created": 0, "owned_by": "rubricate"} for m in models
        ],
    }


_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", None),
    404: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
}


def error_body(status: int, message: str, *, code: str | None = None) -> Json:
    """The OpenAI error object: `{"error": {"message", "type", "param", "code"}}`."""
    kind, default_code = _ERROR_TYPES.get(status, ("server_error", None))
    return {
        "error": {"message": message, "type": kind, "param": None, "code": code or default_code}
    }


MALFORMED_BODY = b'{"id": "chatcmpl-fake", "object": "chat.completion", "choices": [{"index": 0, '
"""The body of a `malformed` fault: a JSON reply cut short."""
