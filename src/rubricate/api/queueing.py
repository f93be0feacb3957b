"""Handing runs to the workers (rubricate.runs.queue), behind one small object so that an
app can be given another (a test that wants no DBOS system database)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from rubricate.domain.errors import Unavailable
from rubricate.settings import Settings
from rubricate.store.database import Database

if TYPE_CHECKING:
    from rubricate.service.workspace import Rubricate


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


def enqueue_or_cancel(
    rb: Rubricate, queue: RunQueue, kind: str, run_id: str, *, retry: bool
) -> None:
    """Hand the run to the workers; when it cannot be queued the run is cancelled (not left
    Pending with nothing to carry it out), and the error says why. Shared by the REST API
    and the web UI."""
    try:
        queue.enqueue(kind, run_id, attempt=uuid.uuid4().hex[:8] if retry else "")
    except Exception as error:
        runs = rb.alignment_runs if kind == "alignment" else rb.evaluation_runs
        runs.cancel(run_id)
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise Unavailable(f"could not queue run {run_id} for a worker: {reason}") from None


def queued_message(alive: int) -> str:
    """What a user is told about a run just queued, given the workers alive."""
    if alive:
        return f"queued; {alive} worker(s) alive will take it"
    return "queued, but no worker is alive to take it: start one with `rubricate worker`"


def _queue(request: Request) -> RunQueue:
    run_queue: RunQueue = request.app.state.run_queue
    return run_queue


Queue = Annotated[RunQueue, Depends(_queue)]
