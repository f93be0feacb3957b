"""A run's journal of finished model calls. Each reply is recorded under the run and the
request's key as soon as it is in (writes are batched a few at a time), so a run that
resumes after a crash replays its finished calls instead of paying for them again; only
the calls in flight at the crash are made twice. It is the run's own record, kept
whether or not the shared response cache is on, and it never answers another run."""

from __future__ import annotations

from sqlalchemy import select

from rubricate.models.cache import BufferedWrites, CachedReply
from rubricate.store.database import Database
from rubricate.store.tables import RunCallRecord

FLUSH_EVERY = 1  # written as each call finishes: a crash repeats only calls in flight


class RunJournal:
    def __init__(self, db: Database, run_id: str) -> None:
        self.db = db
        self.run_id = run_id
        self._writes = BufferedWrites(db, RunCallRecord, ["run_id", "key"], FLUSH_EVERY)
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
        self._writes.add(key, reply.row(run_id=self.run_id, key=key))

    def flush(self) -> None:
        self._writes.flush()
