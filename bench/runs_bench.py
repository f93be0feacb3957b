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
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import (
    POSTGRES_ENV,
    Targets,
    add_repeat,
    bench_parser,
    load_line,
    print_columns,
    settle_repeat,
    verdict,
    write_dataset,
)
from _servers import PostgresServer
from eval_bench import FakeServer
from runs_setup import (
    CALLS,
    DEAD_AFTER,
    PROVIDER_LIMIT,
    RUNS_AT_ONCE,
    Database,
    Workers,
    wait_for,
)

DEFAULT_URL = "postgresql://rubricate_test:rubricate_test@127.0.0.1:5432/postgres"
LATENCY = 0.5  # the fake server's seconds per call (see bench/README.md: why not 0.2)
SPEEDUP = 1.8  # target: 2 workers at least this many times as fast as 1
HEARTBEAT = 2.0  # rubricate.runs.names.HEARTBEAT_SECONDS

SIZES = {  # (a) K runs x rows, (b) N runs x rows
    "full": {"recovery": (8, 160), "throughput": (8, 160)},
    "quick": {"recovery": (4, 80), "throughput": (4, 64)},
}
WARM_ROWS = 8


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
    print_columns([header, *rows], left=0)


def check(recovery: Recovery, one: Throughput, two: Throughput) -> list[str]:
    target = Targets()

    r, served = recovery, recovery.served
    target(r.recovered == r.runs, f"recovery: {r.recovered} of {r.runs} runs completed")
    target(
        served["duplicate_requests"] <= r.runs * CALLS,
        f"recovery: {served['duplicate_requests']} calls made twice (at most the calls in "
        f"flight at the kill, {r.runs} runs x {CALLS})",
    )
    target(
        served["requests_total"] == r.runs * r.rows + served["duplicate_requests"],
        f"recovery: {served['requests_total']:,} calls for {r.runs * r.rows:,} rows "
        "(one per row, plus the repeats)",
    )
    target(
        r.seconds <= r.bound,
        f"recovery: all runs finished {r.seconds:.1f} s after the kill (bound {r.bound:.1f} s)",
    )
    for m in (one, two):
        total = m.runs * m.rows
        target(
            m.completed == m.runs
            and m.served["requests_total"] == total
            and m.served["duplicate_requests"] == 0,
            f"{m.workers} worker(s): {m.completed} of {m.runs} runs completed, "
            f"{m.served['requests_total']:,} calls for {total:,} rows",
        )
        limit = m.workers * RUNS_AT_ONCE * CALLS
        target(
            m.served["max_in_flight"] <= limit,
            f"{m.workers} worker(s): at most {m.served['max_in_flight']} calls in flight "
            f"(the workers' limits allow {limit})",
        )
    speedup = one.seconds / two.seconds
    target(
        speedup >= SPEEDUP,
        f"2 workers {speedup:.2f}x as fast as 1 (target >= {SPEEDUP}x)",
    )
    return target.missed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = bench_parser(
        "Benchmark rubricate workers on PostgreSQL: recovery after a SIGKILL, "
        "and the throughput of 1 and 2 workers against a fake OpenAI server.",
        quick="CI size (under ~90 s)",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(POSTGRES_ENV) or DEFAULT_URL,
        help=f"a PostgreSQL server whose role may CREATE DATABASE (default: ${POSTGRES_ENV}, "
        f"else {DEFAULT_URL})",
    )
    add_repeat(parser, "throughput measurements per worker count; the fastest counts", quick=3)
    parser.add_argument("--workdir", type=Path, help="where the data goes (default: temp)")
    args = parser.parse_args(argv)
    settle_repeat(parser, args, quick=3)
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
        print(load_line("before"))
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

    print(load_line("after"))
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
    return verdict(missed)


if __name__ == "__main__":
    sys.exit(main())
