"""Durable-run benchmark: `rubricate worker` processes sharing a PostgreSQL database, against
the fake OpenAI-compatible server (its own process, a fixed latency per call).

    python bench/runs_bench.py [--quick] [--postgres-url URL]

(a) Recovery: K evaluation runs are queued to one worker; half-way through, it is
    SIGKILLed and a second worker (a new executor id) is started. Measured: how many of the
    K runs end Completed, the seconds from the kill until all K are finished, and the calls
    made twice (at most the calls in flight at the kill).
(b) Throughput: N evaluation runs queued at once to 1 and to 2 workers with the same
    per-worker settings (`--concurrency`: runs at once per worker; calls in flight per run:
    `RUBRICATE_RUN_BATCH_ROWS`) and a provider limit shared by all workers
    (`RUBRICATE_DEFAULT_CONCURRENCY`, 64) that one worker cannot saturate alone. The fake
    server has no capacity limit, so the workers' own limits are the bottleneck: 2 workers
    must finish the N runs at least 1.8x as fast as 1.

Evaluation runs, not alignment runs: they are the workload whose time is all model calls,
with one call per row, so the figures are easy to check. Exit 1 when a target is missed
(listed on stderr). See bench/README.md.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import write_dataset
from _servers import PostgresServer
from eval_bench import FakeServer

DEFAULT_URL = "postgresql://rubricate_test:rubricate_test@127.0.0.1:5432/postgres"
POSTGRES_ENV = "RUBRICATE_BENCH_POSTGRES_URL"
MODEL = "openai-chat:fake-judge"
METRIC = "helpfulness"  # built in: 1-5, a prompt over input and output
LATENCY = 0.5  # the fake server's seconds per call (see bench/README.md: why not 0.2)
CALLS = 8  # calls in flight per run: RUBRICATE_RUN_BATCH_ROWS, the rows of a durable step
PROVIDER_LIMIT = 64  # RUBRICATE_DEFAULT_CONCURRENCY: the provider's limit, shared by every
# worker (leases in the database); one worker (2 runs x 8 calls) cannot saturate it
RUNS_AT_ONCE = 2  # rubricate worker --concurrency
DEAD_AFTER = 5.0  # RUBRICATE_WORKER_DEAD_AFTER
SPEEDUP = 1.8  # target: 2 workers at least this many times as fast as 1
HEARTBEAT = 2.0  # rubricate.runs.names.HEARTBEAT_SECONDS
WORKER = "from rubricate.cli import main; main()"

SIZES = {  # (a) K runs x rows, (b) N runs x rows
    "full": {"recovery": (8, 160), "throughput": (8, 160)},
    "quick": {"recovery": (4, 80), "throughput": (4, 64)},
}
WARM_ROWS = 8


# --- workers and the database --------------------------------------------------------------


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
        process = self.processes.pop(executor_id)
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)

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


# --- (a) recovery ----------------------------------------------------------------------------


@dataclass
class Recovery:
    runs: int
    rows: int
    recovered: int = 0
    seconds: float = 0.0  # kill -> all runs finished
    new_worker_up: float = 0.0  # kill -> the new worker beats
    redispatched: float = 0.0  # kill -> every run running again (on the new worker)
    answered_at_kill: int = 0  # calls answered before the kill (journaled)
    in_flight_at_kill: int = 0
    served: dict[str, Any] = field(default_factory=dict)

    @property
    def bound(self) -> float:
        """The time to recover should not exceed: the dead worker's last heartbeat ages to
        DEAD_AFTER, plus a leader's look (one beat) and its first beat after start-up
        (one more), a queue poll, and the rest of the work at CALLS per run; 5 s for
        start-up and slack."""
        left = self.rows - self.answered_at_kill // self.runs
        return DEAD_AFTER + 2 * HEARTBEAT + 0.5 + math.ceil(left / CALLS) * LATENCY + 5.0


def measure_recovery(
    server: PostgresServer, fake: FakeServer, data: list[Path], warm: Path, rows: int, log: Path
) -> Recovery:
    runs = len(data)
    result = Recovery(runs=runs, rows=rows)
    db = Database(server, data, warm)
    workers = Workers(db.url, fake, log)
    try:
        workers.start("bench-first", runs_at_once=runs)
        wait_for(lambda: db.alive("bench-first"), 60, "the first worker")
        fake.control("/_fake/reset", {})
        ids = db.enqueue(runs, "run-")
        half = runs * rows // 2
        wait_for(lambda: fake.control("/_fake/stats")["requests_total"] >= half, 120, "half")
        before = fake.control("/_fake/stats")
        workers.kill("bench-first")
        killed = time.perf_counter()
        result.in_flight_at_kill = before["in_flight"]
        result.answered_at_kill = before["requests_total"] - before["in_flight"]
        workers.start("bench-second", runs_at_once=runs)
        up = wait_for(lambda: db.alive("bench-second"), 60, "the second worker")
        moved = wait_for(lambda: db.executors(ids) == {"bench-second"}, 120, "the runs to move")
        ended = wait_for(lambda: db.finished(ids), 300, "the recovered runs")
        result.seconds = ended - killed
        result.new_worker_up = up - killed
        result.redispatched = moved - killed
        result.recovered = sum(1 for run in db.runs(ids) if run.status.value == "completed")
        result.served = fake.control("/_fake/stats")
    finally:
        workers.close()
        db.close()
    return result


# --- (b) throughput --------------------------------------------------------------------------


@dataclass
class Throughput:
    workers: int
    runs: int
    rows: int
    seconds: float = 0.0
    completed: int = 0
    served: dict[str, Any] = field(default_factory=dict)

    @property
    def ideal(self) -> float:
        """Waves of runs (each worker RUNS_AT_ONCE at a time) x calls per run / CALLS."""
        waves = math.ceil(self.runs / (self.workers * RUNS_AT_ONCE))
        return waves * math.ceil(self.rows / CALLS) * LATENCY

    @property
    def rows_per_second(self) -> float:
        return self.runs * self.rows / self.seconds


def measure_throughput(
    server: PostgresServer,
    fake: FakeServer,
    data: list[Path],
    warm: Path,
    rows: int,
    repeat: int,
    log: Path,
) -> dict[int, Throughput]:
    """On one database: worker A alone, then A and a new worker B, ``repeat`` times (B is
    stopped after each); the fastest of each count."""
    best: dict[int, Throughput] = {}
    db = Database(server, data, warm)
    workers = Workers(db.url, fake, log)

    def timed(count: int, tag: str) -> None:
        result = Throughput(workers=count, runs=len(data), rows=rows)
        fake.control("/_fake/reset", {})
        started = time.perf_counter()
        ids = db.enqueue(len(data), tag)
        ended = wait_for(lambda: db.finished(ids), 600, "the runs")
        result.seconds = ended - started
        result.completed = sum(1 for run in db.runs(ids) if run.status.value == "completed")
        result.served = fake.control("/_fake/stats")
        print(f"  {count} worker(s): {result.seconds:.2f} s")
        if count not in best or result.seconds < best[count].seconds:
            best[count] = result

    try:
        workers.start("bench-a", runs_at_once=RUNS_AT_ONCE)
        wait_for(lambda: db.alive("bench-a"), 60, "worker A")
        db.warm_up("bench-a", 1)
        for attempt in range(repeat):
            timed(1, f"one-{attempt}-")
            other = f"bench-b{attempt}"
            workers.start(other, runs_at_once=RUNS_AT_ONCE)
            wait_for(lambda other=other: db.alive(other), 60, "worker B")
            db.warm_up(other, 2)
            timed(2, f"two-{attempt}-")
            workers.stop(other)
    finally:
        workers.close()
        db.close()
    return best


# --- the report --------------------------------------------------------------------------------


def table(header: list[str], rows: list[list[str]]) -> None:
    lines = [header, *rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for number, line in enumerate(lines):
        print("  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)))
        if number == 0:
            print("  ".join("-" * w for w in widths))


def check(recovery: Recovery, one: Throughput, two: Throughput) -> list[str]:
    missed: list[str] = []

    def verdict(ok: bool, text: str) -> None:
        print(f"  {'ok  ' if ok else 'MISS'}  {text}")
        if not ok:
            missed.append(text)

    r, served = recovery, recovery.served
    verdict(r.recovered == r.runs, f"recovery: {r.recovered} of {r.runs} runs completed")
    verdict(
        served["duplicate_requests"] <= r.runs * CALLS,
        f"recovery: {served['duplicate_requests']} calls made twice (at most the calls in "
        f"flight at the kill, {r.runs} runs x {CALLS})",
    )
    verdict(
        served["requests_total"] == r.runs * r.rows + served["duplicate_requests"],
        f"recovery: {served['requests_total']:,} calls for {r.runs * r.rows:,} rows "
        "(one per row, plus the repeats)",
    )
    verdict(
        r.seconds <= r.bound,
        f"recovery: all runs finished {r.seconds:.1f} s after the kill (bound {r.bound:.1f} s)",
    )
    for m in (one, two):
        total = m.runs * m.rows
        verdict(
            m.completed == m.runs
            and m.served["requests_total"] == total
            and m.served["duplicate_requests"] == 0,
            f"{m.workers} worker(s): {m.completed} of {m.runs} runs completed, "
            f"{m.served['requests_total']:,} calls for {total:,} rows",
        )
        limit = m.workers * RUNS_AT_ONCE * CALLS
        verdict(
            m.served["max_in_flight"] <= limit,
            f"{m.workers} worker(s): at most {m.served['max_in_flight']} calls in flight "
            f"(the workers' limits allow {limit})",
        )
    speedup = one.seconds / two.seconds
    verdict(
        speedup >= SPEEDUP,
        f"2 workers {speedup:.2f}x as fast as 1 (target >= {SPEEDUP}x)",
    )
    return missed


def _load(when: str) -> str:
    one, five, _ = os.getloadavg()
    cores = os.cpu_count() or 1
    text = f"load average {when}: {one:.2f} (1 min), {five:.2f} (5 min) on {cores} cores"
    if one > cores / 2:
        text += " -- a busy machine: timings are pessimistic"
    return text


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark rubricate workers on PostgreSQL: recovery after a SIGKILL, "
        "and the throughput of 1 and 2 workers against a fake OpenAI server."
    )
    parser.add_argument("--quick", action="store_true", help="CI size (under ~90 s)")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(POSTGRES_ENV) or DEFAULT_URL,
        help=f"a PostgreSQL server whose role may CREATE DATABASE (default: ${POSTGRES_ENV}, "
        f"else {DEFAULT_URL})",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        help="throughput measurements per worker count; the fastest "
        "counts (default: 2 with --quick, else 1)",
    )
    parser.add_argument("--workdir", type=Path, help="where the data goes (default: temp)")
    args = parser.parse_args(argv)
    if args.repeat is None:
        args.repeat = 2 if args.quick else 1
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    size = SIZES["quick" if args.quick else "full"]
    (k, recovery_rows), (n, rows) = size["recovery"], size["throughput"]
    server = PostgresServer(args.postgres_url)
    fake = FakeServer(LATENCY)
    os.environ["OPENAI_BASE_URL"] = fake.base_url  # the bench process starts the runs
    os.environ["OPENAI_API_KEY"] = "sk-bench-placeholder"
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rubricate-runs-bench-", dir=args.workdir) as tmp:
        root = Path(tmp)
        log = root / "workers.log"

        def datasets(count: int, rows: int) -> list[Path]:
            folders = [root / f"data-{rows}-{i}" for i in range(count)]
            for i, folder in enumerate(folders):
                if not folder.exists():
                    write_dataset(folder, rows, seed=1000 + i)
            return folders

        warm = root / "warm"
        write_dataset(warm, WARM_ROWS, seed=7)
        print(
            f"PostgreSQL; fake server at {fake.base_url}, {LATENCY:g} s per call, own process; "
            f"per worker: --concurrency {RUNS_AT_ONCE} (runs at once), "
            f"RUBRICATE_RUN_BATCH_ROWS={CALLS} (calls in flight per run), "
            f"provider limit {PROVIDER_LIMIT} shared by the workers; "
            f"RUBRICATE_WORKER_DEAD_AFTER={DEAD_AFTER:g}"
        )
        print(_load("before"))
        try:
            print(f"\n(a) recovery: {k} runs x {recovery_rows} rows on one worker, killed half-way")
            recovery = measure_recovery(
                server, fake, datasets(k, recovery_rows), warm, recovery_rows, log
            )
            print(f"\n(b) throughput: {n} runs x {rows} rows on 1 and on 2 workers")
            measured = measure_throughput(
                server, fake, datasets(n, rows), warm, rows, args.repeat, log
            )
        except BaseException:
            if log.exists():
                print(log.read_text(errors="replace")[-4000:], file=sys.stderr)
            raise
        finally:
            fake.stop()
            server.close()

    print(_load("after"))
    r = recovery
    print("\n(a) recovery after SIGKILL (a new worker started at once)")
    table(
        [
            "runs K",
            "recovered",
            "seconds",
            "new worker up s",
            "runs moved s",
            "answered at kill",
            "in flight at kill",
            "calls",
            "calls twice",
        ],
        [
            [
                str(r.runs),
                str(r.recovered),
                f"{r.seconds:.1f}",
                f"{r.new_worker_up:.1f}",
                f"{r.redispatched:.1f}",
                f"{r.answered_at_kill:,} of {r.runs * r.rows:,}",
                str(r.in_flight_at_kill),
                f"{r.served['requests_total']:,}",
                str(r.served["duplicate_requests"]),
            ]
        ],
    )
    one, two = measured[1], measured[2]
    print(f"\n(b) throughput, best of {args.repeat}")
    table(
        ["workers", "runs", "rows", "seconds", "ideal s", "rows/s", "max in flight"],
        [
            [
                str(m.workers),
                str(m.runs),
                f"{m.runs * m.rows:,}",
                f"{m.seconds:.2f}",
                f"{m.ideal:.2f}",
                f"{m.rows_per_second:,.0f}",
                str(m.served["max_in_flight"]),
            ]
            for m in (one, two)
        ],
    )
    print(
        f"\nspeed-up with 2 workers: {one.seconds / two.seconds:.2f}x; "
        f"bench took {time.perf_counter() - began:.0f} s"
    )
    print("\ntargets:")
    missed = check(recovery, one, two)
    if missed:
        print(f"\nmissed {len(missed)} target(s):", file=sys.stderr)
        for text in missed:
            print(f"  - {text}", file=sys.stderr)
        return 1
    print("\nall targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
