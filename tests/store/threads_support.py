"""Work racing in threads: each piece in its own thread, all let go at once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def race(work: Sequence[Callable[[], T]], who: str = "a thread") -> list[T | BaseException]:
    """Run each of ``work`` in its own thread, all at once; what each returned or raised.
    Fails if one is still running a minute on (``who`` hangs)."""
    outcomes: list[T | BaseException] = [RuntimeError("did not finish")] * len(work)
    barrier = threading.Barrier(len(work))

    def run(i: int) -> None:
        try:
            barrier.wait()
            outcomes[i] = work[i]()
        except BaseException as error:  # the test reads it, not lost in the thread
            outcomes[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), f"{who} hangs"
    return outcomes
