"""The response cache: an identical call (same model and server, messages, parameters and
output schema) is answered from the database instead of being paid for again. Writes are
buffered and flushed in batches, so the cache costs no transaction per call."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from rubricate.store.database import Database
from rubricate.store.tables import Base, ResponseCacheRecord, utcnow
from rubricate.store.upsert import insert_ignoring_duplicates

FLUSH_EVERY = 64


@dataclass(frozen=True, slots=True)
class CachedReply:
    reply: dict[str, Any]
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None

    def row(self, **keys: Any) -> dict[str, Any]:
        """The columns a stored reply has, with its table's ``keys``."""
        return {
            **keys,
            "reply": self.reply,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
            "created_at": utcnow(),
        }


class BufferedWrites:
    """Rows written in batches of ``flush_every``, where two writers of the same key keep
    the first one's row."""

    def __init__(self, db: Database, record: type[Base], keys: list[str], flush_every: int):
        self.db = db
        self.record = record
        self.keys = keys
        self.flush_every = flush_every
        self.pending: dict[str, dict[str, Any]] = {}

    def add(self, key: str, row: dict[str, Any]) -> None:
        self.pending[key] = row
        if len(self.pending) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        rows = list(self.pending.values())
        with self.db.write() as session:
            insert_ignoring_duplicates(session, self.record, rows, self.keys)
        self.pending.clear()


def cache_key(parts: dict[str, Any]) -> str:
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class ResponseCache:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._writes = BufferedWrites(db, ResponseCacheRecord, ["key"], FLUSH_EVERY)

    def get(self, key: str) -> CachedReply | None:
        row = self._writes.pending.get(key)
        if row is None:
            with self.db.read() as session:
                record = session.get(ResponseCacheRecord, key)
                if record is None:
                    return None
                return CachedReply(
                    record.reply, record.input_tokens, record.output_tokens, record.cost_usd
                )
        return CachedReply(row["reply"], row["input_tokens"], row["output_tokens"], row["cost_usd"])

    def put(self, key: str, model: str, cached: CachedReply) -> None:
        self._writes.add(key, cached.row(key=key, model=model))

    def flush(self) -> None:
        self._writes.flush()

    def count(self) -> int:
        self.flush()
        with self.db.read() as session:
            return session.scalar(select(func.count()).select_from(ResponseCacheRecord)) or 0
