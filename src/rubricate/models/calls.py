"""What a model call is asked and gives back, and how it can fail; shared by the client
(client.py), its translation to and from pydantic-ai (wire.py), the cache and the fakes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rubricate.domain.errors import RubricateError
from rubricate.models.cost import Tally


@dataclass(frozen=True, slots=True)
class OutputSchema:
    """The structured answer asked for: a tool to call, or a JSON schema to follow."""

    name: str
    description: str
    json_schema: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ChatRequest:
    system: str
    user: str
    schema: OutputSchema | None = None
    temperature: float | None = 0.0
    seed: int | None = None
    max_tokens: int | None = None

    def parameters(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "seed": self.seed, "max_tokens": self.max_tokens}


@dataclass(frozen=True, slots=True)
class Reply:
    """What came back. ``arguments`` holds a tool call's arguments as sent (a dict, or a
    string that may not even be JSON); ``text`` any text. ``raw`` is both as one string,
    for storage. ``cost_usd`` None means unknown; a cached reply cost nothing this time."""

    text: str | None
    arguments: dict[str, Any] | str | None
    raw: str
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    latency_s: float
    cached: bool = False
    attempts: int = 1


class BudgetExhausted(RubricateError):
    """A run reached one of its caps (calls, tokens, money); no further call is made."""


@dataclass
class Spending:
    """What a piece of work may spend and has spent, shared by every client it uses."""

    max_calls: int | None = None
    max_tokens: int | None = None
    max_cost_usd: float | None = None
    spent: Tally = field(default_factory=Tally)

    def check(self) -> None:
        s = self.spent
        if self.max_calls is not None and s.calls >= self.max_calls:
            raise BudgetExhausted(f"the budget of {self.max_calls} model calls is used up")
        if self.max_tokens is not None and s.input_tokens + s.output_tokens >= self.max_tokens:
            raise BudgetExhausted(f"the budget of {self.max_tokens:,} tokens is used up")
        if self.max_cost_usd is not None and (s.cost_usd or 0.0) >= self.max_cost_usd:
            raise BudgetExhausted(f"the budget of ${self.max_cost_usd:g} is used up")


class CallFailed(RubricateError):
    """A call that failed after every try; the row records ``message``."""

    def __init__(self, message: str, *, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts
