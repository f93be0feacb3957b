"""The durable-run bench's parts: `rubricate worker` processes started and stopped, and
the PostgreSQL database they share, read for the runs' state (bench/runs_bench.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from _common import stop_process

if TYPE_CHECKING:
    from _servers import PostgresServer
    from eval_bench import FakeServer

MODEL = "openai-chat:fake-judge"
METRIC = "helpfulness"  # built in: 1-5, a prompt over input and output
CALLS = 8  # calls in flight per run: RUBRICATE_RUN_BATCH_ROWS, the rows of a durable step
PROVIDER_LIMIT = 64  # RUBRICATE_DEFAULT_CONCURRENCY: the provider's limit, shared by every
# worker (leases in the database); one worker (2 runs x 8 calls) cannot saturate it
RUNS_AT_ONCE = 2  # rubricate worker --concurrency
DEAD_AFTER = 5.0  # RUBRICATE_WORKER_DEAD_AFTER
WORKER = "from rubricate.cli import main; main()"


class Workers:
    """`rubricate worker` subprocesses on one database; all killed by close()."""

    def __init__(self, url: str, fake: FakeServer, log: Path) -> None:
        self.log = log
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.env = dict(os.environ)
        self.env.update(
            {
                "RUBRICATE_DATABASE_URL": url,
                "RUBRICATE_SETTINGS_FILE": os.devnull,
                "RUBRICATE_RESPONSE_CACHE": "false",  # every row is a call
                "RUBRICATE_DEFAULT_CONCURRENCY": str(PROVIDER_LIMIT),
                "RUBRICATE_RUN_BATCH_ROWS": str(CALLS),
                "RUBRICATE_WORKER_DEAD_AFTER": f"{DEAD_AFTER:g}",
                "OPENAI_BASE_URL": fake.base_url,
                "OPENAI_API_KEY": "sk-bench-placeholder",
            }
        )

    def start(self, executor_id: str, runs_at_once: int) -> None:
        command = [sys.executable, "-c", WORKER, "worker", "--executor-id", executor_id]
        command += ["--concurrency", str(runs_at_once)]
        with self.log.open("ab") as out:
            self.processes[executor_id] = subprocess.Popen(
                command, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    def stop(self, executor_id: str) -> None:
        """Stop it as Ctrl-C does (SIGTERM)."""
        stop_process(self.processes.pop(executor_id))

    def kill(self, executor_id: str) -> None:
        process = self.processes[executor_id]
        process.kill()
        process.wait(timeout=30)

    def close(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)
        self.processes.clear()


class Database:
    """A fresh PostgreSQL database with one imported data set per run (distinct texts, so
    the fake server's count of repeated requests means calls made twice)."""

    def __init__(self, server: PostgresServer, data: list[Path], warm: Path) -> None:
        from dbos import DBOS, DBOSClient

        from rubricate import Rubricate, Settings
        from rubricate.runs.system import SYSTEM_SCHEMA, system_database_url

        self.server = server
        self.url = server.fresh()
        self.rb = Rubricate(Settings(database_url=self.url, response_cache=False))
        for index, folder in enumerate(data):
            self.rb.import_path(folder, f"bench-{index}")
        self.rb.import_path(warm, "warm")
        system = system_database_url(self.url)
        DBOS.migrate(system, schema=SYSTEM_SCHEMA)
        self.client = DBOSClient(system_database_url=system, dbos_system_schema=SYSTEM_SCHEMA)

    def alive(self, executor_id: str) -> bool:
        from rubricate.store.tables import WorkerRecord

        with self.rb.db.read() as session:
            found = session.get(WorkerRecord, executor_id)
        return found is not None and found.heartbeat_at > found.started_at

    def enqueue(self, count: int, tag: str, *, warm: bool = False) -> list[str]:
        """Start and queue ``count`` runs (ids ``{tag}{i}``), one on each data set, or all
        on the small warm-up one."""
        from rubricate.runs import queue

        ids = []
        for index in range(count):
            evaluation = "warm" if warm else f"bench-{index}"
            run = self.rb.evaluation_runs.start(
                metric=METRIC, evaluation=evaluation, model=MODEL, run_id=f"{tag}{index}"
            )
            queue.enqueue(self.rb.settings, "evaluation", run.id)
            ids.append(run.id)
        return ids

    def executors(self, ids: list[str]) -> set[str | None]:
        found = self.client.list_workflows(workflow_ids=ids, load_input=False, load_output=False)
        return {w.executor_id for w in found}

    def warm_up(self, name: str, workers: int) -> None:
        """Small runs until the worker ``name`` has carried out one: DBOS finds the queue in
        a new database about a second after its first registration, and a worker's first
        model call imports the SDKs. Throughput is measured after that."""
        for attempt in range(5):
            ids = self.enqueue(workers * RUNS_AT_ONCE, f"warm-{name}-{attempt}-", warm=True)
            wait_for(lambda ids=ids: self.finished(ids), 60, "the warm-up runs")
            if name in self.executors(ids):
                return
        raise SystemExit(f"the warm-up runs never reached worker {name}")

    def runs(self, ids: list[str]) -> list[Any]:
        return [self.rb.evaluation_runs.get(run_id) for run_id in ids]

    def finished(self, ids: list[str]) -> bool:
        return all(run.status.finished for run in self.runs(ids))

    def close(self) -> None:
        self.client.destroy()
        self.rb.close()
        self.server.drop(self.url)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll until true; the time it became true (perf_counter)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if condition():
            return time.perf_counter()
        time.sleep(0.05)
    raise SystemExit(f"timed out after {timeout:g} s waiting for {what}")
