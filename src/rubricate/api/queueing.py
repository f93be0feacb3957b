"""Handing runs to the workers (rubricate.runs.queue), behind one small object so that an
app can be given another (a test that wants no DBOS system database)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from rubricate.settings import Settings
from rubricate.store.database import Database


class RunQueue:
    def __init__(self, settings: Settings, db: Database) -> None:
        self._settings = settings
        self._db = db

    def enqueue(self, kind: str, run_id: str, *, attempt: str = "") -> None:
        from rubricate.runs import queue

        queue.enqueue(self._settings, kind, run_id, attempt=attempt)

    def cancel(self, run_id: str) -> None:
        from rubricate.runs import queue

        queue.cancel(self._settings, [run_id])

    def alive_workers(self) -> int:
        from rubricate.runs.queue import alive_workers

        return alive_workers(self._db, self._settings.worker_dead_after)


def _queue(request: Request) -> RunQueue:
    run_queue: RunQueue = request.app.state.run_queue
    return run_queue


Queue = Annotated[RunQueue, Depends(_queue)]
