"""What rubricate relies on in DBOS, proven against the installed dbos 3.4.0.

Each test drives real worker processes (``dbos_programs/worker.py``: config name
"rubricate-test", ``system_database_url`` and ``executor_id`` from argv, log_level WARNING;
``DBOS.launch()`` then ``DBOS.register_queue("runs", worker_concurrency=1,
polling_interval_sec=0.2)``) and watches them from this process through a ``DBOSClient``,
which never launches DBOS. System database: a SQLite file in tmp_path, or a fresh PostgreSQL
database per test (RUBRICATE_TEST_DATABASE_URL's server, else rubricate_test@127.0.0.1).
Step indexes below are 0-based; DBOS's ``function_id`` is 1-based.

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

Timings seen here: worker import + launch + register_queue about 0.4-0.5 s on a migrated
database; the first time a queue is registered in a database, its first dequeue comes up to
~1.2 s later (queues are re-listed every 1 s); enqueue to step start on an idle worker ~0.1 s
with polling_interval_sec=0.2; _recover_pending_workflows to step start ~0.15 s; a fork on the
internal queue (polled every 1 s) ~0.7 s. Handles' get_result polls every 1 s unless
polling_interval_sec is passed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from dbos import DBOS, DBOSClient, EnqueueOptions, WorkflowStatus
from dbos import error as dbos_error

WORKER = Path(__file__).resolve().parent / "dbos_programs" / "worker.py"
QUEUE = "runs"  # the queue worker.py registers
TIMEOUT = 20.0  # seconds any single wait may take before the test fails


# --------------------------------------------------------------------------- system databases


def _admin_url() -> sa.URL:
    """The test server's maintenance database; PostgreSQL cases skip where none is given
    (the suite runs on SQLite by default)."""
    configured = os.environ.get("RUBRICATE_TEST_DATABASE_URL", "")
    if not configured.startswith("postgres"):
        pytest.skip("needs PostgreSQL: set RUBRICATE_TEST_DATABASE_URL")
    return sa.make_url(configured).set(drivername="postgresql", database="postgres")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite system database in tmp_path, created the way the CLI must: DBOS.migrate, since
    a DBOSClient never creates or migrates the schema."""
    url = f"sqlite:///{tmp_path / 'dbos-system.sqlite'}"
    DBOS.migrate(url)
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database of its own, dropped afterwards."""
    admin_url = _admin_url()
    admin = sa.create_engine(
        admin_url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    name = f"rubricate_dbos_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            url = admin_url.set(database=name).render_as_string(hide_password=False)
            DBOS.migrate(url)
            yield url
        finally:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture
def url(request: pytest.FixtureRequest) -> str:
    """The system database: SQLite unless the test parametrizes it (indirect) as "postgres"."""
    backend = getattr(request, "param", "sqlite")
    return str(request.getfixturevalue(f"{backend}_url"))


BOTH_BACKENDS = pytest.mark.parametrize("url", ["sqlite", "postgres"], indirect=True)


@pytest.fixture
def client(url: str) -> Iterator[DBOSClient]:
    """A client in this (pytest) process, which never launches DBOS."""
    dbos_client = DBOSClient(system_database_url=url)
    try:
        yield dbos_client
    finally:
        dbos_client.destroy()


# --------------------------------------------------------------------------- worker processes


class Worker:
    """One run of dbos_programs/worker.py; its stdout and stderr go to files in tmp_path."""

    def __init__(self, folder: Path, url: str, executor_id: str, app_version: str) -> None:
        self.executor_id = executor_id
        stem = f"{executor_id}-{uuid.uuid4().hex[:6]}"
        self.out = folder / f"{stem}.out"
        self.err = folder / f"{stem}.err"
        env = dict(os.environ)
        env.pop("DBOS__APPVERSION", None)
        if app_version:  # DBOS's own override of the version it computes from the source
            env["DBOS__APPVERSION"] = app_version
        with self.out.open("w") as out, self.err.open("w") as err:
            self.process = subprocess.Popen(
                [sys.executable, str(WORKER), url, executor_id],
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=err,
                text=True,
                env=env,
            )

    def text(self) -> str:
        return self.out.read_text()

    def steps(self, workflow_id: str) -> list[int]:
        """Indexes of the steps of this workflow that this process started, in order."""
        return [
            int(words[2])
            for words in (line.split() for line in self.text().splitlines())
            if len(words) == 4 and words[0] == workflow_id and words[3] == "start"
        ]

    def wait_for(self, text: str, count: int = 1) -> None:
        deadline = time.monotonic() + TIMEOUT
        while self.text().count(text) < count:
            if self.process.poll() is not None:
                pytest.fail(f"worker {self.executor_id} exited:\n{self.err.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {text!r} from worker {self.executor_id}:\n{self.text()}")
            time.sleep(0.02)

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=TIMEOUT)
        if self.process.stdin is not None:
            with suppress(OSError):
                self.process.stdin.close()


@pytest.fixture
def spawn(tmp_path: Path, url: str) -> Iterator[Callable[..., Worker]]:
    """Starts workers on the test's system database; all are killed at the end, pass or fail."""
    workers: list[Worker] = []

    def start(executor_id: str, app_version: str = "") -> Worker:
        worker = Worker(tmp_path, url, executor_id, app_version)
        workers.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in workers:
            worker.kill()


# --------------------------------------------------------------------------- helpers


def enqueue(client: DBOSClient, workflow_id: str, *args: Any, **options: Any) -> Any:
    """Enqueue the workflow "steps" (COUNT, SECONDS, FAIL_AT, GATE) unless options say else."""
    enqueue_options: EnqueueOptions = {
        "workflow_name": "steps",
        "queue_name": QUEUE,
        "workflow_id": workflow_id,
    }
    enqueue_options.update(options)  # type: ignore[typeddict-item]
    return client.enqueue(enqueue_options, *args)


def status(client: DBOSClient, workflow_id: str) -> WorkflowStatus:
    return client.retrieve_workflow(workflow_id).get_status()


def wait_status(client: DBOSClient, workflow_id: str, wanted: str) -> WorkflowStatus:
    deadline = time.monotonic() + TIMEOUT
    while (current := status(client, workflow_id)).status != wanted:
        assert time.monotonic() < deadline, f"{workflow_id} stayed {current.status}"
        time.sleep(0.05)
    return current


def wait_next_step_start(worker: Worker, workflow_id: str) -> int:
    """Wait until the worker starts a step of the workflow it had not started yet; its index."""
    seen = len(worker.steps(workflow_id))
    deadline = time.monotonic() + TIMEOUT
    while len(started := worker.steps(workflow_id)) <= seen:
        assert time.monotonic() < deadline, worker.text()
        time.sleep(0.02)
    return started[-1]


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
