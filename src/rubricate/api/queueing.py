"""The app's workers' queue (rubricate.runs.control's, held in the app's state so that a
test may give another: one that wants no DBOS system database) and the run use cases over
it, as dependencies of the API's and the web's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from rubricate.api.deps import Workspace
from rubricate.runs.control import RunControl, VerifyState, WorkerQueue


class RunQueue(WorkerQueue):
    """The workers' queue of the use cases (rubricate.runs.control), and what a page asks
    of it besides."""

    def verify_state(self, run_id: str) -> VerifyState:
        """The run's latest Verify again: waiting for or with a worker, or why it ended
        without a new check; nothing when the workers' database cannot say (a page still
        shows, without the notice)."""
        from rubricate.runs import queue

        try:
            return queue.verify_state(self._settings, run_id)
        except Exception:
            return VerifyState()


def queued_message(alive: int) -> str:
    """What a user is told about a run just queued, given the workers alive."""
    if alive:
        return f"queued; {alive} worker(s) alive will take it"
    return "queued, but no worker is alive to take it: start one with `rubricate worker`"


def queue_reply(control: RunControl, status: str, queued: bool) -> tuple[int, str]:
    """The workers alive, and what a caller is told of a run it started or retried (a
    repeated start of a run that ended queues nothing)."""
    alive = control.alive_workers()
    return alive, queued_message(alive) if queued else f"the run is {status} already"


def _queue(request: Request) -> RunQueue:
    run_queue: RunQueue = request.app.state.run_queue
    return run_queue


Queue = Annotated[RunQueue, Depends(_queue)]


def _control(rb: Workspace, queue: Queue) -> RunControl:
    return RunControl(rb, queue)


Control = Annotated[RunControl, Depends(_control)]
"""The run use cases (start, cancel, retry, verify again) over the app's workers' queue."""
