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
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from dbos import DBOS, DBOSClient, WorkflowStatus
from sqlalchemy import select, text
from tests.fake_server_support import use_fake
from tests.runs.workers import WORKER, demo_workspace, wait_for, worker_env

from rubricate import Rubricate, Settings
from rubricate.demo import EVALUATION
from rubricate.domain.evaluation_runs import EvaluationRunStatus
from rubricate.runs import queue
from rubricate.runs.names import HEARTBEAT_SECONDS, MAX_ATTEMPTS
from rubricate.runs.system import SYSTEM_SCHEMA, system_database_url
from rubricate.runs.worker import LEADER_LOCK
from rubricate.store.tables import JudgeResultRecord, WorkerRecord, utcnow
from rubricate.testing.fake_openai import (
    FakeOpenAI,
    FakeReply,
    FakeRequest,
    RunningFake,
    judge_responder,
    running,
)

METRIC = "answer_helpfulness"  # the demo's metric
TINY_METRIC = "helpfulness"  # built in: for the tiny data sets written here
MODEL = "openai-chat:fake-judge"
KEY = "sk-multi-worker-key-3"
ROWS = 48  # the demo's rows
DEAD_AFTER = 3.0
CALLS_AT_ONCE = Settings().default_concurrency  # per provider, every worker together
# Kill to completion: the heartbeat's age at the kill (< one beat) plus DEAD_AFTER, the
# leader's next look (< one beat; on PostgreSQL the survivor may first need one more beat
# to take the lock), a queue poll (0.5 s) and the rest of the run (~1 s).
RECOVERY_BOUND = DEAD_AFTER + 3 * HEARTBEAT_SECONDS + 4.0

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


# -- the fake model, with a gate --------------------------------------------------------


