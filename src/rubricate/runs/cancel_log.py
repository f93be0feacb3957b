"""One line per cancelled run in a worker's log, whichever way the worker met the cancel.

A cancel marks the run, then cancels its workflow. The worker meets it either as DBOS's
cancellation at the workflow's next step (logged by DBOS, reworded by the worker's log
filter) or, when the run's own check saw the mark first and the workflow ended before the
workflow cancel arrived, in the step that reads the run's final status. Both report here,
and only the first report of a run is written."""

from __future__ import annotations

import logging
import threading

log = logging.getLogger("rubricate.worker")

_reported: set[str] = set()
_lock = threading.Lock()


def first_report(run_id: str) -> bool:
    """Whether this is the first report of the run's cancel in this process."""
    with _lock:
        if run_id in _reported:
            return False
        _reported.add(run_id)
        return True


def report_cancelled(run_id: str) -> None:
    if first_report(run_id):
        log.warning("run %s cancelled", run_id)
