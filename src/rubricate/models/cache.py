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
from rubricate.store.tables import ResponseCacheRecord, utcnow
from rubricate.store.upsert import insert_ignoring_duplicates

FLUSH_EVERY = 64


@dataclass(frozen=True, slots=True)
class CachedReply:
    reply: dict[str, Any]
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None


def cache_key(parts: dict[str, Any]) -> str:
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class ResponseCache:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._pending: dict[str, dict[str, Any]] = {}

    def get(self, key: str) -> CachedReply | None:
        row = self._pending.get(key)
        if row is None:
            with self.db.read() as session:
                record = session.get(ResponseCacheRecord, key)
                if record is None:
                    return None
                row = {
                    "reply": record.reply,
                    "input_tokens": record.input_tokens,
                    "output_tokens": record.output_tokens,
                    "cost_usd": record.cost_usd,
                }
        return CachedReply(row["reply"], row["input_tokens"], row["output_tokens"], row["cost_usd"])

    def put(self, key: str, model: str, cached: CachedReply) -> None:
        self._pending[key] = {
            "key": key,
            "model": model,
            "reply": cached.reply,
            "input_tokens": cached.input_tokens,
            "output_tokens": cached.output_tokens,
            "cost_usd": cached.cost_usd,
            "created_at": utcnow(),
        }
        if len(self._pending) >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        rows = list(self._pending.values())
        with self.db.write() as session:
            # Two workers may cache the same call: the first one stays.
            insert_ignoring_duplicates(session, ResponseCacheRecord, rows, ["key"])
        self._pending.clear()

    def count(self) -> int:
        self.flush()
        with self.db.read() as session:
            return session.scalar(select(func.count()).select_from(ResponseCacheRecord)) or 0
