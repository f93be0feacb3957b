"""What rubricate relies on in DBOS, proven against the installed dbos 3.4.0.
How a workflow ends and is reported.

Each test drives real worker processes and watches them from this process
(tests/runs/dbos_support.py). Step indexes below are 0-based; DBOS's ``function_id`` is
1-based. The numbers go on from test_dbos_behaviour.py (1-3: enqueue and recovery).

Behaviours that hold (SQLite and PostgreSQL alike wherever both were tried):

4. ``client.cancel_workflow(id)`` (same as ``DBOS.cancel_workflow``) sets CANCELLED and
   clears queue_name at once. A running workflow's step in flight runs to its end but its
   output is not recorded; no later step starts (DBOS checks for cancellation at the start of
   every step/DBOS call). A second cancel, or cancelling an unknown id, is a silent no-op. An
   ENQUEUED workflow cancelled never runs. ``get_result()`` then raises
   ``DBOSAwaitedWorkflowCancelledError``; executor_id stays the last runner's. The worker
   logs an ERROR traceback for the cancelled workflow (noise, not a failure).
5. ``@DBOS.workflow(name=..., max_recovery_attempts=N)`` (default N = 100): each dispatch from
   a queue adds 1 to recovery_attempts; a dispatch that takes it above N + 1 ends the
   workflow as ``"MAX_RECOVERY_ATTEMPTS_EXCEEDED"`` without running it. With N = 2 and a step
   that SIGKILLs its process: 3 executions (first run + 2 restarts), the 3rd restart
   dead-letters it (recovery_attempts 4, queue_name None) and that worker stays up;
   ``get_result()`` raises ``DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded``.
6. A step that raises (no retries) ends the workflow in ERROR (``status.error`` is the
   exception; ``get_result()`` re-raises it) and is itself recorded with its error.
   ``client.list_workflow_steps(id)`` / ``DBOS.list_workflow_steps(id)`` return StepInfo
   dicts in order: ``function_id`` counts the workflow's DBOS calls from 1 (step index i is
   function_id i + 1 here), plus function_name, output, error, started_at_epoch_ms, ...
   ``client.fork_workflow(id, start_step)`` / ``DBOS.fork_workflow(id, start_step)`` creates a
   new workflow (random UUID; ``forked_from`` = id) that reuses the recorded outputs of the
   steps with function_id < start_step and runs the rest: pass the failed step's
   function_id to resume at it. The original stays ERROR. The fork runs on
   "_dbos_internal_queue" (so outside the "runs" queue's worker_concurrency) unless
   ``queue_name=`` is given.
7. ``client.list_workflows(...)`` and ``client.retrieve_workflow(id).get_status()`` give
   ``WorkflowStatus`` objects (attributes, not a dict): status in {"ENQUEUED", "PENDING",
   "SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED", "DELAYED"}; executor_id
   None until a worker dequeues it, then the last executor to run it (kept after SUCCESS,
   ERROR, CANCELLED, dead letter; a dead worker's PENDING rows keep its id). Filters used:
   workflow_ids, status (str or list), executor_id, queue_name, load_input/load_output=False.
   ``retrieve_workflow`` of an unknown id raises ``DBOSNonExistentWorkflowError``. A workflow
   enqueued onto a queue nobody registered is accepted and stays ENQUEUED.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from dbos import DBOSClient
from dbos import error as dbos_error
from tests.runs.dbos_support import QUEUE, TIMEOUT, Worker, enqueue, status
from tests.runs.dbos_support import client as client  # the fixtures, as pytest finds them
from tests.runs.dbos_support import postgres_url as postgres_url
from tests.runs.dbos_support import spawn as spawn
from tests.runs.dbos_support import sqlite_url as sqlite_url
from tests.runs.dbos_support import url as url

# --------------------------------------------------------------------------- 4. cancel


def test_cancel_stops_a_running_workflow_at_its_next_step_and_an_enqueued_one_at_once(
    client: DBOSClient, spawn: Callable[..., Worker]
) -> None:
    running = enqueue(client, "running", 5, 0.5)
    worker = spawn("a")
    worker.wait_for("running step 1 start")
    waiting = enqueue(client, "waiting", 2, 0.05)  # worker_concurrency=1 keeps it queued
    assert status(client, "waiting").status == "ENQUEUED"
    client.cancel_workflow("waiting")
    client.cancel_workflow("running")
    client.cancel_workflow("running")  # a second cancel is a no-op
    client.cancel_workflow("no-such-workflow")  # so is cancelling an unknown id
    mid_step = "running step 1 end" not in worker.text()
    for cancelled in ("running", "waiting"):
        row = status(client, cancelled)
        assert (row.status, row.queue_name) == ("CANCELLED", None)

    worker.wait_for("running step 1 end")  # the step in flight runs to its end ...
    time.sleep(0.8)  # ... then no step follows, and the freed worker leaves "waiting" alone
    assert worker.steps("running") == [0, 1]
    assert worker.steps("waiting") == []
    assert status(client, "running").executor_id == "a"
    if mid_step:  # cancelled while step 1 ran: its output is not recorded
        assert [step["function_id"] for step in client.list_workflow_steps("running")] == [1]
    with pytest.raises(dbos_error.DBOSAwaitedWorkflowCancelledError):
        running.get_result()
    with pytest.raises(dbos_error.DBOSAwaitedWorkflowCancelledError):
        waiting.get_result()


# --------------------------------------------------------------------------- 5. dead letter


def test_max_recovery_attempts_ends_a_crash_loop(
    client: DBOSClient, spawn: Callable[..., Worker]
) -> None:
    """crash() is @DBOS.workflow(max_recovery_attempts=2) and its only step SIGKILLs the
    process; every launch of executor "a" recovers it until it is dead-lettered."""
    handle = enqueue(client, "crash-loop", workflow_name="crash")
    executions = []
    for _ in range(6):
        worker = spawn("a")
        deadline = time.monotonic() + TIMEOUT
        while worker.process.poll() is None:
            if status(client, "crash-loop").status == "MAX_RECOVERY_ATTEMPTS_EXCEEDED":
                break
            assert time.monotonic() < deadline
            time.sleep(0.05)
        executions.append(worker.text().count("crash-loop kills its process"))
        worker.kill()
        if status(client, "crash-loop").status != "PENDING":
            break
    # Three executions (the first dispatch plus max_recovery_attempts=2 recoveries); the
    # fourth launch dead-letters the workflow without running it, and stays up.
    assert executions == [1, 1, 1, 0]
    final = status(client, "crash-loop")
    assert final.status == "MAX_RECOVERY_ATTEMPTS_EXCEEDED"
    assert (final.recovery_attempts, final.queue_name, final.executor_id) == (4, None, "a")
    with pytest.raises(dbos_error.DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded):
        handle.get_result()


# --------------------------------------------------------------------------- 6. fork


def test_fork_of_a_failed_workflow_reuses_the_outputs_of_the_steps_before_start_step(
    client: DBOSClient, spawn: Callable[..., Worker], tmp_path: Path
) -> None:
    gate = tmp_path / "gate"  # step 2 raises while this file is missing
    failed = enqueue(client, "failed", 4, 0.05, 2, str(gate))
    worker = spawn("a")
    with pytest.raises(RuntimeError, match="step 2 failed"):
        failed.get_result(polling_interval_sec=0.05)
    row = status(client, "failed")
    assert row.status == "ERROR"
    assert isinstance(row.error, RuntimeError)
    recorded = client.list_workflow_steps("failed")
    # function_id counts the workflow's DBOS calls from 1: step index i is function_id i + 1,
    # and the step that raised is recorded too, with its error.
    assert [(s["function_id"], s["function_name"]) for s in recorded] == [
        (1, "step"),
        (2, "step"),
        (3, "step"),
    ]
    assert [s["output"] for s in recorded[:2]] == ["failed:0", "failed:1"]
    assert isinstance(recorded[2]["error"], RuntimeError)

    gate.touch()
    # start_step = the failed step's function_id: steps with a lower function_id are copied.
    fork = client.fork_workflow("failed", recorded[2]["function_id"])
    fork_id = fork.get_workflow_id()
    assert fork.get_result(polling_interval_sec=0.05) == [
        "failed:0",
        "failed:1",
        f"{fork_id}:2",
        f"{fork_id}:3",
    ]
    assert worker.steps(fork_id) == [2, 3]
    forked = status(client, fork_id)
    assert (forked.status, forked.forked_from) == ("SUCCESS", "failed")
    assert forked.queue_name == "_dbos_internal_queue"  # unless fork_workflow(queue_name=...)
    assert status(client, "failed").status == "ERROR"  # the original is left as it was

    # DBOS.fork_workflow in a launched process numbers steps the same way.
    worker.send("fork failed 2")
    worker.wait_for("FORKED ")
    second_id = worker.text().split("FORKED ")[1].split()[0]
    result = client.retrieve_workflow(second_id).get_result(polling_interval_sec=0.05)
    assert result == ["failed:0"] + [f"{second_id}:{i}" for i in (1, 2, 3)]
    assert worker.steps(second_id) == [1, 2, 3]
    assert worker.steps("failed") == [0, 1, 2]


# --------------------------------------------------------------------------- 7. reporting


def test_list_workflows_and_retrieve_workflow_report_status_and_executor(
    client: DBOSClient, spawn: Callable[..., Worker], tmp_path: Path
) -> None:
    parked = enqueue(client, "parked", 1, 0.05, queue_name="nobody-listens")
    ok = enqueue(client, "ok", 1, 0.05)
    bad = enqueue(client, "bad", 1, 0.05, 0, str(tmp_path / "missing"))
    worker = spawn("a")
    assert ok.get_result(polling_interval_sec=0.05) == ["ok:0"]
    with pytest.raises(RuntimeError):
        bad.get_result(polling_interval_sec=0.05)

    rows = {row.workflow_id: row for row in client.list_workflows()}
    assert {key: (row.status, row.executor_id) for key, row in rows.items()} == {
        "parked": ("ENQUEUED", None),  # accepted onto a queue nobody registered, never polled
        "ok": ("SUCCESS", "a"),
        "bad": ("ERROR", "a"),
    }
    assert rows["ok"].output == ["ok:0"]
    assert rows["ok"].app_version == rows["bad"].app_version
    assert rows["parked"].app_version is None  # set by the worker that dequeues it
    assert (rows["parked"].recovery_attempts, rows["ok"].recovery_attempts) == (0, 1)
    assert isinstance(rows["ok"].created_at, int)
    assert isinstance(rows["ok"].completed_at, int)
    assert rows["parked"].completed_at is None
    assert [row.workflow_id for row in client.list_workflows(status="ENQUEUED")] == ["parked"]
    assert {row.workflow_id for row in client.list_workflows(executor_id="a")} == {"ok", "bad"}
    assert {row.workflow_id for row in client.list_workflows(queue_name=QUEUE)} == {"ok", "bad"}
    listed = client.list_workflows(workflow_ids=["ok"], load_input=False, load_output=False)
    assert (listed[0].input, listed[0].output) == (None, None)
    assert parked.get_status().status == "ENQUEUED"
    with pytest.raises(dbos_error.DBOSNonExistentWorkflowError):
        client.retrieve_workflow("no-such-workflow")
    assert worker.steps("parked") == []
