"""A paused worker (PostgreSQL): two `rubricate worker` processes, the run's owner frozen
with SIGSTOP past the dead-after time while its run is taken over, then thawed. It must
make no further model call: each request is paid once, except those in flight at the
freeze, every row gets its result, and the run counts every request the fake server
received, and at most the calls in flight beyond them (a freeze between a call's mark and
its send counts a request never sent: see models/client.py)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from rubricate.testing.fake_openai import FakeOpenAI
from security.data import MODEL
from security.harness import Child, Report, environment, expect, wait_until

DEAD_AFTER = 3.0


def paused_worker(
    report: Report, database_url: str, fake: FakeOpenAI, fake_url: str, folder: Path
) -> float:
    """Returns the workers' highest peak RSS (MB)."""
    from dbos import DBOS, DBOSClient
    from sqlalchemy import select

    from rubricate import Rubricate, Settings
    from rubricate.runs import queue
    from rubricate.runs.system import SYSTEM_SCHEMA, system_database_url
    from rubricate.store.tables import JudgeResultRecord, WorkerRecord

    cat = "paused worker"
    env = environment(
        database_url,
        fake_url,
        RUBRICATE_WORKER_DEAD_AFTER=f"{DEAD_AFTER:g}",
        RUBRICATE_RUN_BATCH_ROWS="8",
    )
    os.environ.update(
        {k: env[k] for k in ("OPENAI_BASE_URL", "OPENAI_API_KEY")}
    )  # to start the run
    rb = Rubricate(Settings(database_url=database_url, response_cache=False))
    system = system_database_url(database_url)
    DBOS.migrate(system, schema=SYSTEM_SCHEMA)
    client = DBOSClient(system_database_url=system, dbos_system_schema=SYSTEM_SCHEMA)
    workers: dict[str, Child] = {}

    def record(executor: str) -> WorkerRecord | None:
        with rb.db.read() as session:
            return session.get(WorkerRecord, executor)

    def beating(executor: str) -> bool:
        found = record(executor)
        return found is not None and found.heartbeat_at > found.started_at

    def owner(run_id: str) -> str | None:
        found = client.list_workflows(workflow_ids=[run_id], load_input=False)
        return found[0].executor_id if found and found[0].status == "PENDING" else None

    def check() -> str:
        for name in ("w-a", "w-b"):
            args = ["worker", "--executor-id", name, "--concurrency", "4"]
            workers[name] = Child(name, args, env, folder / f"{name}.log")
        wait_until(lambda: beating("w-a") and beating("w-b"), 60, "both workers beating")
        fake.reset()
        run_id = "paused-1"
        rb.evaluation_runs.start(
            metric="answer_helpfulness", evaluation="held", model=MODEL, run_id=run_id
        )
        queue.enqueue(rb.settings, "evaluation", run_id)
        wait_until(lambda: rb.evaluation_runs.get(run_id).rows_done >= 16, 60, "16 rows scored")
        frozen = owner(run_id)
        expect(frozen in workers, f"run owned by {frozen!r}")
        assert frozen is not None
        in_flight = fake.in_flight
        workers[frozen].signal(signal.SIGSTOP)
        paused = time.monotonic()
        try:
            wait_until(
                lambda: (r := record(frozen)) is not None and r.stopped_at is not None,
                DEAD_AFTER + 15,
                "the frozen worker taken for dead",
            )
            time.sleep(3.0)  # the other worker is at the run now
        finally:
            workers[frozen].signal(signal.SIGCONT)
        seconds = time.monotonic() - paused
        wait_until(lambda: rb.evaluation_runs.get(run_id).status.finished, 180, "the run")
        run = rb.evaluation_runs.get(run_id)
        expect(run.status.value == "completed", f"run ended {run.status.value}: {run.error}")
        with rb.db.read() as session:
            query = select(JudgeResultRecord).where(JudgeResultRecord.evaluation_run_id == run_id)
            stored = len(list(session.scalars(query)))
        twice, received = fake.duplicate_requests, fake.requests_total
        bound = max(in_flight, rb.settings.default_concurrency)
        detail = (
            f"{frozen} paused {seconds:.0f} s with {in_flight} calls in flight; "
            f"{run.rows_total} rows, {stored} results, fake received {received} "
            f"({twice} twice), run counts {run.calls}"
        )
        expect(stored == run.rows_total, f"{detail}: results != rows")
        expect(twice <= bound, f"{detail}: more paid twice than were in flight ({bound})")
        # Every request the provider received is counted: a request goes out only once its
        # mark is written and the run still this worker's, so the new owner reads it. The
        # reverse is not exact: a freeze between a mark and its send makes the new owner
        # count a request never sent (at most the calls marked at the freeze).
        expect(run.calls >= received, f"{detail}: the run counts fewer calls than were paid")
        expect(
            run.calls - received <= bound,
            f"{detail}: the run counts more than {bound} calls beyond those received",
        )
        return detail

    try:
        report.probe(
            cat,
            "owner SIGSTOPped past dead-after, then SIGCONT",
            "no request paid twice beyond those in flight",
            check,
        )
    finally:
        peak = 0.0
        for child in workers.values():
            peak = max(peak, child.peak_mb)
            child.stop()
        client.destroy()
        rb.close()
    return peak
