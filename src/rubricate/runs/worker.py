"""A worker process: launches DBOS on the shared database, takes runs from the queue, and
beats a heartbeat from its own thread (so a slow model call never looks like a dead
worker). One worker at a time is the leader (a PostgreSQL advisory lock; on SQLite, one
machine, each worker may act, recovery being idempotent): it hands the runs of workers
whose heartbeat stopped to the live ones, and ends in Error the runs whose workflow gave
up after crashing its worker too often.

Stopped (Ctrl-C, SIGTERM), a worker takes no more runs, lets the steps in flight end while
it still beats (their outputs go unrecorded: DBOS has stopped), then hands the runs it
leaves unfinished to the leader, which recovers them on a live worker at its next look."""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from dbos import DBOS, DBOSClient
from dbos._error import DBOSAwaitedWorkflowCancelledError, DBOSWorkflowCancelledError
from sqlalchemy import select
from sqlalchemy.engine import Connection

from rubricate.domain.alignment_runs import RunStatus
from rubricate.domain.evaluation_runs import EvaluationRunStatus
from rubricate.models import leases, ownership
from rubricate.runs import cancel_log
from rubricate.runs.names import HEARTBEAT_SECONDS, MAX_ATTEMPTS
from rubricate.runs.system import (
    QUEUE,
    SYSTEM_SCHEMA,
    dbos_config,
    new_executor_id,
    system_database_url,
)
from rubricate.settings import Settings
from rubricate.store import leadership
from rubricate.store.database import Database
from rubricate.store.tables import (
    AlignmentRunRecord,
    EvaluationRunRecord,
    WorkerRecord,
    utcnow,
)

log = logging.getLogger("rubricate.worker")
LEADER_LOCK = 7_426_001  # the advisory lock the leader holds
GAVE_UP = ("MAX_RECOVERY_ATTEMPTS_EXCEEDED", "ERROR")
# The heartbeat of a stopped worker that left runs unfinished: old enough for any leader to
# take it for dead, and recover them, at its next look.
HANDED_OVER = datetime(2000, 1, 1, tzinfo=UTC)


