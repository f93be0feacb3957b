"""A model call in pydantic-ai's terms and back: the messages, settings and output
definition sent, and the reply read (text or tool arguments, tokens, cost), cleaned of what
a database cannot store; replies to and from the cache; errors described without secrets."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic_ai.messages import (
    ModelRequest,
    ModelResponse,
    SystemPromptPart,
    TextPart,
    ToolCallPart,
    UserPromptPart,
)
from pydantic_ai.models import ModelRequestParameters
from pydantic_ai.output import OutputObjectDefinition
from pydantic_ai.settings import ModelSettings
from pydantic_ai.tools import ToolDefinition

from rubricate.limits import REPLY_MAX_TOKENS
from rubricate.models import cost
from rubricate.models.cache import CachedReply
from rubricate.models.calls import ChatRequest, Reply
from rubricate.models.providers import ResolvedModel


def request_messages(request: ChatRequest) -> list[ModelRequest]:
    return [
        ModelRequest(
            parts=[SystemPromptPart(content=request.system), UserPromptPart(content=request.user)]
        )
    ]


def model_settings(request: ChatRequest, timeout: float) -> ModelSettings:
    settings: ModelSettings = {"timeout": timeout}
    if request.temperature is not None:
        settings["temperature"] = request.temperature
    if request.seed is not None:
        settings["seed"] = request.seed
    if request.max_tokens is not None:
        settings["max_tokens"] = request.max_tokens
    return settings


def request_parameters(resolved: ResolvedModel, request: ChatRequest) -> ModelRequestParameters:
    schema = request.schema
    if schema is None or resolved.output_mode == "text":
        return ModelRequestParameters(output_mode="text", allow_text_output=True)
    if resolved.output_mode == "json":
        definition = OutputObjectDefinition(
            json_schema=schema.json_schema, name=schema.name, description=schema.description
        )
        return ModelRequestParameters(output_mode="native", output_object=definition)
    tool = ToolDefinition(
        name=schema.name, description=schema.description, parameters_json_schema=schema.json_schema
    )
    # Text stays allowed: a weak server may answer in text, which the caller then reads.
    return ModelRequestParameters(output_mode="tool", output_tools=[tool], allow_text_output=True)


def read_reply(
    resolved: ResolvedModel, response: ModelResponse, latency: float, attempts: int
) -> Reply:
    texts = [part.content for part in response.parts if isinstance(part, TextPart)]
    calls = [part for part in response.parts if isinstance(part, ToolCallPart)]
    arguments: dict[str, Any] | str | None = None
    if calls:
        given = calls[0].args
        arguments = clean(given if isinstance(given, str) else dict(given or {}))
    text = clean("".join(texts)) if texts else None
    input_tokens = _tokens(response.usage.input_tokens if response.usage else None)
    output_tokens = _tokens(response.usage.output_tokens if response.usage else None)
    price = cost.price(
        resolved.price_provider, resolved.name.model, input_tokens or 0, output_tokens or 0
    )
    return Reply(
        text=text,
        arguments=arguments,
        raw=_raw(text, arguments),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=price,
        latency_s=latency,
        attempts=attempts,
    )


def _raw(text: str | None, arguments: dict[str, Any] | str | None) -> str:
    pieces = []
    if arguments is not None:
        pieces.append(arguments if isinstance(arguments, str) else json.dumps(arguments))
    if text:
        pieces.append(text)
    return "\n".join(pieces)


def to_cache(reply: Reply) -> CachedReply:
    return CachedReply(
        {"text": reply.text, "arguments": reply.arguments},
        reply.input_tokens,
        reply.output_tokens,
        reply.cost_usd,
    )


def clean(value: Any) -> Any:
    """A reply's text (or its strings, in a tool call's arguments) as every database stores
    it: a lone surrogate (SQLite cannot encode it) becomes U+FFFD, a NUL (PostgreSQL refuses
    it) is dropped. Replies enter here, so one odd reply never aborts a run."""
    if isinstance(value, str):
        # Inside JSON escapes too (``\\ud800``, ``\\u0000``): the answer is parsed later.
        value = _ESCAPES.sub(_clean_escape, value)
        if value.isascii():
            return value.replace("\x00", "")
        text = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return text.replace("\x00", "")
    if isinstance(value, dict):
        return {clean(key): clean(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clean(item) for item in value]
    return value


_ESCAPES = re.compile(
    r"(?<!\\)((?:\\\\)*)"  # an even run of backslashes: the next one starts an escape
    r"(?:(\\u[dD][89abAB][0-9a-fA-F]{2})(\\u[dD][c-fC-F][0-9a-fA-F]{2})?"
    r"|\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u0000)"
)


def _clean_escape(match: re.Match[str]) -> str:
    backslashes, high, low = match.group(1), match.group(2), match.group(3)
    if high and low:
        return match.group(0)  # a valid pair
    if match.group(0).endswith("\\u0000"):
        return backslashes
    return backslashes + "\\ufffd"


def sends_of(stored: CachedReply) -> int:
    """How many times a journaled reply's request went out (1 for replies stored before
    journals counted sends)."""
    sends = stored.reply.get("sends", 1)
    return sends if isinstance(sends, int) and sends > 0 else 1


def _tokens(count: int | None) -> int | None:
    """A reply's claimed token count, clamped to what one reply can be (see limits)."""
    return None if count is None else min(max(count, 0), REPLY_MAX_TOKENS)


def from_cache(hit: CachedReply) -> Reply:
    # Cleaned again: a journal or cache written before replies were cleaned replays as is.
    text, arguments = clean(hit.reply.get("text")), clean(hit.reply.get("arguments"))
    return Reply(
        text=text,
        arguments=arguments,
        raw=_raw(text, arguments),
        input_tokens=_tokens(hit.input_tokens),
        output_tokens=_tokens(hit.output_tokens),
        cost_usd=hit.cost_usd,
        latency_s=0.0,
        cached=True,
        attempts=0,
    )


def describe_error(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "the model call timed out"
    status = getattr(error, "status_code", None)
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    return f"HTTP {status}: {message}" if status else message


def fatal_message(resolved: ResolvedModel, error: BaseException) -> str:
    status = getattr(error, "status_code", None)
    if status in {401, 403} or "Authentication" in type(error).__name__:
        return (
            f"{resolved.name}: {resolved.where} refused the key (HTTP {status}); "
            "check the key variable for this provider"
        )
    if status == 404 or "NotFound" in type(error).__name__:
        return f"{resolved.name}: {resolved.where} does not know the model {resolved.name.model!r}"
    return (
        f"{resolved.name}: cannot reach {resolved.where}; is the server running? "
        "(set OPENAI_BASE_URL or the endpoint's base_url to where it listens)"
    )
