"""Concurrency shared by every worker: a call in flight at a provider holds a lease (a row
of provider_leases), and a lease is taken only while the provider has fewer unexpired
leases than its limit. Counting and taking happen in one write transaction, serialized per
provider (PostgreSQL: an advisory lock on the provider's name; SQLite: its write lock).

The hot path stays off the database: a lease a call gives back goes straight to the next
call here (a moment's spare, then back to the database for other workers), as long as it is
young enough for that call to end before it expires. One keeper task per provider and event
loop takes leases for the calls waiting and gives back the others, a batch per transaction;
when the provider is full it looks again after a short jittered wait, or at once when a call
here gives a lease back. A lease expires (the call timeout and a margin after it was taken),
so the calls of a process that died stop counting; the recovery leader frees a dead worker's
leases at once, by its executor id."""

from __future__ import annotations

import asyncio
import logging
import math
import os
import random
import socket
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import timedelta

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

from rubricate.domain.errors import Unavailable
from rubricate.store.database import Database
from rubricate.store.tables import ProviderLeaseRecord, table_of, utcnow

log = logging.getLogger("rubricate.leases")
MARGIN_SECONDS = 30.0  # a lease outlives its call's timeout by this much, and is reused as long
SPARE_SECONDS = 0.05  # a lease no call here takes within this goes back to the database
POLL_SECONDS = 0.05  # the mean wait before looking again at a full provider
LEASE_LOCKS = 7_426_002  # PostgreSQL advisory locks of providers: (this, a hash of the name)
LEASES = table_of(ProviderLeaseRecord)

_holder = [f"{socket.gethostname()[:60]}-{os.getpid()}"]


def holder() -> str:
    """Who this process's leases say holds them."""
    return _holder[0]


def hold_as(name: str) -> None:
    """Name this process's leases: a worker uses its executor id, by which the leader frees
    the leases of a worker it takes for dead."""
    _holder[0] = name[:100]


def free_held_by(session: Session, holders: Sequence[str]) -> None:
    """Give back every lease these holders took: none of their calls is in flight."""
    session.execute(delete(LEASES).where(LEASES.c.holder.in_(list(holders))))