class Worker:
    def __init__(
        self, settings: Settings, *, executor_id: str | None = None, concurrency: int = 4
    ) -> None:
        self.settings = settings
        self.executor_id = executor_id or new_executor_id()
        self.concurrency = concurrency
        self.db = Database(settings.database_url)
        self._leader: Connection | None = None

    def run(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set."""
        dbos = DBOS(config=dbos_config(self.settings, self.executor_id))
        quiet = _QuietCancels(self._cancelled)
        logging.getLogger("dbos").addFilter(quiet)
        from rubricate.runs import workflows  # registers the workflows

        workflows.configure(self.settings)
        leases.hold_as(self.executor_id)  # the leader frees them by it if this worker dies
        self._register()
        ownership.renew(time.monotonic() + self.settings.worker_dead_after / 2)
        DBOS.launch()
        steps = dbos._executor  # where DBOS runs the workflows (its steps in flight)
        DBOS.register_queue(QUEUE, worker_concurrency=self.concurrency, polling_interval_sec=0.5)
        stopped_beating = threading.Event()
        beat = threading.Thread(
            target=self._beat, args=(stopped_beating,), name="heartbeat", daemon=True
        )
        beat.start()
        try:
            while not stop.wait(HEARTBEAT_SECONDS):
                if self._lead():
                    self._recover_dead()
                    self._end_given_up()
        finally:
            DBOS.destroy()  # no more runs taken; the steps in flight run on, unrecorded
            if self._leader is not None:
                self._leader.close()
            self._drain(steps)
            stopped_beating.set()
            beat.join()
            self._stopped()
            ownership.reset()
            logging.getLogger("dbos").removeFilter(quiet)
            self.db.dispose()

    def _cancelled(self, run_id: str) -> bool:
        with self.db.read() as session:
            evaluation = session.get(EvaluationRunRecord, run_id)
            alignment = session.get(AlignmentRunRecord, run_id)
        return any(r is not None and r.status == "cancelled" for r in (evaluation, alignment))

    # -- heartbeat -----------------------------------------------------------------------

    def _register(self) -> None:
        with self.db.write() as session:
            # Leases under this id are a former run of this worker's: none is in flight.
            leases.free_held_by(session, [self.executor_id])
            session.merge(
                WorkerRecord(
                    executor_id=self.executor_id,
                    hostname=socket.gethostname()[:200],
                    pid=os.getpid(),
                    started_at=utcnow(),
                    heartbeat_at=utcnow(),
                    stopped_at=None,
                )
            )

    def _beat(self, stop: threading.Event) -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                self.beat()
            except Exception:  # a missed beat is retried; never kill the worker for it
                log.warning("heartbeat failed", exc_info=True)

    def beat(self) -> None:
        """One heartbeat; it renews this worker's ownership of its runs (checked before
        every model call, see models.ownership), or ends it if the worker was taken for
        dead meanwhile (its runs are recovered elsewhere)."""
        began = time.monotonic()
        with self.db.write() as session:
            record = session.get(WorkerRecord, self.executor_id)
            if record is None:
                return
            taken = record.stopped_at is not None
            record.heartbeat_at = utcnow()
            # Taken for dead while paused (GC, VM, network): alive again, so the leader
            # watches it again and recovers its runs if it dies.
            record.stopped_at = None
        if taken:
            ownership.lose()
            log.warning("taken for dead while paused: its runs are another worker's now")
        ownership.renew(began + self.settings.worker_dead_after / 2)

    def _drain(self, steps: ThreadPoolExecutor) -> None:
        """Wait for the steps in flight to end (each workflow then stops at its next step),
        beating meanwhile: were their runs recovered elsewhere now, each would run twice at
        once. A worker killed while it drains is taken for dead as usual."""
        log.info("stopping: waiting for the steps in flight to end")
        steps.shutdown(wait=True)

    def _stopped(self) -> None:
        """A worker that left no run unfinished is stopped. Otherwise it hands them over:
        no stopped_at and a heartbeat long past, so the leader (another worker, or the
        next one to start) recovers them at its next look, and then marks it stopped."""
        handing_over = self._left_unfinished()
        with self.db.write() as session:
            leases.free_held_by(session, [self.executor_id])
            record = session.get(WorkerRecord, self.executor_id)
            if record is None:
                return
            if handing_over:
                record.heartbeat_at = HANDED_OVER
                record.stopped_at = None
            else:
                record.stopped_at = utcnow()

    def _left_unfinished(self) -> bool:
        """Whether workflows of this worker are still PENDING (asked through DBOS's client,
        DBOS itself being stopped); when that cannot be told, they are taken to be."""
        try:
            client = DBOSClient(
                system_database_url=system_database_url(self.settings.database_url),
                dbos_system_schema=SYSTEM_SCHEMA,
            )
            try:
                pending = client.list_workflows(
                    executor_id=self.executor_id,
                    status="PENDING",
                    load_input=False,
                    load_output=False,
                )
            finally:
                client.destroy()
        except Exception:
            log.warning("could not list this worker's workflows: handing them over", exc_info=True)
            return True
        return bool(pending)

    # -- leading -------------------------------------------------------------------------

    def _lead(self) -> bool:
        if self.db.engine.dialect.name != "postgresql":
            return True
        if self._leader is not None and not leadership.still_holds(self._leader):
            # Ended by another worker while this one was taken for dead (paused).
            log.warning("no longer the leader: taken for dead while paused")
            self._leader.close()
            self._leader = None
        if self._leader is None:
            self._leader = self.db.engine.connect()
            if not leadership.try_lead(self._leader, LEADER_LOCK, self.executor_id):
                self._depose_dead_leader(self._leader)
                self._leader.close()
                self._leader = None
                return False
        return True

    def _depose_dead_leader(self, connection: Connection) -> None:
        """End the leader's connection if its worker is taken for dead (heartbeat past the
        dead-after): frozen, it would hold the lock, and every dead worker's runs, forever.
        The next look takes the lock."""
        found = leadership.holder(connection, LEADER_LOCK)
        if found is None or found[1] == self.executor_id:
            return
        pid, executor = found
        since = utcnow() - timedelta(seconds=self.settings.worker_dead_after)
        with self.db.read() as session:
            record = session.get(WorkerRecord, executor)
        if record is None or record.heartbeat_at >= since:
            return  # alive (or no worker of this workspace's): it leads
        if leadership.end_connection(connection, pid):
            log.warning("leader %s is dead: its lock is freed for a live worker", executor)

    def _recover_dead(self) -> None:
        """Hand the pending workflows of workers whose heartbeat stopped to live workers
        (DBOS re-enqueues them; each runs once)."""
        since = utcnow() - timedelta(seconds=self.settings.worker_dead_after)
        with self.db.write() as session:
            dead = list(
                session.scalars(
                    select(WorkerRecord).where(
                        WorkerRecord.heartbeat_at < since,
                        WorkerRecord.stopped_at.is_(None),
                        # A late beat of its own (a busy host) is no death: it is running.
                        WorkerRecord.executor_id != self.executor_id,
                    )
                )
            )
            for record in dead:
                record.stopped_at = utcnow()
            if dead:  # their calls are no longer in flight
                leases.free_held_by(session, [record.executor_id for record in dead])
        for record in dead:
            if record.heartbeat_at == HANDED_OVER:
                log.warning("worker %s stopped: recovering its runs", record.executor_id)
            else:
                log.warning("worker %s is dead: recovering its runs", record.executor_id)
            DBOS._recover_pending_workflows([record.executor_id])

    def _end_given_up(self) -> None:
        """Runs still in flight whose workflow stopped without ending them (it crashed its
        worker every time) end in Error with that said. Only those runs' workflows are
        looked up, so old failures never crowd out new ones."""
        with self.db.read() as session:
            in_flight = [
                *session.scalars(
                    select(AlignmentRunRecord.id).where(
                        AlignmentRunRecord.status.in_(["pending", "running"])
                    )
                ),
                *session.scalars(
                    select(EvaluationRunRecord.id).where(
                        EvaluationRunRecord.status.in_(["pending", "running"])
                    )
                ),
            ]
        if not in_flight:
            return
        for workflow in DBOS.list_workflows(
            workflow_id_prefix=in_flight,
            status=list(GAVE_UP),
            load_input=False,
            load_output=False,
        ):
            run_id = workflow.workflow_id.split(".attempt-")[0]
            # Every dispatch counts, the last one (dead-lettered before it ran) too.
            crashes = (workflow.recovery_attempts or MAX_ATTEMPTS + 1) - 1
            self._fail(run_id, workflow.status, crashes)

    def _fail(self, run_id: str, status: str, crashes: int) -> None:
        reason = (
            f"the run stopped its worker {crashes} times (a row or a reply that crashes "
            "it); see the worker's log"
            if status == "MAX_RECOVERY_ATTEMPTS_EXCEEDED"
            else "the run's workflow failed; see the worker's log"
        )
        with self.db.write() as session:
            for record in (
                session.get(AlignmentRunRecord, run_id),
                session.get(EvaluationRunRecord, run_id),
            ):
                if record is None or record.status in FINISHED:
                    continue
                record.status = "error"
                record.error = reason
                record.finished_at = utcnow()


FINISHED = {s.value for s in RunStatus if s.finished} | {
    s.value for s in EvaluationRunStatus if s.finished
}


_CANCELS = (DBOSWorkflowCancelledError, DBOSAwaitedWorkflowCancelledError)
_WORKFLOW = re.compile(r"[Ww]orkflow (\S+) ")


class _QuietCancels(logging.Filter):
    """A cancelled run is one line in the console: DBOS logs the cancellation its workflow
    meets at the next step as an error with a traceback (and warns that the workflow is no
    longer this execution's). The traceback becomes ``run ID cancelled``; the warning about
    a cancelled run is dropped."""

    def __init__(self, cancelled: Callable[[str], bool]) -> None:
        super().__init__()
        self._cancelled = cancelled

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, _CANCELS):
            found = getattr(error, "workflow_id", None) or _workflow_in(str(error))
            run_id = _run_of(found or "?")
            if not cancel_log.first_report(run_id):
                return False  # its workflow's end reported it already
            record.msg, record.args = "run %s cancelled", (run_id,)
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            return True
        if record.levelno == logging.WARNING and "no longer owned" in str(record.msg):
            found = _workflow_in(record.getMessage())
            try:
                return found is None or not self._cancelled(_run_of(found))
            except Exception:  # a log line never fails the worker
                return True
        return True


def _workflow_in(message: str) -> str | None:
    match = _WORKFLOW.search(message)
    return match.group(1) if match else None


def _run_of(workflow_id: str) -> str:
    return workflow_id.split(".attempt-")[0]
