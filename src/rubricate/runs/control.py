"""What a person does to a durable run, written once for the CLI, the REST API and the web:
queue it once started, cancel it, retry it, verify its guidelines again. Each
use case does both halves, the run's status (the service) and its workflow (the workers'
queue), by one rule:

- a run is queued only while it is not finished (a repeated start of a finished run
  queues nothing); a run that cannot be queued is cancelled, not left Pending with
  nothing to carry it out, and the error says why;
- cancelling a run in flight cancels its workflow too; cancelling a finished run changes
  nothing anywhere (neither its status nor any workflow);
- a retry makes an Error run Pending and queues it as a new attempt (its finished model
  calls are replayed); Verify again queues a new attempt of an Aligned run, which stays
  Aligned, and a refusal to queue changes nothing.

It lives in ``runs/`` because it is the layer above both the services and DBOS; DBOS is
imported only when a queue is first used, so a CLI command that never queues stays fast.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from rubricate.domain.errors import Unavailable
from rubricate.runs.names import VERIFY_ATTEMPT

if TYPE_CHECKING:
    from rubricate.domain.alignment_runs import AlignmentRun
    from rubricate.domain.evaluation_runs import EvaluationRun
    from rubricate.service.workspace import Rubricate
    from rubricate.settings import Settings
    from rubricate.store.database import Database


@dataclass(frozen=True)
class VerifyState:
    """The latest Verify again of a run: under way, or why it ended without a new check."""

    pending: bool = False
    failure: str | None = None


class Workers(Protocol):
    """The workers' queue as the use cases need it (a test may hand in another)."""

    def enqueue(self, kind: str, run_id: str, *, attempt: str = "") -> None: ...

    def cancel(self, run_id: str) -> None: ...

    def alive_workers(self) -> int: ...


class WorkerQueue:
    """The workers' queue in the database DBOS keeps beside ours (rubricate.runs.queue)."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self._settings = settings
        self._db = db

    def enqueue(self, kind: str, run_id: str, *, attempt: str = "") -> None:
        from rubricate.runs import queue

        queue.enqueue(self._settings, kind, run_id, attempt=attempt)

    def cancel(self, run_id: str) -> None:
        from rubricate.runs import queue

        queue.cancel_run(self._settings, run_id)

    def alive_workers(self) -> int:
        from rubricate.runs.queue import alive_workers

        return alive_workers(self._db, self._settings.worker_dead_after)


class _Status(Protocol):
    @property
    def finished(self) -> bool: ...


class _Run(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def status(self) -> _Status: ...


R = TypeVar("R", bound=_Run)
R_co = TypeVar("R_co", bound=_Run, covariant=True)


class _RunRecords(Protocol[R_co]):
    """What the alignment and evaluation run services both offer."""

    def get(self, run_id: str) -> R_co: ...

    def cancel(self, run_id: str) -> R_co: ...

    def retry(self, run_id: str) -> R_co: ...


class QueuedRuns(Generic[R]):
    """One kind of run's use cases that involve the workers: queue, cancel, retry."""

    def __init__(self, kind: str, records: _RunRecords[R], workers: Workers) -> None:
        self._kind = kind
        self._records = records
        self._workers = workers

    def queue(self, run: R) -> bool:
        """Hand a run its service just started to the workers, unless it is finished (a
        repeated start of a run that ended); whether it was queued. Starting is the
        service's alone (``rb.alignment_runs.start``, ``rb.evaluation_runs.start``), so
        that a start carried out here (``--wait``) is the same start."""
        if run.status.finished:
            return False
        self._enqueue(run.id, attempt="")
        return True

    def cancel(self, run_id: str) -> R:
        """Cancel a run in flight, its status and its workflow; a finished run is left as
        it is, and cancelling it again succeeds."""
        before = self._records.get(run_id)
        run = self._records.cancel(run_id)
        if not before.status.finished:
            self._workers.cancel(run.id)
        return run

    def retry(self, run_id: str) -> R:
        """An Error run, Pending again and queued as a new attempt."""
        run = self._records.retry(run_id)
        self._enqueue(run.id, attempt=uuid.uuid4().hex[:8])
        return self._records.get(run.id)

    def _enqueue(self, run_id: str, *, attempt: str) -> None:
        try:
            self._workers.enqueue(self._kind, run_id, attempt=attempt)
        except Exception as error:
            self._records.cancel(run_id)
            raise _not_queued(run_id, error) from None


class RunControl:
    """The run use cases of one workspace, over one workers' queue."""

    def __init__(self, rb: Rubricate, workers: Workers | None = None) -> None:
        self._rb = rb
        self.workers: Workers = workers or WorkerQueue(rb.settings, rb.db)
        self.alignment: QueuedRuns[AlignmentRun] = QueuedRuns(
            "alignment", rb.alignment_runs, self.workers
        )
        self.evaluation: QueuedRuns[EvaluationRun] = QueuedRuns(
            "evaluation", rb.evaluation_runs, self.workers
        )

    def verify_again(self, run_id: str) -> AlignmentRun:
        """Check an Aligned run's guidelines again, by a worker: refused by the use case
        first (not Aligned, reviewed, nothing to check, no judge model), then queued as a
        new attempt of the run, which stays Aligned whether or not that works."""
        run = self._rb.verifying.request(run_id)
        try:
            attempt = f"{VERIFY_ATTEMPT}{uuid.uuid4().hex[:8]}"
            self.workers.enqueue("verify", run.id, attempt=attempt)
        except Exception as error:
            raise _not_queued(run.id, error) from None
        return run

    def alive_workers(self) -> int:
        return self.workers.alive_workers()


def _not_queued(run_id: str, error: Exception) -> Unavailable:
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    return Unavailable(f"could not queue run {run_id} for a worker: {reason}")
