"""Several `rubricate worker` processes on one database (DBOS): a worker killed in the middle
of a run has it finished by another; a slow model call is not a dead worker; a worker
taken for dead that beats again is watched again; a row that crashes its worker every time
ends its run in Error instead of looping.

The workers are subprocesses with `RUBRICATE_WORKER_DEAD_AFTER=3` talking to a fake
OpenAI-compatible server in this process. Its replies can be held at a *gate* (the calls
whose prompt contains a text, after the first N of them, wait until the gate opens), so a
run is stopped at a known point, on a known worker, before a worker is killed: which worker
has the run, and how many calls are in flight, never depends on the machine's speed.

On SQLite the workers share one system database file on one machine, and every worker acts
as leader (recovery is idempotent); on PostgreSQL one of them holds the leader's advisory
lock. The same tests run on both.

The gate, the workers and the fixtures are in multi_worker_support.py.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from dbos import DBOSClient
from tests.runs.multi_worker_support import (
    CALLS_AT_ONCE,
    DEAD_AFTER,
    GATE,
    RECOVERY_BOUND,
    ROWS,
    TINY_METRIC,
    Workers,
    alive,
    freeze_until_taken_for_dead,
    leaders,
    record,
    running_on,
    scores,
    start,
    tiny_dataset,
    uninterrupted,
    workers_env,
    workflow,
)
from tests.runs.multi_worker_support import client as client  # the fixtures, as pytest finds them
from tests.runs.multi_worker_support import fake as fake
from tests.runs.multi_worker_support import rb as rb
from tests.runs.multi_worker_support import server as server
from tests.runs.multi_worker_support import workers as workers

from rubricate import Rubricate
from rubricate.domain.evaluation_runs import EvaluationRunStatus
from rubricate.runs import queue
from rubricate.runs.names import HEARTBEAT_SECONDS, MAX_ATTEMPTS
from rubricate.store.tables import utcnow
from rubricate.testing.fake_openai import FakeOpenAI, RunningFake

POISONED_WORKER = """\
import os
import signal

from rubricate.service.row_scoring import RowScoring

_score_row = RowScoring._score_row


