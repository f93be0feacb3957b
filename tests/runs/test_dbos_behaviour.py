"""What rubricate relies on in DBOS, proven against the installed dbos 3.4.0.

Each test drives real worker processes and watches them from this process
(tests/runs/dbos_support.py). Step indexes below are 0-based; DBOS's ``function_id`` is
1-based. This module: how a workflow is enqueued and recovered; test_dbos_endings.py: how
it ends and is reported.

Behaviours that hold (SQLite and PostgreSQL alike wherever both were tried):

1. Enqueue (tested on both). ``DBOSClient(system_database_url=url)`` never creates the schema:
   call ``DBOS.migrate(url)`` (static, no launch) first. ``client.enqueue(options, *args)``
   with ``options: EnqueueOptions = {"workflow_name": "steps", "queue_name": "runs",
   "workflow_id": id}`` (required: workflow_name = the ``@DBOS.workflow(name=...)`` name, else
   the function's ``__qualname__``, and queue_name; optional: workflow_id,
   workflow_id_reuse_policy, app_version, workflow_timeout, delay_seconds, deduplication_id,
   priority, application_name, ...). The row is ENQUEUED with executor_id None, app_version
   None, recovery_attempts 0. A worker that registers the queue after launch picks it up.
   The same id enqueued again (before or after the run, by the client or by
   ``with SetWorkflowID(id): queue.enqueue(fn, *args)`` in a worker) runs once: the default
   reuse policy "return-existing" silently returns the existing workflow and DROPS the new
   arguments; ``workflow_id_reuse_policy="reject"`` raises ``DBOSWorkflowIDInUseError``; the
   same id with another workflow_name raises ``DBOSConflictingWorkflowError``.
   ``Queue(...)`` cannot be constructed: queues come from ``DBOS.register_queue`` (needs a
   launched DBOS), ``DBOS.retrieve_queue`` or ``client.register_queue``.
2. SIGKILL mid-step, relaunch with the same ``executor_id``: launch itself re-enqueues the
   executor's PENDING workflows; the workflow resumes at the step in flight (that step runs
   a second time: at-least-once), finished steps are not run again. Only for the SAME
   application version: a relaunch whose version differs (``DBOS__APPVERSION`` env var, or
   any change to the source of any workflow, since the default version is an MD5 of all
   workflow sources + dbos version + app name) leaves it PENDING. executor_id defaults to
   "local" (source): give every worker its own, since a launch re-enqueues every PENDING
   workflow carrying its executor_id.
3. Another executor never takes a dead executor's PENDING workflow by itself (no heartbeat
   in DBOS: the row stays PENDING with the dead executor_id). A live process calling
   ``DBOS._recover_pending_workflows([dead_executor_id])`` (internal; returns a list of
   handles) re-enqueues it on its original queue; it then resumes at the step in flight on
   the caller (executor_id becomes the caller's, recovery_attempts 2); finished steps are not
   run again. A second call for the same dead id returns [] (idempotent). Holds with two
   worker processes live on one PostgreSQL database AND on one SQLite file. The call only
   recovers workflows of the caller's own application version (source; seen once by hand,
   not asserted here: a caller of another version gets [] silently).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from dbos import DBOSClient
from dbos import error as dbos_error
from tests.runs.dbos_support import (
    BOTH_BACKENDS,
    QUEUE,
    Worker,
    enqueue,
    status,
    wait_next_step_start,
    wait_status,
)
from tests.runs.dbos_support import client as client  # the fixtures, as pytest finds them
from tests.runs.dbos_support import postgres_url as postgres_url
from tests.runs.dbos_support import spawn as spawn
from tests.runs.dbos_support import sqlite_url as sqlite_url
from tests.runs.dbos_support import url as url

# --------------------------------------------------------------------------- 1. enqueue


@BOTH_BACKENDS
def test_enqueued_workflow_runs_once_on_a_worker_registering_the_queue_after_launch(
    client: DBOSClient, spawn: Callable[..., Worker]
) -> None:
    first = enqueue(client, "client-run", 3, 0.05)
    again = enqueue(client, "client-run", 9, 9.0)  # same id: attaches, these args are dropped
    assert again.get_workflow_id() == "client-run"
    queued = status(client, "client-run")
    assert (queued.status, queued.executor_id, queued.queue_name) == ("ENQUEUED", None, QUEUE)
    assert queued.input == {"args": (3, 0.05), "kwargs": {}}
    with pytest.raises(dbos_error.DBOSWorkflowIDInUseError):
        enqueue(client, "client-run", 3, 0.05, workflow_id_reuse_policy="reject")
    with pytest.raises(dbos_error.DBOSConflictingWorkflowError):
        enqueue(client, "client-run", workflow_name="crash")

    worker = spawn("a")
    assert first.get_result(polling_interval_sec=0.05) == [f"client-run:{i}" for i in range(3)]
    # A worker's own enqueue: SetWorkflowID + Queue.enqueue, twice with one id.
    worker.send("enqueue worker-run 2 0.05")
    worker.send("enqueue worker-run 2 0.05")
    worker.wait_for("ENQUEUED worker-run\n", count=2)
    done = wait_status(client, "worker-run", "SUCCESS")
    # Enqueuing a finished id again returns the old handle; nothing runs again.
    assert enqueue(client, "client-run", 3, 0.05).get_result() == first.get_result()
    time.sleep(0.6)  # three polls of the queue
    assert worker.steps("client-run") == [0, 1, 2]
    assert worker.steps("worker-run") == [0, 1]
    assert (done.executor_id, done.queue_name, done.recovery_attempts) == ("a", QUEUE, 1)


# --------------------------------------------------------------------------- 2. same executor


def test_restart_with_the_same_executor_id_resumes_at_the_step_in_flight(
    client: DBOSClient, spawn: Callable[..., Worker]
) -> None:
    handle = enqueue(client, "resume", 5, 0.3)
    first = spawn("a")
    first.wait_for("resume step 2 start")
    first.kill()  # in the middle of step 2's sleep
    dead = status(client, "resume")
    assert (dead.status, dead.executor_id) == ("PENDING", "a")
    assert len(client.list_workflow_steps("resume")) == 2  # steps 0 and 1 are recorded

    # Same executor id but another application version: its launch does not recover it.
    other_version = spawn("a", app_version="other-version")
    other_version.wait_for("READY")
    time.sleep(0.8)
    assert other_version.steps("resume") == []
    assert status(client, "resume").status == "PENDING"
    other_version.kill()

    second = spawn("a")  # launch recovers executor "a"'s PENDING workflows by itself
    assert handle.get_result(polling_interval_sec=0.05) == [f"resume:{i}" for i in range(5)]
    assert first.steps("resume") == [0, 1, 2]
    assert second.steps("resume") == [2, 3, 4]  # step 2 was cut off, so it runs again
    assert [step["function_id"] for step in client.list_workflow_steps("resume")] == [1, 2, 3, 4, 5]
    assert status(client, "resume").recovery_attempts == 2


# --------------------------------------------------------------------------- 3. other executor


@BOTH_BACKENDS
def test_another_executor_takes_over_only_after_recover_pending_workflows(
    client: DBOSClient, spawn: Callable[..., Worker]
) -> None:
    handle = enqueue(client, "takeover", 10, 0.3)
    doomed = spawn("a")
    doomed.wait_for("takeover step 0 start")
    survivor = spawn("b")  # both alive on one system database
    survivor.wait_for("READY")
    in_flight = wait_next_step_start(doomed, "takeover")
    doomed.kill()  # in the middle of step in_flight's sleep
    assert len(client.list_workflow_steps("takeover")) == in_flight

    time.sleep(1.0)  # five polls of the queue by the survivor
    stuck = status(client, "takeover")
    assert (stuck.status, stuck.executor_id) == ("PENDING", "a")
    assert survivor.steps("takeover") == []
    assert client.list_workflows(status="PENDING", executor_id="a")[0].workflow_id == "takeover"

    survivor.send("recover a")
    survivor.wait_for("RECOVERED takeover")
    assert handle.get_result(polling_interval_sec=0.05) == [f"takeover:{i}" for i in range(10)]
    assert doomed.steps("takeover") == list(range(in_flight + 1))
    assert survivor.steps("takeover") == list(range(in_flight, 10))
    done = status(client, "takeover")
    assert (done.status, done.executor_id, done.recovery_attempts) == ("SUCCESS", "b", 2)
    # Recovering the dead executor again finds nothing: the row now names executor "b".
    survivor.send("recover a")
    survivor.wait_for("RECOVERED\n")
