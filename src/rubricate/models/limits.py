"""Rate limits shared by every worker: requests and tokens per window, counted in the
database. A call reserves its share of the current window in one write transaction
(the row is locked on PostgreSQL; SQLite's write lock covers it), or waits for the next
window when the current one is spent."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from rubricate.settings import RateLimit
from rubricate.store.database import Database
from rubricate.store.tables import ProviderWindowRecord, utcnow
from rubricate.store.upsert import insert_ignoring_duplicates


class RateLimiter:
    def __init__(self, db: Database, provider: str, limit: RateLimit) -> None:
        self.db = db
        self.provider = provider
        self.limit = limit

    async def acquire(self, tokens: int) -> None:
        """Wait until this call (about ``tokens`` tokens) fits the provider's limits."""
        while (wait := await asyncio.to_thread(self._reserve, tokens)) > 0:
            await asyncio.sleep(wait)

    def _window(self, now: datetime) -> datetime:
        seconds = self.limit.window_seconds
        epoch = now.timestamp()
        return datetime.fromtimestamp(epoch - epoch % seconds, tz=now.tzinfo)

    def _reserve(self, tokens: int) -> float:
        """Count the call in the current window, or say how long to wait."""
        now = utcnow()
        window = self._window(now)
        key = {"provider": self.provider, "window_start": window}
        with self.db.write() as session:
            insert_ignoring_duplicates(
                session,
                ProviderWindowRecord,
                [key | {"requests": 0, "tokens": 0}],
                ["provider", "window_start"],
            )
            record = session.scalars(
                select(ProviderWindowRecord)
                .where(
                    ProviderWindowRecord.provider == self.provider,
                    ProviderWindowRecord.window_start == window,
                )
                .with_for_update()
            ).one()
            rpm, tpm = self.limit.requests_per_minute, self.limit.tokens_per_minute
            full = (rpm is not None and record.requests >= rpm) or (
                tpm is not None and record.tokens > 0 and record.tokens + tokens > tpm
            )
            if record.requests == 0:  # a new window: forget the old ones
                old = window - timedelta(seconds=self.limit.window_seconds * 10)
                session.execute(
                    delete(ProviderWindowRecord).where(
                        ProviderWindowRecord.provider == self.provider,
                        ProviderWindowRecord.window_start < old,
                    )
                )
            if full:
                end = window + timedelta(seconds=self.limit.window_seconds)
                return max(0.01, (end - now).total_seconds())
            record.requests += 1
            record.tokens += tokens
            return 0.0