class ProviderLeases:
    """The leases one client holds at one provider, on one event loop."""

    def __init__(self, db: Database, provider: str, limit: int, call_timeout: float) -> None:
        self.db = db
        self.provider = provider
        self.limit = limit
        self.lifetime = timedelta(seconds=call_timeout + MARGIN_SECONDS)
        self._taken_at: dict[str, float] = {}  # every lease held here: when it was taken
        self._spare: list[str] = []  # held, with no call in it
        self._returned: list[str] = []  # to give back at the next exchange
        self._waiting: list[asyncio.Future[str]] = []
        self._freed = asyncio.Event()  # a lease here went back: a full provider has room
        self._keeper: asyncio.Task[None] | None = None
        self._retiring: asyncio.TimerHandle | None = None

    @asynccontextmanager
    async def lease(self) -> AsyncIterator[None]:
        """Hold one of the provider's calls in flight while the block runs."""
        taken = await self._take()
        try:
            yield
        finally:
            self._give_back(taken)

    async def aclose(self) -> None:
        """Give back every lease held here, on this loop, before it closes (a call still
        waiting for one is cancelled: the client is closing)."""
        if self._retiring is not None:
            self._retiring.cancel()
            self._retiring = None
        for waiter in self._still_waiting():
            waiter.cancel()
        if self._keeper is not None:
            await asyncio.wait([self._keeper])
        held, self._spare, self._taken_at = list(self._taken_at), [], {}
        if not held:
            return
        try:
            await asyncio.to_thread(self._exchange, held, 0)
        except Exception:  # they expire on their own
            log.warning("could not give back %d leases", len(held), exc_info=True)

    # -- one call's lease ------------------------------------------------------------------

    async def _take(self) -> str:
        if (spare := self._reusable()) is not None:
            return spare
        waiter: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        self._keep_going()
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._give_back(waiter.result())  # granted just as the call was cancelled
            raise

    def _give_back(self, lease: str) -> None:
        if not self._young(lease):
            self._return(lease)
        elif waiter := next(iter(self._still_waiting()), None):
            waiter.set_result(lease)
        else:
            self._spare.append(lease)
            if self._retiring is None:
                loop = asyncio.get_running_loop()
                self._retiring = loop.call_later(SPARE_SECONDS, self._retire_spares)

    def _reusable(self) -> str | None:
        while self._spare:
            lease = self._spare.pop()
            if self._young(lease):
                return lease
            self._return(lease)
        return None

    def _young(self, lease: str) -> bool:
        """Whether a call started now ends (by its timeout) before the lease expires."""
        return time.monotonic() - self._taken_at.get(lease, -math.inf) < MARGIN_SECONDS

    def _retire_spares(self) -> None:
        """Spare leases no call here wanted meanwhile go back, for other workers."""
        self._retiring = None
        spare, self._spare = self._spare, []
        for lease in spare:
            self._return(lease)

    def _return(self, lease: str) -> None:
        self._returned.append(lease)
        self._freed.set()
        self._keep_going()

    # -- the keeper ------------------------------------------------------------------------

    def _keep_going(self) -> None:
        if self._keeper is None or self._keeper.done():
            self._keeper = asyncio.get_running_loop().create_task(self._keep())

    async def _keep(self) -> None:
        """Exchange leases with the database, a batch a transaction, until no call waits
        and none is left to give back."""
        while self._returned or self._still_waiting():
            returned, self._returned = self._returned, []
            waiting = self._still_waiting()
            self._freed.clear()
            asked = time.monotonic()
            try:
                granted = await asyncio.to_thread(self._exchange, returned, len(waiting))
            except Exception as error:  # the calls waiting fail; aclose tries the rest again
                self._fail(waiting, error)
                return
            for lease in returned:
                self._taken_at.pop(lease, None)
            self._taken_at.update(dict.fromkeys(granted, asked))
            self._hand_out(waiting, granted)
            if len(granted) < len(waiting) and not self._returned:
                await self._nap()

    def _still_waiting(self) -> list[asyncio.Future[str]]:
        self._waiting = [w for w in self._waiting if not w.done()]  # cancelled calls leave
        return list(self._waiting)

    def _hand_out(self, waiting: list[asyncio.Future[str]], granted: list[str]) -> None:
        """First come, first served; a lease for a call that needs it no more is spare."""
        leases = iter(granted)
        for waiter in waiting:
            if not waiter.done() and (lease := next(leases, None)) is not None:
                waiter.set_result(lease)
        for lease in leases:
            self._give_back(lease)

    def _fail(self, waiting: list[asyncio.Future[str]], error: Exception) -> None:
        failure = Unavailable(
            f"cannot count the calls in flight at {self.provider} in the database: {error}"
        )
        for waiter in waiting:
            if not waiter.done():
                waiter.set_exception(failure)

    async def _nap(self) -> None:
        """Wait a little (jittered, so that workers do not look in step), less if a lease
        here goes back meanwhile."""
        with suppress(TimeoutError):
            async with asyncio.timeout(POLL_SECONDS * random.uniform(0.5, 1.5)):
                await self._freed.wait()

    def _exchange(self, returned: list[str], wanted: int) -> list[str]:
        """One write transaction: give back ``returned``, then take up to ``wanted`` leases,
        as many as the provider's limit leaves free. Runs in a thread."""
        now = utcnow()
        with self.db.write() as session:
            if returned:
                session.execute(delete(LEASES).where(LEASES.c.id.in_(returned)))
            if wanted <= 0:
                return []
            self._lock_provider(session)
            mine = LEASES.c.provider == self.provider
            session.execute(delete(LEASES).where(mine, LEASES.c.expires_at <= now))
            in_flight = session.scalar(select(func.count()).select_from(LEASES).where(mine)) or 0
            granted = [uuid.uuid4().hex for _ in range(min(wanted, self.limit - in_flight))]
            if granted:
                expires_at = now + self.lifetime
                rows = [
                    {
                        "id": g,
                        "provider": self.provider,
                        "holder": holder(),
                        "expires_at": expires_at,
                    }
                    for g in granted
                ]
                session.execute(insert(LEASES), rows)
            return granted

    def _lock_provider(self, session: Session) -> None:
        """On PostgreSQL one transaction at a time counts a provider's leases (until it
        ends); SQLite's write lock does that already."""
        if self.db.is_sqlite:
            return
        key = zlib.crc32(self.provider.encode()) & 0x7FFFFFFF
        session.execute(
            text("SELECT pg_advisory_xact_lock(CAST(:space AS integer), CAST(:key AS integer))"),
            {"space": LEASE_LOCKS, "key": key},
        )
