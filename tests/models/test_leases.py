"""A provider's concurrency limit shared by every worker on one database: clients with
Database objects of their own (as workers in other processes have) never have more calls
in flight at the fake OpenAI-compatible server together than the provider's limit; a lease
that expired stops counting, one held by a worker taken for dead is freed at once, and
nothing is left held when the work ends."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select
from tests.fake_server_support import server as server  # the fixture, as pytest finds it
from tests.fake_server_support import use_fake

from rubricate import Rubricate
from rubricate.models import leases
from rubricate.models.client import ChatRequest, ModelClient
from rubricate.scoring.judge import JUDGE_SCHEMA
from rubricate.settings import Settings
from rubricate.store.database import Database
from rubricate.store.tables import ProviderLeaseRecord, utcnow
from rubricate.testing.fake_openai import FakeOpenAI, RunningFake

MODEL = "openai-chat:fake-judge"
LIMIT = 3


@pytest.fixture
def fake(server: RunningFake, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    return use_fake(server, monkeypatch, "sk-leases-test")


def settings_for(database_url: str) -> Settings:
    return Settings(database_url=database_url, concurrency={"openai": LIMIT}, model_timeout=10)


def calls(database_url: str, worker: str, count: int) -> None:
    """``count`` calls at once through a client on a Database of its own."""
    db = Database(database_url)
    client = ModelClient(settings_for(database_url), db=db)

    async def all_at_once() -> None:
        try:
            requests = [ChatRequest("s", f"{worker} row {i}", JUDGE_SCHEMA) for i in range(count)]
            await asyncio.gather(*(client.call(MODEL, r) for r in requests))
        finally:
            await client.aclose()

    try:
        asyncio.run(all_at_once())
    finally:
        db.dispose()


def held(rb: Rubricate) -> int:
    with rb.db.read() as session:
        return session.scalar(select(func.count()).select_from(ProviderLeaseRecord)) or 0


def hold(rb: Rubricate, holder: str, count: int, expires_in: float) -> None:
    rows = [
        {
            "id": f"{holder}-{i}",
            "provider": "openai",
            "holder": holder,
            "expires_at": utcnow() + timedelta(seconds=expires_in),
        }
        for i in range(count)
    ]
    with rb.db.write() as session:
        session.execute(insert(ProviderLeaseRecord), rows)


def in_thread(target: object, *args: object) -> threading.Thread:
    thread = threading.Thread(target=target, args=args)  # type: ignore[arg-type]
    thread.start()
    return thread


@pytest.mark.parametrize("reused", [True, False], ids=["reused", "each-call-asks"])
def test_two_workers_never_exceed_the_providers_limit_together(
    rb: Rubricate,
    fake: FakeOpenAI,
    database_url: str,
    reused: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Either way: a lease handed straight to the next call of the same client, or every
    call taking its lease from the database (a lease too old to be handed on)."""
    if not reused:
        monkeypatch.setattr(leases, "MARGIN_SECONDS", 0.0)
    fake.latency = 0.1
    threads = [in_thread(calls, database_url, f"w{w}", 4 * LIMIT) for w in range(2)]
    for thread in threads:
        thread.join(timeout=60)
    assert fake.requests_total == 2 * 4 * LIMIT
    assert fake.max_in_flight == LIMIT  # reached, never passed, by the two together
    assert held(rb) == 0  # every lease given back


def test_an_expired_lease_stops_counting(
    rb: Rubricate, fake: FakeOpenAI, database_url: str
) -> None:
    hold(rb, "long-gone", LIMIT, expires_in=-1)
    started = time.monotonic()
    calls(database_url, "w", 1)
    assert time.monotonic() - started < 5
    assert fake.requests_total == 1
    assert held(rb) == 0  # the expired ones were cleared on the way


def test_the_leases_of_a_worker_taken_for_dead_are_freed_at_once(
    rb: Rubricate, fake: FakeOpenAI, database_url: str
) -> None:
    hold(rb, "dead-worker", LIMIT, expires_in=600)  # the provider is full
    thread = in_thread(calls, database_url, "w", 2)
    time.sleep(1.0)
    assert fake.requests_total == 0  # waiting for a lease, not calling
    with rb.db.write() as session:
        leases.free_held_by(session, ["dead-worker"])
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert fake.requests_total == 2
    assert held(rb) == 0


def test_a_client_without_a_database_takes_no_lease(rb: Rubricate, fake: FakeOpenAI) -> None:
    client = ModelClient(settings_for(rb.settings.database_url))

    async def one() -> None:
        try:
            await client.call(MODEL, ChatRequest("s", "u", JUDGE_SCHEMA))
        finally:
            await client.aclose()

    asyncio.run(one())
    assert fake.requests_total == 1 and held(rb) == 0


def test_a_call_cancelled_while_it_waits_leaves_no_lease(
    rb: Rubricate, fake: FakeOpenAI, database_url: str
) -> None:
    hold(rb, "other-worker", LIMIT, expires_in=600)  # the provider is full
    client = ModelClient(settings_for(database_url), db=rb.db)

    async def cancelled() -> None:
        call = asyncio.create_task(client.call(MODEL, ChatRequest("s", "u", JUDGE_SCHEMA)))
        await asyncio.sleep(0.3)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await client.aclose()

    asyncio.run(cancelled())
    assert fake.requests_total == 0
    with rb.db.read() as session:
        holders = set(session.scalars(select(ProviderLeaseRecord.holder)))
    assert holders == {"other-worker"}
