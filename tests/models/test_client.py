"""The one call path, driven through the in-process fake provider: retries and
Retry-After, timeouts, fatal errors, the concurrency limit, the cache, tokens and cost."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from pydantic_ai.exceptions import ModelHTTPError

from rubricate import Rubricate
from rubricate.domain.errors import Unavailable
from rubricate.models import fake
from rubricate.models.cache import ResponseCache
from rubricate.models.client import CallFailed, ChatRequest, ModelClient
from rubricate.models.cost import Tally
from rubricate.scoring.judge import JUDGE_SCHEMA
from rubricate.settings import Settings

REQUEST = ChatRequest("You judge.", "The row.", JUDGE_SCHEMA, temperature=0.0, seed=3)
ANSWER = {"score": 4, "rationale": "fine"}


@pytest.fixture
def settings() -> Settings:
    return Settings(model_attempts=3, model_timeout=0.5, max_retry_wait=2.0)


@pytest.fixture
def names() -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    for name in made:
        fake.unregister(name)


def register(
    names: list[str], name: str, replies: list[fake.FakeReply], **kw: object
) -> fake.FakeModel:
    names.append(name)
    return fake.register(name, fake.scripted(replies), **kw)  # type: ignore[arg-type]


def call(client: ModelClient, name: str, request: ChatRequest = REQUEST):  # type: ignore[no-untyped-def]
    return asyncio.run(client.call(f"fake:{name}", request))


def test_a_reply_carries_arguments_tokens_and_latency(settings: Settings, names: list[str]) -> None:
    model = register(names, "plain", [ANSWER])
    reply = call(ModelClient(settings), "plain")
    assert reply.arguments == ANSWER
    assert reply.input_tokens and reply.output_tokens
    assert reply.cost_usd is None  # the fake has no price: unknown, not 0
    assert reply.latency_s >= 0 and reply.attempts == 1
    assert model.calls[0].tool_names == ("final_result",)
    assert model.calls[0].settings["temperature"] == 0.0
    assert model.calls[0].settings["seed"] == 3


def test_429_waits_as_long_as_retry_after_says(settings: Settings, names: list[str]) -> None:
    limited = ModelHTTPError(429, "fake", {"error": "slow down"}, headers={"retry-after": "0.4"})
    model = register(names, "limited", [limited, ANSWER])
    started = time.perf_counter()
    reply = call(ModelClient(settings, retry_base_wait=0.0), "limited")
    assert time.perf_counter() - started >= 0.4
    assert reply.attempts == 2 and len(model.calls) == 2


def test_server_errors_are_retried_then_given_up(settings: Settings, names: list[str]) -> None:
    model = register(names, "broken", [ModelHTTPError(500, "fake", "boom")])
    with pytest.raises(CallFailed, match=r"HTTP 500.*gave up after 3 tries") as failure:
        call(ModelClient(settings, retry_base_wait=0.01), "broken")
    assert failure.value.attempts == 3
    assert len(model.calls) == 3  # the SDK made no tries of its own


def test_a_slow_call_times_out_and_is_retried(settings: Settings, names: list[str]) -> None:
    model = register(names, "slow", [ANSWER], latency=5.0)
    started = time.perf_counter()
    with pytest.raises(CallFailed, match="timed out"):
        call(ModelClient(settings, retry_base_wait=0.01), "slow")
    assert len(model.calls) == 3
    assert time.perf_counter() - started < 3.0


@pytest.mark.parametrize("status", [401, 403, 404])
def test_a_refused_key_or_unknown_model_stops_at_once(
    settings: Settings, names: list[str], status: int
) -> None:
    model = register(names, f"refuses{status}", [ModelHTTPError(status, "fake", "no")])
    with pytest.raises(Unavailable):
        call(ModelClient(settings, retry_base_wait=0.01), f"refuses{status}")
    assert len(model.calls) == 1


def test_a_bad_request_fails_the_call_without_retrying(
    settings: Settings, names: list[str]
) -> None:
    model = register(names, "badrequest", [ModelHTTPError(400, "fake", "context too long")])
    with pytest.raises(CallFailed, match="HTTP 400"):
        call(ModelClient(settings, retry_base_wait=0.01), "badrequest")
    assert len(model.calls) == 1


def test_the_concurrency_limit_is_honoured(settings: Settings, names: list[str]) -> None:
    model = register(names, "busy", [ANSWER], latency=0.05)
    client = ModelClient(settings, concurrency=3)

    async def many() -> None:
        requests = [ChatRequest("s", f"row {i}", JUDGE_SCHEMA) for i in range(12)]
        await asyncio.gather(*(client.call("fake:busy", r) for r in requests))

    asyncio.run(many())
    assert len(model.calls) == 12
    assert model.max_in_flight == 3


def test_an_identical_call_is_answered_from_the_cache(
    settings: Settings, names: list[str], rb: Rubricate
) -> None:
    model = register(names, "cached", [ANSWER])
    first_client = ModelClient(settings, cache=ResponseCache(rb.db))
    first = call(first_client, "cached")
    first_client.flush()  # cache writes are batched; a run flushes after each batch
    second_client = ModelClient(settings, cache=ResponseCache(rb.db))
    second = call(second_client, "cached")
    assert len(model.calls) == 1
    assert second.cached and not first.cached
    assert second.arguments == first.arguments
    other = ChatRequest("You judge.", "The row.", JUDGE_SCHEMA, temperature=0.7, seed=3)
    call(second_client, "cached", other)  # another temperature is another call
    assert len(model.calls) == 2


def test_the_cache_can_be_turned_off(settings: Settings, names: list[str]) -> None:
    model = register(names, "uncached", [ANSWER])
    client = ModelClient(settings, cache=None)
    call(client, "uncached")
    call(client, "uncached")
    assert len(model.calls) == 2


def test_a_tally_of_unknown_prices_stays_unknown() -> None:
    tally = Tally()
    tally.add(100, 10, 0.002, cached=False)
    tally.add(100, 10, 0.003, cached=False, attempts=2)
    assert tally.cost_usd == pytest.approx(0.005)
    assert tally.calls == 3
    tally.add(100, 10, None, cached=True)  # a cache hit costs nothing and is not a call
    assert tally.calls == 3 and tally.cache_hits == 1
    tally.add(100, 10, None, cached=False)
    assert tally.cost_usd is None
    tally.add(100, 10, 0.001, cached=False)
    assert tally.cost_usd is None
    assert tally.input_tokens == 400
