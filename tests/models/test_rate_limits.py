"""Rate limits counted in the database: two clients (as two workers would) share one
provider's requests per window, and a call waits for the next window instead of going over."""

from __future__ import annotations

import asyncio
import threading
import time

from sqlalchemy import select

from rubricate import Rubricate
from rubricate.models import fake
from rubricate.models.client import ChatRequest, ModelClient
from rubricate.scoring.judge import JUDGE_SCHEMA
from rubricate.settings import RateLimit
from rubricate.store.tables import ProviderWindowRecord


def test_two_clients_share_the_requests_per_window(rb: Rubricate) -> None:
    limit = RateLimit(requests_per_minute=4, window_seconds=1.0)
    settings = rb.settings.model_copy(update={"rate_limits": {"fake": limit}})

    def work(worker: int) -> None:
        client = ModelClient(settings, db=rb.db)

        async def calls() -> None:
            for i in range(5):
                await client.call("fake:limited", ChatRequest("s", f"{worker}-{i}", JUDGE_SCHEMA))

        asyncio.run(calls())

    with fake.registered("limited", lambda call: {"score": 3, "rationale": "x"}) as model:
        started = time.monotonic()
        threads = [threading.Thread(target=work, args=(w,)) for w in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    assert len(model.calls) == 10
    assert elapsed >= 1.0  # ten calls at four a window span three windows, two waits
    with rb.db.read() as session:
        windows = session.scalars(select(ProviderWindowRecord)).all()
    assert sum(w.requests for w in windows) == 10
    assert max(w.requests for w in windows) <= 4
    assert len([w for w in windows if w.requests]) >= 3


def test_without_a_limit_nothing_is_counted(rb: Rubricate) -> None:
    client = ModelClient(rb.settings, db=rb.db)
    with fake.registered("free", lambda call: {"score": 3, "rationale": "x"}):
        asyncio.run(client.call("fake:free", ChatRequest("s", "u", JUDGE_SCHEMA)))
    with rb.db.read() as session:
        assert session.scalars(select(ProviderWindowRecord)).all() == []
