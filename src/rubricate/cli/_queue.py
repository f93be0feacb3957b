"""Handing runs to workers from the CLI, and saying whether one is alive to take them."""

from __future__ import annotations

import uuid

from rubricate import Rubricate
from rubricate.domain.errors import Unavailable
from rubricate.settings import Settings


def enqueue(rb: Rubricate, kind: str, run_id: str, *, retry: bool = False) -> None:
    """Queue the run; if it cannot be queued, the run is cancelled (not left Pending with
    nothing to carry it out) and the error says why."""
    from rubricate.runs import queue

    try:
        queue.enqueue(rb.settings, kind, run_id, attempt=uuid.uuid4().hex[:8] if retry else "")
    except Exception as error:
        runs = rb.alignment_runs if kind == "alignment" else rb.evaluation_runs
        runs.cancel(run_id)
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise Unavailable(f"could not queue run {run_id} for a worker: {reason}") from None


def cancel_workflows(settings: Settings, run_id: str) -> None:
    from rubricate.runs import queue

    queue.cancel(settings, [run_id])


def queued_line(rb: Rubricate, run_id: str, group: str) -> str:
    from rubricate.runs.queue import alive_workers

    alive = alive_workers(rb.db, rb.settings.worker_dead_after)
    if alive:
        return f"Run {run_id} is queued; {alive} worker(s) alive will take it."
    return (
        f"Run {run_id} is queued, but no worker is alive to take it: start one with "
        f"`rubricate worker`, or carry it out here with `rubricate {group} run {run_id}`."
    )
