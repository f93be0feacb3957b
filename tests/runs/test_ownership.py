"""A paused worker keeps paying after its run was taken over (issue 12): frozen with
`kill -STOP` past the dead-after, its run recovered elsewhere, then thawed, it went on
calling the model until its step ended (126 requests paid twice). Ownership is checked
before every call now: the heartbeat renews it for half the dead-after; past that, calls
wait for the next beat, which ends it if the worker was taken for dead.

The freeze is simulated in this process: the run's calls are held at the fake server's
gate (8 in flight), the ownership's deadline passes (no beat came: frozen), the gate
opens, and the beat that follows finds the worker's record marked stopped by a leader
(taken for dead). No request may reach the fake server after the deadline passed."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dbos import DBOSClient
from sqlalchemy import update
from tests.runs.multi_worker_support import (
    CALLS_AT_ONCE,
    DEAD_AFTER,
    GATE,
    METRIC,
    MODEL,
    ROWS,
    TINY_METRIC,
    Workers,
    alive,
    freeze_until_taken_for_dead,
    leaders,
    running_on,
    start,
    tiny_dataset,
    workers_env,
)
from tests.runs.multi_worker_support import client as client  # the fixtures, as pytest finds them
from tests.runs.multi_worker_support import fake as fake
from tests.runs.multi_worker_support import rb as rb
from tests.runs.multi_worker_support import server as server
from tests.runs.multi_worker_support import workers as workers
from tests.runs.workers import wait_for

from rubricate import Rubricate
from rubricate.demo import EVALUATION
from rubricate.domain.evaluation_runs import EvaluationRunStatus
from rubricate.models import ownership
from rubricate.runs.worker import Worker
from rubricate.store.tables import WorkerRecord, utcnow
from rubricate.testing.fake_openai import (
    FakeOpenAI,
    FakeReply,
    FakeRequest,
    RunningFake,
    judge_responder,
)

ANSWERED = 16


@pytest.fixture
def worker(rb: Rubricate) -> Iterator[Worker]:
    found = Worker(rb.settings, executor_id="w-frozen")
    found._register()
    found.beat()
    try:
        yield found
    finally:
        ownership.reset()
        found.db.dispose()


def frozen_run(rb: Rubricate, fake: FakeOpenAI, run_id: str) -> tuple[threading.Thread, list]:
    """The run carried out in a thread until 8 calls are held in flight; then the worker
    'freezes': its ownership's deadline passes, and the held calls are answered."""
    rb.evaluation_runs.start(metric=METRIC, evaluation=EVALUATION, model=MODEL, run_id=run_id)
    GATE.hold("", after=ANSWERED)
    outcome: list[BaseException | None] = []

    def carry_out() -> None:
        try:
            rb.evaluation_runs.run(run_id)
        except BaseException as error:  # the test reads it
            outcome.append(error)
        else:
            outcome.append(None)

    thread = threading.Thread(target=carry_out)
    thread.start()
    wait_for(lambda: GATE.held("") == 8, 30, "8 calls held in flight")
    ownership.renew(time.monotonic() - 1)  # no beat came in time: frozen
    GATE.open()
    time.sleep(1.0)  # the held replies are in; any new call would have been sent by now
    assert fake.requests_total == ANSWERED + 8
    return thread, outcome


def test_a_worker_taken_for_dead_while_frozen_makes_no_further_call(
    rb: Rubricate, fake: FakeOpenAI, worker: Worker
) -> None:
    thread, outcome = frozen_run(rb, fake, "frozen-1")
    with rb.db.write() as session:  # meanwhile a leader took it for dead
        session.execute(
            update(WorkerRecord)
            .where(WorkerRecord.executor_id == worker.executor_id)
            .values(stopped_at=utcnow())
        )
    worker.beat()  # thawed: the first beat finds it
    thread.join(30)
    assert not thread.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], ownership.OwnershipLost), outcome
    assert fake.requests_total == ANSWERED + 8  # not one call after the deadline
    run = rb.evaluation_runs.get("frozen-1")
    assert run.status is EvaluationRunStatus.RUNNING  # the new owner's, untouched
    assert run.rows_done == 0 and run.error is None


