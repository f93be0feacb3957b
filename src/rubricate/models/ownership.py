"""Whether this process still owns the runs it is carrying out, checked before every model
call (not only at a step's end): a worker paused longer than the dead-after (SIGSTOP, a
stalled VM) is taken for dead and its runs are recovered elsewhere; resumed, it must not
pay for their calls again.

The worker's heartbeat thread keeps the state: each beat that finds the worker still
alive in the database makes the ownership good for half the dead-after from when it began
(the leader cannot take it for dead sooner); a beat that finds it was taken for dead
meanwhile ends the ownership of everything it had (a new *generation*). Before a call, a
client compares two numbers and a clock: cheap. Past the deadline it waits for the next
beat, which either renews the ownership or ends it. A process that is not a worker (the
CLI, a notebook) never has its ownership expire."""

from __future__ import annotations

import asyncio
import math
import threading
import time

_POLL_SECONDS = 0.05


class OwnershipLost(Exception):
    """This worker was taken for dead while its run was in flight: the run is another
    worker's now. The step stops without touching the run (it is not an error of it)."""


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.generation = 0
        self.good_until = math.inf


_state = _State()


def generation() -> int:
    """The generation a piece of work starts in; its calls stop once it has changed."""
    return _state.generation


def renew(good_until: float) -> None:
    """A beat found the worker alive: its runs are its own until ``good_until``
    (``time.monotonic()``)."""
    with _state.lock:
        _state.good_until = good_until


def lose() -> None:
    """A beat found the worker taken for dead: the runs it had are elsewhere now."""
    with _state.lock:
        _state.generation += 1


def reset() -> None:
    """Never expires (a process that is not a worker, or one that has stopped)."""
    with _state.lock:
        _state.good_until = math.inf


def check(started_in: int) -> bool:
    """Whether work started in generation ``started_in`` may call now: False when the
    ownership is past its deadline (wait for the next beat); raises when it is lost."""
    if _state.generation != started_in:
        raise OwnershipLost("this worker was taken for dead: its run is another worker's now")
    return time.monotonic() <= _state.good_until


async def owned(started_in: int) -> None:
    """Return when work of generation ``started_in`` may make a call; raise
    OwnershipLost when it may never again."""
    while not check(started_in):
        await asyncio.sleep(_POLL_SECONDS)
