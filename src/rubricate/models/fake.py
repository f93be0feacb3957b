"""The in-process fake provider: ``fake:NAME`` calls a function registered under NAME.
It goes through the same call path as real models (pydantic-ai's FunctionModel under the
client's retries, limits, cache and cost), so tests exercise the real code."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    SystemPromptPart,
    TextPart,
    ToolCallPart,
    UserPromptPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel

from rubricate.domain.errors import Unavailable


@dataclass(frozen=True, slots=True)
class FakeCall:
    """What the fake model was asked."""

    system: str
    user: str
    tool_names: tuple[str, ...]
    settings: dict[str, Any]


# A reply: a dict is a tool call's arguments, a str is text, an exception is raised.
FakeReply = dict[str, Any] | str | BaseException
Responder = Callable[[FakeCall], FakeReply]


@dataclass
class FakeModel:
    responder: Responder
    latency: float = 0.0
    output_mode: Literal["tool", "json", "text"] = "tool"
    calls: list[FakeCall] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0


_registry: dict[str, FakeModel] = {}
_lock = threading.Lock()


def register(
    name: str,
    responder: Responder,
    *,
    latency: float = 0.0,
    output_mode: Literal["tool", "json", "text"] = "tool",
) -> FakeModel:
    """Make ``fake:NAME`` answer with ``responder``; returns the record of its calls."""
    fake = FakeModel(responder, latency, output_mode)
    with _lock:
        _registry[name] = fake
    return fake


def unregister(name: str) -> None:
    with _lock:
        _registry.pop(name, None)


@contextmanager
def registered(name: str, responder: Responder, **options: Any) -> Iterator[FakeModel]:
    fake = register(name, responder, **options)
    try:
        yield fake
    finally:
        unregister(name)


def scripted(replies: Sequence[FakeReply]) -> Responder:
    """A responder that gives ``replies`` in order, then repeats the last one."""
    queue = list(replies)
    lock = threading.Lock()

    def respond(_: FakeCall) -> FakeReply:
        with lock:
            return queue.pop(0) if len(queue) > 1 else queue[0]

    return respond


def _get(name: str) -> FakeModel:
    with _lock:
        fake = _registry.get(name)
    if fake is None:
        raise Unavailable(f"no fake model named {name!r} is registered")
    return fake


def output_mode(name: str) -> Literal["tool", "json", "text"]:
    return _get(name).output_mode


def model(name: str) -> FunctionModel:
    fake = _get(name)

    async def answer(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        call = FakeCall(
            system="\n".join(_parts(messages, SystemPromptPart)),
            user="\n".join(_parts(messages, UserPromptPart)),
            tool_names=tuple(tool.name for tool in info.output_tools),
            settings=dict(info.model_settings or {}),
        )
        fake.calls.append(call)
        fake.in_flight += 1
        fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
        try:
            if fake.latency:
                await asyncio.sleep(fake.latency)
            reply = fake.responder(call)
        finally:
            fake.in_flight -= 1
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, dict):
            tool = call.tool_names[0] if call.tool_names else "final_result"
            return ModelResponse(parts=[ToolCallPart(tool_name=tool, args=reply)])
        return ModelResponse(parts=[TextPart(content=reply)])

    return FunctionModel(answer, model_name=f"fake-{name}")


def _parts(
    messages: list[ModelMessage], kind: type[SystemPromptPart | UserPromptPart]
) -> Iterator[str]:
    for message in messages:
        if isinstance(message, ModelRequest):
            for part in message.parts:
                if isinstance(part, kind) and isinstance(part.content, str):
                    yield part.content