async def _poisoned(self, run, version, client, row):
    if "POISON" in row.input:  # this row always kills its worker
        print("POISON: killing worker", os.getpid(), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    return await _score_row(self, run, version, client, row)


RowScoring._score_row = _poisoned

from rubricate.cli import main

main()
"""


@pytest.fixture
def env(database_url: str, server: RunningFake) -> dict[str, str]:
    return workers_env(database_url, server, batch_rows=8, dead_after=DEAD_AFTER)


# -- a killed worker's run is finished by another -----------------------------------------


def test_the_leader_killed_mid_run_has_its_run_finished_by_the_other_worker(
    rb: Rubricate, fake: FakeOpenAI, workers: Workers, client: DBOSClient
) -> None:
    """Worker A leads (it started first) and takes the run; B starts while A is at it; A is
    SIGKILLed with calls in flight. B must take the lead, see A's heartbeat stop, recover
    the run and finish it: the harder case (when a follower dies, the leader is already
    watching; see the next test)."""
    fake.latency = 0.2
    workers.start("w-a")
    workers.wait(lambda: alive(rb, "w-a") and leaders(rb) == 1, 30, "A up and leading")
    GATE.hold("", after=16)  # two batches answered, the third held in flight
    run_id = start(rb, "leader-killed")
    workers.wait(lambda: GATE.held("") == CALLS_AT_ONCE, 30, "A at the run's third batch")
    assert running_on(client, run_id) == "w-a"
    workers.start("w-b")
    workers.wait(lambda: alive(rb, "w-b"), 30, "B up")
    assert rb.evaluation_runs.get(run_id).rows_done == 16
    in_flight = GATE.held("")

    killed = time.monotonic()
    workers.kill("w-a")
    GATE.open()
    workers.wait(lambda: rb.evaluation_runs.get(run_id).status.finished, 60, "the run")
    recovery = time.monotonic() - killed
    print(f"\nleader killed with {in_flight} calls in flight: run finished {recovery:.1f} s later")

    run = rb.evaluation_runs.get(run_id)
    assert run.status is EvaluationRunStatus.COMPLETED, workers.logs()
    workers.wait(lambda: workflow(client, run_id).status == "SUCCESS", 10, "the workflow's end")
    status = workflow(client, run_id)
    assert status.executor_id == "w-b"
    assert status.recovery_attempts == 2  # A's dispatch and B's
    dead, survivor = record(rb, "w-a"), record(rb, "w-b")
    assert dead is not None and dead.stopped_at is not None  # the leader took it for dead
    assert survivor is not None and survivor.stopped_at is None
    assert leaders(rb) == 1  # B holds the lock now
    # Only the calls in flight at the kill were made again.
    duplicates, total = fake.duplicate_requests, fake.requests_total
    assert duplicates == in_flight <= CALLS_AT_ONCE, (duplicates, total)
    assert total == ROWS + duplicates
    assert recovery <= RECOVERY_BOUND, recovery
    assert sorted(scores(rb, run_id).items()) == sorted(uninterrupted(rb, fake).items())


# -- a worker taken for dead that comes back is watched again ----------------------------


def test_a_worker_once_taken_for_dead_is_watched_again_when_it_beats(
    rb: Rubricate, fake: FakeOpenAI, workers: Workers, client: DBOSClient, tmp_path: Path
) -> None:
    """B (not the leader) is frozen (SIGSTOP) longer than the dead-after, so the leader A
    takes it for dead; B resumes and beats again. It must count as alive again, and when it
    later takes a run and is SIGKILLed, A must recover that run. (A worker whose record kept
    its `stopped_at` was never looked at again: its runs waited for ever.) Workers run one
    run at a time here (`--concurrency 1`; DBOS keeps that limit in the queue's row, shared
    by every worker) and A is kept busy with a blocker run whose last call is held, so the run
    goes to B (with one call fewer at once: the blocker's holds one of the provider's
    leases, which every worker shares)."""
    fake.latency = 0.2
    tiny_dataset(rb, tmp_path / "blocker", "blocker", rows=8, marker="BLOCKER")
    workers.start("w-a", concurrency=1)
    workers.wait(lambda: alive(rb, "w-a") and leaders(rb) == 1, 30, "A up and leading")
    GATE.hold("BLOCKER", after=7)
    blocker = start(rb, "blocker", metric=TINY_METRIC, evaluation="blocker")
    workers.wait(lambda: GATE.held("BLOCKER") > 0, 30, "A busy with the blocker")
    assert running_on(client, blocker) == "w-a"
    workers.start("w-b", concurrency=1)
    workers.wait(lambda: alive(rb, "w-b"), 30, "B up")

    freeze_until_taken_for_dead(rb, workers, "w-b")
    thawed = utcnow()
    workers.wait(lambda: alive(rb, "w-b", since=thawed), 3 * HEARTBEAT_SECONDS, "B alive again")
    assert queue.alive_workers(rb.db, DEAD_AFTER) == 2

    GATE.hold("", after=16)
    run_id = start(rb, "follower-killed")
    at_once = CALLS_AT_ONCE - 1  # the blocker's call holds a lease
    workers.wait(lambda: GATE.held("") == at_once, 30, "B at the run's third batch")
    assert running_on(client, run_id) == "w-b"
    in_flight = GATE.held("")

    killed = time.monotonic()
    workers.kill("w-b")
    GATE.open()  # the blocker finishes, then A is free for the recovered run
    workers.wait(lambda: rb.evaluation_runs.get(run_id).status.finished, 60, "the run")
    recovery = time.monotonic() - killed
    print(
        f"\nfollower killed with {in_flight} calls in flight: run finished {recovery:.1f} s later"
    )

    assert rb.evaluation_runs.get(run_id).status is EvaluationRunStatus.COMPLETED, workers.logs()
    assert rb.evaluation_runs.get(blocker).status is EvaluationRunStatus.COMPLETED
    assert workflow(client, run_id).executor_id == "w-a"
    assert fake.duplicate_requests == in_flight <= CALLS_AT_ONCE
    assert recovery <= RECOVERY_BOUND, recovery
    assert len(scores(rb, run_id)) == ROWS


# -- a slow call is not a dead worker ---------------------------------------------------


def test_a_slow_model_call_is_not_taken_for_a_dead_worker(
    rb: Rubricate, fake: FakeOpenAI, workers: Workers, client: DBOSClient, tmp_path: Path
) -> None:
    """Every call takes 6 s, twice the dead-after: the heartbeat beats from its own thread,
    so neither worker is taken for dead, the run is never recovered, and no call is made
    twice."""
    tiny_dataset(rb, tmp_path / "slow", "slow", rows=8)
    workers.start("w-a")
    workers.start("w-b")
    workers.wait(lambda: alive(rb, "w-a") and alive(rb, "w-b") and leaders(rb) == 1, 30, "A, B")
    fake.latency = 6.0
    run_id = start(rb, "slow-1", metric=TINY_METRIC, evaluation="slow")
    began = time.monotonic()
    workers.wait(lambda: rb.evaluation_runs.get(run_id).status.finished, 60, "the slow run")
    took = time.monotonic() - began

    assert rb.evaluation_runs.get(run_id).status is EvaluationRunStatus.COMPLETED, workers.logs()
    assert took >= 6.0
    assert fake.requests_total == 8 and fake.duplicate_requests == 0
    assert fake.max_in_flight == 8  # one worker's calls, all at once
    status = workflow(client, run_id)
    assert status.recovery_attempts == 1  # dispatched once: never recovered
    for executor_id in ("w-a", "w-b"):
        found = record(rb, executor_id)
        assert found is not None and found.stopped_at is None, executor_id
    assert "is dead" not in workers.logs()


# -- a poison row -----------------------------------------------------------------------


def test_a_row_that_kills_its_worker_every_time_ends_the_run_in_error(
    rb: Rubricate, fake: FakeOpenAI, workers: Workers, client: DBOSClient, tmp_path: Path
) -> None:
    """Two workers run a wrapper that SIGKILLs its own process when it scores a row whose
    input says POISON; the test restarts each killed worker (same executor id), as a
    supervisor would. DBOS counts every dispatch of the workflow; after MAX_ATTEMPTS
    recoveries it dead-letters it (MAX_RECOVERY_ATTEMPTS_EXCEEDED) and the leader ends the
    run in Error, saying how often it stopped its worker. Then nothing loops."""
    tiny_dataset(rb, tmp_path / "poison", "poison", rows=12, poison=5)
    script = tmp_path / "poisoned_worker.py"
    script.write_text(POISONED_WORKER, encoding="utf-8")
    for executor_id in ("w-a", "w-b"):
        workers.start(executor_id, script=script)
    workers.wait(lambda: alive(rb, "w-a") and alive(rb, "w-b") and leaders(rb) == 1, 30, "A, B")

    run_id = start(rb, "poison-1", metric=TINY_METRIC, evaluation="poison")
    crashes = 0
    deadline = time.monotonic() + 75
    while not rb.evaluation_runs.get(run_id).status.finished:
        assert time.monotonic() < deadline, f"still running after {crashes} crashes"
        for executor_id, process in workers.processes.items():
            if process.poll() is not None:
                assert process.returncode == -signal.SIGKILL, workers.logs()
                crashes += 1
                assert crashes <= MAX_ATTEMPTS + 1, "the run keeps crashing its workers"
                workers.restart(executor_id)
        time.sleep(0.1)
    ended = time.time()

    run = rb.evaluation_runs.get(run_id)
    status = workflow(client, run_id)
    print(f"\npoison row: {crashes} crashes, then {status.status}; run {run.status}: {run.error}")
    assert run.status is EvaluationRunStatus.ERROR
    assert status.status == "MAX_RECOVERY_ATTEMPTS_EXCEEDED"
    # DBOS counts every dispatch; the last one is dead-lettered before it runs. With
    # max_recovery_attempts=MAX_ATTEMPTS it runs the workflow MAX_ATTEMPTS + 1 times.
    assert status.recovery_attempts == crashes + 1
    assert MAX_ATTEMPTS <= crashes <= MAX_ATTEMPTS + 1
    assert run.error is not None and f"stopped its worker {crashes} times" in run.error
    # The run record followed the dead letter within a leader's look or two.
    assert status.updated_at is not None
    lag = ended - status.updated_at / 1000
    print(f"run record in Error {lag:.1f} s after the dead letter")
    assert lag <= 2 * HEARTBEAT_SECONDS + 2, lag

    # No loop: the workers stay up, the workflow stays dead-lettered, no more calls.
    calls = fake.requests_total
    time.sleep(2 * HEARTBEAT_SECONDS)
    assert all(p.poll() is None for p in workers.processes.values()), workers.logs()
    assert workflow(client, run_id).status == "MAX_RECOVERY_ATTEMPTS_EXCEEDED"
    assert fake.requests_total == calls
    assert rb.evaluation_runs.get(run_id).status is EvaluationRunStatus.ERROR