def test_a_late_beat_that_finds_the_worker_alive_lets_the_calls_go_on(
    rb: Rubricate, fake: FakeOpenAI, worker: Worker
) -> None:
    thread, outcome = frozen_run(rb, fake, "late-beat-1")
    worker.beat()  # not taken for dead: the ownership is renewed
    thread.join(60)
    assert outcome == [None]
    run = rb.evaluation_runs.get("late-beat-1")
    assert run.status is EvaluationRunStatus.COMPLETED
    assert run.calls == fake.requests_total == run.rows_total


# -- two real workers: the owner frozen with SIGSTOP ------------------------------------


class TwoGates:
    """Holds the blocker's calls after its first 7, and the run's after its first 16, each
    until its own gate opens (GATE opens every held call at once)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.after = {"blocker": 7, "run": 16}
        self.seen = {"blocker": 0, "run": 0}
        self.held = {"blocker": 0, "run": 0}
        self.opened = {"blocker": False, "run": False}

    async def respond(self, request: FakeRequest) -> FakeReply:
        kind = "blocker" if "BLOCKER" in request.last_user_message else "run"
        with self.lock:
            self.seen[kind] += 1
            hold = self.seen[kind] > self.after[kind] and not self.opened[kind]
            self.held[kind] += hold
        while hold and not self.opened[kind]:
            await asyncio.sleep(0.02)
        return judge_responder(request)


@pytest.fixture
def env(database_url: str, server: RunningFake) -> dict[str, str]:
    # One step for the whole run: the frozen owner has rows left to call when it thaws.
    return workers_env(database_url, server, batch_rows=48, dead_after=DEAD_AFTER)


def test_a_frozen_owner_thawed_after_its_run_was_taken_over_pays_no_more(
    rb: Rubricate, fake: FakeOpenAI, workers: Workers, client: DBOSClient, tmp_path: Path
) -> None:
    """B owns the run (A, the leader, is kept busy by a blocker at concurrency 1), with 16
    calls answered and the rest of its first wave held; B is frozen until A takes it for
    dead, then thawed. Once its beat has seen that, B's held calls are answered (A still
    busy): B must send nothing more (126 requests were paid twice before). Then A finishes
    the run, sending again only what B had in flight."""
    gates = TwoGates()
    fake.responder = gates.respond
    try:
        fake.latency = 0.1
        tiny_dataset(rb, tmp_path / "blocker", "blocker", rows=8, marker="BLOCKER")
        workers.start("w-a", concurrency=1)
        workers.wait(lambda: alive(rb, "w-a") and leaders(rb) == 1, 30, "A up and leading")
        blocker = start(rb, "blocker", metric=TINY_METRIC, evaluation="blocker")
        workers.wait(lambda: gates.held["blocker"] == 1, 30, "A busy with the blocker")
        workers.start("w-b", concurrency=1)
        workers.wait(lambda: alive(rb, "w-b"), 30, "B up")

        run_id = start(rb, "frozen-owner")
        at_once = CALLS_AT_ONCE - 1  # the blocker's call holds a lease
        workers.wait(lambda: gates.held["run"] == at_once, 30, "B's first wave held")
        assert running_on(client, run_id) == "w-b"

        freeze_until_taken_for_dead(rb, workers, "w-b")
        log = workers.log("w-b")
        workers.wait(lambda: "taken for dead while paused" in log.read_text(), 30, "B's beat")
        gates.opened["run"] = True  # B's held calls are answered, A still busy
        time.sleep(3.0)
        gates.opened["blocker"] = True  # A is free for the recovered run
        workers.wait(lambda: rb.evaluation_runs.get(run_id).status.finished, 90, "the run")
        workers.wait(lambda: rb.evaluation_runs.get(blocker).status.finished, 30, "blocker")
    finally:
        gates.opened = {"blocker": True, "run": True}
    assert rb.evaluation_runs.get(run_id).status is EvaluationRunStatus.COMPLETED, workers.logs()
    # Only what B had in flight at the freeze may have been sent twice (A sends it again);
    # B's remaining rows were sent by A alone (8 more requests are the blocker's).
    assert fake.duplicate_requests <= at_once, (fake.duplicate_requests, workers.logs())
    assert fake.requests_total <= ROWS + 8 + at_once