class Gate:
    """Holds replies while closed: `hold(match, after)` lets the first `after` calls whose
    prompt contains `match` through and holds the later ones until `open()`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: dict[str, list[int]] = {}  # match: [after, seen, held]
        self._generation = 0

    def hold(self, match: str, after: int) -> None:
        with self._lock:
            self._rules[match] = [after, 0, 0]

    def held(self, match: str) -> int:
        with self._lock:
            rule = self._rules.get(match)
            return rule[2] if rule else 0

    def open(self) -> None:
        with self._lock:
            self._rules = {}
            self._generation += 1

    async def respond(self, request: FakeRequest) -> FakeReply:
        prompt = request.last_user_message
        with self._lock:
            generation = self._generation
            rule = next((r for m, r in self._rules.items() if m in prompt), None)
            if rule is not None:
                rule[1] += 1
                if rule[1] > rule[0]:
                    rule[2] += 1
                else:
                    rule = None
        if rule is not None:
            while self._generation == generation:
                await asyncio.sleep(0.02)
        return judge_responder(request)


GATE = Gate()


@pytest.fixture(scope="module")
def server() -> Iterator[RunningFake]:
    with running() as started:
        yield started


@pytest.fixture
def fake(server: RunningFake, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    GATE.open()
    fake = use_fake(server, monkeypatch, KEY)
    fake.responder = GATE.respond
    try:
        yield fake
    finally:
        GATE.open()  # calls still held return, so the server can stop


@pytest.fixture
def rb(database_url: str) -> Iterator[Rubricate]:
    yield from demo_workspace(database_url)


@pytest.fixture
def env(database_url: str, server: RunningFake) -> dict[str, str]:
    return workers_env(database_url, server, batch_rows=8, dead_after=DEAD_AFTER)


def workers_env(
    database_url: str, server: RunningFake, batch_rows: int, dead_after: float
) -> dict[str, str]:
    """The workers' environment: ``batch_rows`` rows a durable step, taken for dead after
    ``dead_after`` seconds without a beat."""
    return worker_env(
        database_url,
        server.base_url,
        KEY,
        RUBRICATE_RUN_BATCH_ROWS=str(batch_rows),
        RUBRICATE_WORKER_DEAD_AFTER=f"{dead_after:g}",
    )


@pytest.fixture
def client(rb: Rubricate) -> Iterator[DBOSClient]:
    url = system_database_url(rb.settings.database_url)
    DBOS.migrate(url, schema=SYSTEM_SCHEMA)  # as the first enqueue does
    dbos = DBOSClient(system_database_url=url, dbos_system_schema=SYSTEM_SCHEMA)
    try:
        yield dbos
    finally:
        dbos.destroy()


# -- worker processes -------------------------------------------------------------------


class Workers:
    """`rubricate worker` subprocesses (or a wrapper script's), all killed at the end."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env = env
        self.folder = folder
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.commands: dict[str, list[str]] = {}

    def start(self, executor_id: str, *, script: Path | None = None, concurrency: int = 4) -> None:
        program = [str(script)] if script is not None else ["-c", WORKER]
        command = [sys.executable, *program, "worker", "--executor-id", executor_id]
        command += ["--concurrency", str(concurrency)]
        self.commands[executor_id] = command
        with self.log(executor_id).open("ab") as out:
            self.processes[executor_id] = subprocess.Popen(
                command, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    def restart(self, executor_id: str) -> None:
        """The same worker (executor id) again, as a supervisor would."""
        with self.log(executor_id).open("ab") as out:
            self.processes[executor_id] = subprocess.Popen(
                self.commands[executor_id], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    def log(self, executor_id: str) -> Path:
        return self.folder / f"{executor_id}.log"

    def logs(self) -> str:
        return "\n".join(
            f"--- {name} ---\n{self.log(name).read_text(errors='replace')}"
            for name in self.processes
        )

    def wait(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        try:
            wait_for(condition, timeout, what)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{self.logs()}") from None

    def signal(self, executor_id: str, signum: int) -> None:
        self.processes[executor_id].send_signal(signum)

    def kill(self, executor_id: str) -> None:
        process = self.processes[executor_id]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def close(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)  # a stopped one, too, dies at once
                process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)


@pytest.fixture
def workers(env: dict[str, str], tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(env, tmp_path)
    try:
        yield pool
    finally:
        pool.close()


def record(rb: Rubricate, executor_id: str) -> WorkerRecord | None:
    with rb.db.read() as session:
        return session.get(WorkerRecord, executor_id)


def alive(rb: Rubricate, executor_id: str, since: datetime | None = None) -> bool:
    """Launched and beating (the first beat comes after DBOS's launch)."""
    found = record(rb, executor_id)
    if found is None:
        return False
    return found.heartbeat_at > (since or found.started_at) and found.stopped_at is None


def leaders(rb: Rubricate) -> int:
    """Holders of the leader's advisory lock (PostgreSQL); on SQLite every worker leads."""
    if rb.db.engine.dialect.name != "postgresql":
        return 1
    with rb.db.read() as session:
        return (
            session.scalar(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND objid = :key AND database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database())"
                ),
                {"key": LEADER_LOCK},
            )
            or 0
        )


def workflow(client: DBOSClient, workflow_id: str) -> WorkflowStatus:
    found = client.list_workflows(workflow_ids=[workflow_id], load_input=False)
    assert found, f"no workflow {workflow_id}"
    return found[0]


def running_on(client: DBOSClient, workflow_id: str) -> str | None:
    status = workflow(client, workflow_id)
    return status.executor_id if status.status == "PENDING" else None


def scores(rb: Rubricate, run_id: str) -> dict[int, float | None]:
    with rb.db.read() as session:
        query = select(JudgeResultRecord).where(JudgeResultRecord.evaluation_run_id == run_id)
        return {r.row_id: r.score for r in session.scalars(query)}


def start(rb: Rubricate, run_id: str, metric: str = METRIC, evaluation: str = EVALUATION) -> str:
    rb.evaluation_runs.start(metric=metric, evaluation=evaluation, model=MODEL, run_id=run_id)
    queue.enqueue(rb.settings, "evaluation", run_id)
    return run_id


def uninterrupted(rb: Rubricate, fake: FakeOpenAI) -> dict[int, float | None]:
    """The scores of the same run carried out here in one go, by row id."""
    fake.reset()
    GATE.open()
    whole = rb.evaluation_runs.evaluate(metric=METRIC, evaluation=EVALUATION, model=MODEL)
    assert whole.status is EvaluationRunStatus.COMPLETED
    return scores(rb, whole.id)


def tiny_dataset(
    rb: Rubricate, folder: Path, name: str, rows: int, *, poison: int = -1, marker: str = ""
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {"name": name, "criteria": []}
    (folder / "dataset.json").write_text(json.dumps(manifest), encoding="utf-8")
    lines = [
        json.dumps(
            {
                "id": f"t{i}",
                "input": ("POISON " if i == poison else "") + f"{marker} Question {i}: how?",
                "output": f"Answer {i}: hold the button for ten seconds.",
            }
        )
        for i in range(rows)
    ]
    (folder / "rows.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rb.import_path(folder, name)


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


def freeze_until_taken_for_dead(rb: Rubricate, workers: Workers, executor_id: str) -> None:
    """SIGSTOP the worker until the leader marks it stopped. A process frozen inside a
    write transaction keeps its lock (on SQLite, the whole database's), which would stall
    the leader too: so it is frozen just after a heartbeat (its only write when idle) has
    committed, and in the unlikely case the leader stalls anyway, thawed and frozen again."""

    def beat() -> datetime:
        found = record(rb, executor_id)
        assert found is not None
        return found.heartbeat_at

    def taken() -> bool:
        found = record(rb, executor_id)
        return found is not None and found.stopped_at is not None

    for attempt in range(1, 4):
        last = beat()
        wait_for(lambda last=last: beat() > last, 2 * HEARTBEAT_SECONDS, "a heartbeat")
        workers.signal(executor_id, signal.SIGSTOP)
        try:
            wait_for(taken, DEAD_AFTER + 3 * HEARTBEAT_SECONDS + 2, "the leader")
        except AssertionError:
            continue
        else:
            print(f"\n{executor_id} taken for dead at freeze {attempt}")
            return
        finally:
            workers.signal(executor_id, signal.SIGCONT)
    raise AssertionError(f"{executor_id} frozen was never taken for dead\n{workers.logs()}")


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
