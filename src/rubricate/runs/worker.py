"""A worker process: launches DBOS on the shared database, takes runs from the queue, and
beats a heartbeat from its own thread (so a slow model call never looks like a dead
worker). One worker at a time is the leader (a PostgreSQL advisory lock; on SQLite, one
machine, each worker may act, recovery being idempotent): it hands the runs of workers
whose heartbeat stopped to the live ones, and ends in Error the runs whose workflow gave
up after crashing its worker too often."""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta

from dbos import DBOS
from sqlalchemy import select, text
from sqlalchemy.engine import Connection

from rubricate.domain.evaluation_runs import EvaluationRunStatus
from rubricate.domain.runs import RunStatus
from rubricate.runs.names import HEARTBEAT_SECONDS, MAX_ATTEMPTS
from rubricate.runs.system import QUEUE, dbos_config, new_executor_id
from rubricate.settings import Settings
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
        DBOS(config=dbos_config(self.settings, self.executor_id))
        from rubricate.runs import workflows  # registers the workflows

        workflows.configure(self.settings)
        self._register()
        DBOS.launch()
        DBOS.register_queue(QUEUE, worker_concurrency=self.concurrency, polling_interval_sec=0.5)
        beat = threading.Thread(target=self._beat, args=(stop,), name="heartbeat", daemon=True)
        beat.start()
        try:
            while not stop.wait(HEARTBEAT_SECONDS):
                if self._lead():
                    self._recover_dead()
                    self._end_given_up()
        finally:
            self._stopped()
            DBOS.destroy()
            if self._leader is not None:
                self._leader.close()
            self.db.dispose()

    # -- heartbeat -----------------------------------------------------------------------

    def _register(self) -> None:
        with self.db.write() as session:
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
                with self.db.write() as session:
                    record = session.get(WorkerRecord, self.executor_id)
                    if record is not None:
                        record.heartbeat_at = utcnow()
                        # Taken for dead while paused (GC, VM, network): alive again, so
                        # the leader watches it again and recovers its runs if it dies.
                        record.stopped_at = None
            except Exception:  # a missed beat is retried; never kill the worker for it
                log.warning("heartbeat failed", exc_info=True)

    def _stopped(self) -> None:
        with self.db.write() as session:
            record = session.get(WorkerRecord, self.executor_id)
            if record is not None:
                record.stopped_at = utcnow()

    # -- leading -------------------------------------------------------------------------

    def _lead(self) -> bool:
        if self.db.engine.dialect.name != "postgresql":
            return True
        if self._leader is None:
            self._leader = self.db.engine.connect()
            held = self._leader.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": LEADER_LOCK}
            ).scalar()
            self._leader.commit()
            if not held:
                self._leader.close()
                self._leader = None
                return False
        return True

    def _recover_dead(self) -> None:
        """Hand the pending workflows of workers whose heartbeat stopped to live workers
        (DBOS re-enqueues them; each runs once)."""
        since = utcnow() - timedelta(seconds=self.settings.worker_dead_after)
        with self.db.write() as session:
            dead = list(
                session.scalars(
                    select(WorkerRecord).where(
                        WorkerRecord.heartbeat_at < since, WorkerRecord.stopped_at.is_(None)
                    )
                )
            )
            for record in dead:
                record.stopped_at = utcnow()
        for record in dead:
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
