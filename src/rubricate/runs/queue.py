"""Handing runs to workers, from any process (the CLI, the API): enqueue, cancel, and
whether any worker is alive. Uses DBOS's client, so the calling process runs no workflow
code and needs no DBOS launch."""

from __future__ import annotations

from datetime import timedelta

from dbos import DBOS, DBOSClient, EnqueueOptions
from sqlalchemy import func, select

from rubricate.runs.control import VerifyState
from rubricate.runs.names import (
    ALIGNMENT,
    DEAD_AFTER_SECONDS,
    EVALUATION,
    NOT_VERIFIED_AGAIN,
    VERIFY,
    VERIFY_ATTEMPT,
)
from rubricate.runs.system import QUEUE, SYSTEM_SCHEMA, system_database_url
from rubricate.settings import Settings
from rubricate.store.database import Database
from rubricate.store.tables import WorkerRecord, utcnow

KINDS = {"evaluation": EVALUATION, "alignment": ALIGNMENT, "verify": VERIFY}


_migrated: set[str] = set()


def _client(settings: Settings) -> DBOSClient:
    url = system_database_url(settings.database_url)
    if url not in _migrated:  # the first enqueue may come before any worker started
        DBOS.migrate(url, schema=SYSTEM_SCHEMA)
        _migrated.add(url)
    return DBOSClient(system_database_url=url, dbos_system_schema=SYSTEM_SCHEMA)


def enqueue(settings: Settings, kind: str, run_id: str, *, attempt: str = "") -> str:
    """Queue the run for a worker. The workflow id is the run id (its first attempt) so
    that enqueuing the same run twice runs it once; a retry is a new attempt."""
    workflow_id = f"{run_id}.attempt-{attempt}" if attempt else run_id
    client = _client(settings)
    try:
        options: EnqueueOptions = {
            "workflow_name": KINDS[kind],
            "queue_name": QUEUE,
            "workflow_id": workflow_id,
        }
        client.enqueue(options, run_id)
    finally:
        client.destroy()
    return workflow_id


def cancel(settings: Settings, workflow_ids: list[str]) -> None:
    """Cancel the runs' workflows: a queued one never starts, a running one stops at its
    next step (the run record says Cancelled already)."""
    client = _client(settings)
    try:
        for workflow_id in workflow_ids:
            try:
                client.cancel_workflow(workflow_id)
            except Exception:  # never enqueued (run here with --wait)
                continue
    finally:
        client.destroy()


def cancel_run(settings: Settings, run_id: str) -> None:
    """Cancel every workflow of the run that has not ended: its first attempt and each
    retry's (RUN.attempt-…), so that a retried run cancelled while queued never starts."""
    client = _client(settings)
    try:
        unfinished = client.list_workflows(
            workflow_id_prefix=run_id,
            status=["ENQUEUED", "PENDING"],
            load_input=False,
            load_output=False,
        )
        for workflow in unfinished:
            ours = workflow.workflow_id == run_id or workflow.workflow_id.startswith(
                f"{run_id}.attempt-"
            )  # not another run's, whose id merely starts with this one
            if ours:
                client.cancel_workflow(workflow.workflow_id)
    finally:
        client.destroy()


def verify_state(settings: Settings, run_id: str) -> VerifyState:
    """Whether the run's latest Verify again is queued or running, else why it ended
    without storing a check (refused, failed, cancelled); nothing when there was none or
    it stored one."""
    client = _client(settings)
    try:
        found = client.list_workflows(
            workflow_id_prefix=f"{run_id}.attempt-{VERIFY_ATTEMPT}",
            limit=1,
            sort_desc=True,
            load_input=False,
            load_output=True,
        )
    finally:
        client.destroy()
    if not found:
        return VerifyState()
    latest = found[0]
    if latest.status in ("ENQUEUED", "PENDING"):
        return VerifyState(pending=True)
    if latest.status == "SUCCESS":
        output = str(latest.output or "")
        if output.startswith(NOT_VERIFIED_AGAIN):
            return VerifyState(failure=output.removeprefix(NOT_VERIFIED_AGAIN))
        return VerifyState()
    if latest.status == "CANCELLED":
        return VerifyState(failure="it was cancelled")
    error = str(latest.error or latest.status).splitlines()
    return VerifyState(failure=f"it failed: {error[0] if error else latest.status}")


def verifying(settings: Settings, run_id: str) -> bool:
    """Whether a Verify again of the run is queued or running."""
    return verify_state(settings, run_id).pending


def alive_workers(db: Database, dead_after: float = DEAD_AFTER_SECONDS) -> int:
    since = utcnow() - timedelta(seconds=dead_after)
    with db.read() as session:
        count = session.scalar(
            select(func.count())
            .select_from(WorkerRecord)
            .where(WorkerRecord.heartbeat_at >= since, WorkerRecord.stopped_at.is_(None))
        )
    return count or 0
