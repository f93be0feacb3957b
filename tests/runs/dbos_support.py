"""Real DBOS worker processes and a client to watch them, for test_dbos_behaviour.py and
test_dbos_endings.py (which import the fixtures ``sqlite_url``, ``postgres_url``, ``url``,
``client`` and ``spawn``).

Workers run ``dbos_programs/worker.py``: config name "rubricate-test",
``system_database_url`` and ``executor_id`` from argv, log_level WARNING; ``DBOS.launch()``
then ``DBOS.register_queue("runs", worker_concurrency=1, polling_interval_sec=0.2)``. They are
watched from this process through a ``DBOSClient``, which never launches DBOS. System
database: a SQLite file in tmp_path, or a fresh PostgreSQL database per test
(RUBRICATE_TEST_DATABASE_URL's server, else rubricate_test@127.0.0.1).

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
