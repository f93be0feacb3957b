"""The one path every model call takes: cache, concurrency limit per provider (in this
process, and across every worker sharing the database), timeout, retries, tokens, cost and
latency. Judge scoring and reflection both call through here."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field, replace

from pydantic_ai.direct import model_request
from pydantic_ai.messages import (
    ModelResponse,
)

from rubricate.domain.errors import RubricateError, Unavailable
from rubricate.models import cost
from rubricate.models.cache import ResponseCache, cache_key
from rubricate.models.calls import (
    BudgetExhausted as BudgetExhausted,
)
from rubricate.models.calls import (
    CallFailed as CallFailed,
)
from rubricate.models.calls import (
    ChatRequest as ChatRequest,
)
from rubricate.models.calls import (
    OutputSchema as OutputSchema,
)
from rubricate.models.calls import (
    Reply as Reply,
)
from rubricate.models.calls import (
    Spending as Spending,
)
from rubricate.models.cost import Tally
from rubricate.models.journal import RunJournal
from rubricate.models.leases import ProviderLeases
from rubricate.models.limits import RateLimiter
from rubricate.models.ownership import OwnershipLost, generation, owned
from rubricate.models.providers import ResolvedModel, resolve_model
from rubricate.models.retry import backoff, is_fatal, is_transient
from rubricate.models.secrets import redact
from rubricate.models.wire import (
    describe_error,
    fatal_message,
    from_cache,
    model_settings,
    read_reply,
    request_messages,
    request_parameters,
    sends_of,
    to_cache,
)
from rubricate.settings import Settings
from rubricate.store.database import Database


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
    # Stop (OwnershipLost) once this worker was taken for dead; the caller must then leave
    # its run alone, since the run is another worker's (see models.ownership).
    owned_runs: bool = False
    _generation: int = field(default_factory=generation)  # of the worker's ownership

    def model(self, name: str, *, field: str = "model") -> ResolvedModel:
        if name not in self._models:
            self._models[name] = resolve_model(name, self.settings, field=field)
        return self._models[name]

    async def call(self, name: str, request: ChatRequest) -> Reply:
        if self._stopped is not None:  # after a fatal error, no new call is made
            raise self._stopped
        resolved = self.model(name)
        key = self._key(resolved, request)
        earlier = 0  # sends of this request before a crash that got no reply (see journal)
        if self.journal is not None:
            if (done := self.journal.get(key)) is not None:
                if not self.journal.paid_replay(key):
                    self._count(cached=True)
                    return from_cache(done)
                # Finished before a crash and not counted yet: paid then, not again now.
                replayed = replace(from_cache(done), cached=False, attempts=sends_of(done))
                self._count(replayed)
                return replayed
            earlier = self.journal.sends(key)
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            self._count(cached=True)
            return from_cache(hit)
        async with self._limit(resolved.limit_key):
            try:
                reply = await self._call_with_retries(resolved, request, key)
            except CallFailed as failure:
                failure.attempts += earlier
                self.spent.failed(failure.attempts)
                self.spending.spent.failed(failure.attempts)
                raise
        reply = replace(reply, attempts=reply.attempts + earlier)
        self._count(reply)
        if self.journal is not None:
            await self.journal.put(key, to_cache(reply))
        if self.cache is not None:
            self.cache.put(key, str(resolved.name), to_cache(reply))
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

    async def still_owned(self) -> None:
        """Return when this worker still owns its runs (at once, unless a pause took it
        past its heartbeat's deadline); raise OwnershipLost when they are another's. Asked
        before results are written: replies to calls sent before a pause may come in after
        the run was taken over, and the new owner scores those rows itself."""
        if self.owned_runs:
            await owned(self._generation)

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

    async def _call_with_retries(
        self, resolved: ResolvedModel, request: ChatRequest, key: str
    ) -> Reply:
        attempts = self.settings.model_attempts
        for attempt in range(1, attempts + 1):
            if self._stopped is not None:  # stopped while this call waited for its turn
                raise self._stopped
            self.spending.check()
            await self._rate_limit(resolved, request)
            try:
                response, latency = await self._request(resolved, request, key)
            except Exception as error:  # sorted below; unknown ones re-raised
                if isinstance(error, OwnershipLost):
                    raise
                if is_fatal(error):
                    self._stopped = Unavailable(fatal_message(resolved, error))
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
            return read_reply(resolved, response, latency, attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _request(
        self, resolved: ResolvedModel, request: ChatRequest, key: str
    ) -> tuple[ModelResponse, float]:
        """One try and its latency, holding a lease while it is in flight (not while it
        waits to try again); marked sent in the run's journal before it goes out."""
        async with self._leased(resolved.limit_key):
            self.spending.check()  # again: the calls finished while this one waited count
            if self.on_call is not None:
                self.on_call(resolved, request)
            # The run may have been recovered elsewhere while this worker was paused: asked
            # before the mark, and again once it is written. A request then goes out only if
            # it was marked while the run was this worker's, so the new owner, reading the
            # journal when it takes the run, counts it: no request paid goes uncounted. (A
            # pause just after a mark and before its send makes the new owner count a
            # request never sent: counting errs on the side of what may have been paid.)
            await self.still_owned()
            if self.journal is not None:
                await self.journal.sending(key)
                await self.still_owned()
            started = time.perf_counter()
            async with asyncio.timeout(self.settings.model_timeout):
                response = await model_request(
                    resolved.model,
                    request_messages(request),
                    model_settings=model_settings(request, self.settings.model_timeout),
                    model_request_parameters=request_parameters(resolved, request),
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
        return redact(describe_error(error), self.settings)

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
