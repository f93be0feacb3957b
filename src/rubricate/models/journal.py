"""A run's journal of finished model calls. Each reply is recorded under the run and the
request's key as soon as it is in (writes are batched a few at a time), so a run that
resumes after a crash replays its finished calls instead of paying for them again; only
the calls in flight at the crash are made twice. It is the run's own record, kept
whether or not the shared response cache is on, and it never answers another run."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from rubricate.models.cache import CachedReply
from rubricate.store.database import Database
from rubricate.store.tables import RunCallRecord, utcnow
from rubricate.store.upsert import insert_ignoring_duplicates

FLUSH_EVERY = 1  # written as each call finishes: a crash repeats only calls in flight


class RunJournal:
    def __init__(self, db: Database, run_id: str) -> None:
        self.db = db
        self.run_id = run_id
        self._pending: dict[str, dict[str, Any]] = {}
        self._known: dict[str, CachedReply] | None = None

    def get(self, key: str) -> CachedReply | None:
        if self._known is None:  # read the run's journal once: a resumed run needs it all
            with self.db.read() as session:
                records = session.scalars(
                    select(RunCallRecord).where(RunCallRecord.run_id == self.run_id)
                )
                self._known = {
                    r.key: CachedReply(r.reply, r.input_tokens, r.output_tokens, r.cost_usd)
                    for r in records
                }
        return self._known.get(key)

    def put(self, key: str, reply: CachedReply) -> None:
        if self._known is not None:
            self._known[key] = reply
        self._pending[key] = {
            "run_id": self.run_id,
            "key": key,
            "reply": reply.reply,
            "input_tokens": reply.input_tokens,
            "output_tokens": reply.output_tokens,
            "cost_usd": reply.cost_usd,
            "created_at": utcnow(),
        }
        if len(self._pending) >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        rows = list(self._pending.values())
        with self.db.write() as session:
            insert_ignoring_duplicates(session, RunCallRecord, rows, ["run_id", "key"])
        self._pending.clear()
