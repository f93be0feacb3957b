"""What the fake OpenAI server is asked and answers: a request as it saw it, a reply, a
planned fault, and the default judge-like responder (see fake_openai.py)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

Api = Literal["chat", "responses"]
HANG_SECONDS = 3600.0
MAX_RECORDED_REQUESTS = 10_000
DEFAULT_MODELS = ("fake-judge",)


@dataclass(frozen=True)
class Fault:
    """What to do instead of answering: exactly one of `status`, `hang` and `malformed`.

    `status`: reply with that HTTP error and an OpenAI error body (`message`, `code` override
    the defaults); `retry_after` (seconds) sets the `Retry-After` header. `hang`: answer
    nothing for an hour (until the client gives up or the server stops). `malformed`: 200
    with a body that is not valid JSON. The fault applies only to requests whose last user
    message contains `when_contains` (when given), `times` times (None: forever).
    """

    status: int | None = None
    retry_after: float | None = None
    hang: bool = False
    malformed: bool = False
    when_contains: str | None = None
    times: int | None = 1
    message: str | None = None
    code: str | None = None

    def __post_init__(self) -> None:
        if (self.status is not None) + self.hang + self.malformed != 1:
            raise ValueError("a Fault needs exactly one of status=..., hang=True, malformed=True")
        if self.status is not None and not 400 <= self.status <= 599:
            raise ValueError(f"a Fault status must be an HTTP error (400-599), not {self.status}")
        if self.retry_after is not None and (self.status is None or self.retry_after < 0):
            raise ValueError("retry_after needs a status and must not be negative")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1 (or None for forever)")

    @classmethod
    def from_json(cls, data: object) -> Fault:
        """A fault from its JSON object (the fields of this class); ValueError when invalid."""
        if not isinstance(data, dict):
            raise ValueError(f"a fault must be a JSON object, not {data!r}")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ValueError(str(exc)) from None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FakeRequest:
    """A request to the model API, normalized from either API for responders and tests.

    `messages` are `{"role", "content"}` plain-text dicts (roles system, developer, user,
    assistant, tool; a Responses `instructions` becomes a leading system message). `key` is
    the stable hash of the body without volatile fields (`by_request`'s key).
    """

    api: Api
    model: str
    messages: list[dict[str, str]]
    tool_names: list[str]
    wants_json: bool
    raw: dict[str, Any]
    headers: dict[str, str]
    key: str

    @property
    def last_user_message(self) -> str:
        for message in reversed(self.messages):
            if message["role"] == "user":
                return message["content"]
        return ""


@dataclass(frozen=True)
class FakeReply:
    """A responder's answer: `text`, or a tool call with `tool_args` (a dict, sent as JSON,
    or a string, sent verbatim) to `tool_name` (default: the first tool offered). Token
    counts default to estimates from the text lengths."""

    text: str | None = None
    tool_args: dict[str, Any] | str | None = None
    tool_name: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None

    def __post_init__(self) -> None:
        if (self.text is None) == (self.tool_args is None):
            raise ValueError("a FakeReply needs exactly one of text=... and tool_args=...")


Responder = Callable[[FakeRequest], FakeReply | Awaitable[FakeReply]]


def default_score(text: str) -> int:
    """The default responder's score for a last user message: 1..5, stable across runs."""
    return hashlib.sha256(text.encode()).digest()[0] % 5 + 1


def judge_responder(request: FakeRequest) -> FakeReply:
    """Answers like an LLM judge: a call of the first tool offered (unless JSON output is
    asked for), else text, with `{"score": S, "rationale": ...}`."""
    score = default_score(request.last_user_message)
    answer = {"score": score, "rationale": f"The fake judge gives {score}."}
    if request.tool_names and not request.wants_json:
        return FakeReply(tool_args=answer)
    return FakeReply(text=json.dumps(answer))
