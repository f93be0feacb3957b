"""The one path every model call takes: cache, concurrency limit per provider (in this
process, and across every worker sharing the database), timeout, retries, tokens, cost and
latency. Judge scoring and reflection both call through here."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from pydantic_ai.direct import model_request
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

from rubricate.domain.errors import RubricateError, Unavailable
from rubricate.models import cost
from rubricate.models.cache import CachedReply, ResponseCache, cache_key
from rubricate.models.cost import Tally
from rubricate.models.journal import RunJournal
from rubricate.models.leases import ProviderLeases
from rubricate.models.limits import RateLimiter
from rubricate.models.providers import ResolvedModel, resolve_model
from rubricate.models.retry import backoff, is_fatal, is_transient
from rubricate.models.secrets import redact
from rubricate.settings import Settings
from rubricate.store.database import Database


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


@dataclass
class ModelClient:
    """Calls models for one piece of work (an evaluation run, a reflection). Limits are per
    provider: shared by every call made through this client and, with a database, by every
    worker's calls (leases for the calls in flight, rate limits)."""

    settings: Settings
    cache: ResponseCache | None = None
    journal: RunJournal | None = None  # the run's own record of finished calls
    db: Database | None = None  # where limits shared by every worker are counted
    concurrency: int | None = None  # overrides the settings' per-provider limit
    retry_base_wait: float = 0.5
    on_call: Callable[[ResolvedModel, ChatRequest], None] | None = None  # before each real call
    spending: Spending = field(default_factory=Spending)  # shared between clients of one run
    spent: Tally = field(default_factory=Tally)  # this client's own calls
    _models: dict[str, ResolvedModel] = field(default_factory=dict)
    _limits: dict[str, asyncio.Semaphore] = field(default_factory=dict)
    _stopped: Unavailable | None = None
    _limiters: dict[str, RateLimiter] = field(default_factory=dict)
    _leases: dict[str, ProviderLeases] = field(default_factory=dict)

    def model(self, name: str, *, field: str = "model") -> ResolvedModel:
        if name not in self._models:
            self._models[name] = resolve_model(name, self.settings, field=field)
        return self._models[name]

    async def call(self, name: str, request: ChatRequest) -> Reply:
        if self._stopped is not None:  # after a fatal error, no new call is made
            raise self._stopped
        resolved = self.model(name)
        key = self._key(resolved, request)
        if self.journal is not None and (done := self.journal.get(key)) is not None:
            self._count(cached=True)  # finished before a restart: not paid again
            return _from_cache(done)
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            self._count(cached=True)
            return _from_cache(hit)
        async with self._limit(resolved.limit_key):
            try:
                reply = await self._call_with_retries(resolved, request)
            except CallFailed as failure:
                self.spent.failed(failure.attempts)
                self.spending.spent.failed(failure.attempts)
                raise
        self._count(reply)
        if self.journal is not None:
            self.journal.put(key, _to_cache(reply))
        if self.cache is not None:
            self.cache.put(key, str(resolved.name), _to_cache(reply))
        return reply

    def _count(self, reply: Reply | None = None, *, cached: bool = False) -> None:
        for tally in (self.spent, self.spending.spent):
            if reply is None:
                tally.add(None, None, None, cached=True)
            else:
                tally.add(
                    reply.input_tokens,
                    reply.output_tokens,
                    reply.cost_usd,
                    cached=cached,
                    attempts=reply.attempts,
                )

    def flush(self) -> None:
        if self.journal is not None:
            self.journal.flush()
        if self.cache is not None:
            self.cache.flush()

    async def aclose(self) -> None:
        """Close the SDK clients made so far, on the event loop that used them (their pooled
        connections die with it; left open, each leaks its sockets). A later call, on this
        loop or another, makes new clients and limits."""
        models, self._models = list(self._models.values()), {}
        self._limits.clear()  # a semaphore belongs to the loop it waited on
        pools, self._leases = list(self._leases.values()), {}
        for pool in pools:  # so do a keeper and its leases
            await pool.aclose()
        for resolved in models:
            if resolved.close is not None:
                await resolved.close()

    def limit_for(self, name: str) -> int:
        """The most calls to the model ``name`` in flight at once."""
        return self._limit_of(self.model(name).limit_key)

    def _limit(self, key: str) -> asyncio.Semaphore:
        """This client's calls in flight: a cheap first gate, so that no more calls than
        the limit ever wait on the database for a lease."""
        if key not in self._limits:
            self._limits[key] = asyncio.Semaphore(self._limit_of(key))
        return self._limits[key]

    def _limit_of(self, key: str) -> int:
        return self.concurrency or self.settings.concurrency_for(key)

    def _leased(self, key: str) -> AbstractAsyncContextManager[None]:
        """A lease on the provider's limit, shared by every worker on the database (none
        without a database)."""
        if self.db is None:
            return nullcontext()
        if key not in self._leases:
            limit, timeout = self._limit_of(key), self.settings.model_timeout
            self._leases[key] = ProviderLeases(self.db, key, limit, timeout)
        return self._leases[key].lease()

    async def _call_with_retries(self, resolved: ResolvedModel, request: ChatRequest) -> Reply:
        attempts = self.settings.model_attempts
        for attempt in range(1, attempts + 1):
            if self._stopped is not None:  # stopped while this call waited for its turn
                raise self._stopped
            self.spending.check()
            await self._rate_limit(resolved, request)
            try:
                response, latency = await self._request(resolved, request)
            except Exception as error:  # sorted below; unknown ones re-raised
                if is_fatal(error):
                    self._stopped = Unavailable(_fatal_message(resolved, error))
                    raise self._stopped from None
                if not is_transient(error):
                    if isinstance(error, RubricateError):
                        raise
                    raise CallFailed(self._describe(error), attempts=attempt) from None
                if attempt == attempts:
                    message = f"{self._describe(error)} (gave up after {attempts} tries)"
                    raise CallFailed(message, attempts=attempt) from None
                await asyncio.sleep(
                    backoff(attempt, self.retry_base_wait, self.settings.max_retry_wait, error)
                )
                continue
            return _reply(resolved, response, latency, attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _request(
        self, resolved: ResolvedModel, request: ChatRequest
    ) -> tuple[ModelResponse, float]:
        """One try and its latency, holding a lease while it is in flight (not while it
        waits to try again)."""
        async with self._leased(resolved.limit_key):
            self.spending.check()  # again: the calls finished while this one waited count
            if self.on_call is not None:
                self.on_call(resolved, request)
            started = time.perf_counter()
            async with asyncio.timeout(self.settings.model_timeout):
                response = await model_request(
                    resolved.model,
                    _messages(request),
                    model_settings=_settings(request, self.settings.model_timeout),
                    model_request_parameters=_parameters(resolved, request),
                )
            return response, time.perf_counter() - started

    async def _rate_limit(self, resolved: ResolvedModel, request: ChatRequest) -> None:
        limit = self.settings.rate_limits.get(resolved.limit_key)
        if limit is None or self.db is None:
            return
        if resolved.limit_key not in self._limiters:
            self._limiters[resolved.limit_key] = RateLimiter(self.db, resolved.limit_key, limit)
        tokens = cost.estimate_tokens(request.system + request.user)
        await self._limiters[resolved.limit_key].acquire(
            tokens + (request.max_tokens or cost.ANSWER_TOKENS)
        )

    def _describe(self, error: BaseException) -> str:
        return redact(_describe(error), self.settings)

    def _key(self, resolved: ResolvedModel, request: ChatRequest) -> str:
        schema = request.schema
        return cache_key(
            {
                "model": str(resolved.name),
                "where": resolved.where,
                "output": resolved.output_mode,
                "system": request.system,
                "user": request.user,
                "parameters": request.parameters(),
                "schema": None if schema is None else [schema.name, schema.json_schema],
            }
        )


def _messages(request: ChatRequest) -> list[ModelRequest]:
    return [
        ModelRequest(
            parts=[SystemPromptPart(content=request.system), UserPromptPart(content=request.user)]
        )
    ]


def _settings(request: ChatRequest, timeout: float) -> ModelSettings:
    settings: ModelSettings = {"timeout": timeout}
    if request.temperature is not None:
        settings["temperature"] = request.temperature
    if request.seed is not None:
        settings["seed"] = request.seed
    if request.max_tokens is not None:
        settings["max_tokens"] = request.max_tokens
    return settings


def _parameters(resolved: ResolvedModel, request: ChatRequest) -> ModelRequestParameters:
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


def _reply(
    resolved: ResolvedModel, response: ModelResponse, latency: float, attempts: int
) -> Reply:
    texts = [part.content for part in response.parts if isinstance(part, TextPart)]
    calls = [part for part in response.parts if isinstance(part, ToolCallPart)]
    arguments: dict[str, Any] | str | None = None
    if calls:
        given = calls[0].args
        arguments = given if isinstance(given, str) else dict(given or {})
    text = "".join(texts) if texts else None
    input_tokens = response.usage.input_tokens if response.usage else None
    output_tokens = response.usage.output_tokens if response.usage else None
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


def _to_cache(reply: Reply) -> CachedReply:
    return CachedReply(
        {"text": reply.text, "arguments": reply.arguments},
        reply.input_tokens,
        reply.output_tokens,
        reply.cost_usd,
    )


def _from_cache(hit: CachedReply) -> Reply:
    text, arguments = hit.reply.get("text"), hit.reply.get("arguments")
    return Reply(
        text=text,
        arguments=arguments,
        raw=_raw(text, arguments),
        input_tokens=hit.input_tokens,
        output_tokens=hit.output_tokens,
        cost_usd=hit.cost_usd,
        latency_s=0.0,
        cached=True,
        attempts=0,
    )


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "the model call timed out"
    status = getattr(error, "status_code", None)
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    return f"HTTP {status}: {message}" if status else message


def _fatal_message(resolved: ResolvedModel, error: BaseException) -> str:
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
