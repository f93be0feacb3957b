"""`rubricate worker` subprocesses on one database, and a fake OpenAI-compatible server in
this process whose replies can be held at a *gate*: shared by test_multi_worker.py,
test_worker_stop.py, test_ownership.py and test_crash_costs.py (which import its fixtures
``server``, ``fake``, ``rb``, ``client`` and ``workers``; each module gives ``workers`` its
own ``env``). Also what to read of them: a worker's record, the leader, a workflow's status,
a run's scores, and a worker frozen until the leader takes it for dead."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
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
from rubricate.runs.names import HEARTBEAT_SECONDS
from rubricate.runs.system import SYSTEM_SCHEMA, system_database_url
from rubricate.runs.worker import LEADER_LOCK
from rubricate.store.tables import JudgeResultRecord, WorkerRecord
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
