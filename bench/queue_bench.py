"""Review-queue concurrency benchmark: R simulated reviewers work one queue over HTTP at
once, on SQLite and (when a server is given) PostgreSQL.

    python bench/queue_bench.py [--quick] [--postgres-url URL]

Each database is fresh: one evaluation of N rows (10,000; 2,000 with --quick) imported
through rubricate's own path, R reviewer accounts with API tokens (20), and a queue over
every row with 2 reviews a row. The real `rubricate serve --workers 0` runs in a process of
its own; R threads, each a reviewer with its own connection, loop: ask for the next row
(POST /api/v1/queues/NAME/next), then review it (POST .../rows/ROW/review), or one time in
20 skip it, or one time in 50 leave it and ask again (a reloaded tab: the same row comes
back). Two phases, on the same queue:

- burst (20 s; 8 s with --quick): no time between requests, the most contention the
  server can be given: the invariants must hold under it; its latency is printed only.
- paced (90 s; 20 s with --quick): each reviewer reads a row for 2-4 s before answering
  (a fast reviewer; people grading LLM outputs take ~10 s a row): the latency a team of 20
  would see.

Printed per database and phase: next-row calls, median, p95, p99 and max latency (ms),
reviews stored and reviews a second. Then the invariants, read from the database: every row
has at most 2 counted reviews and exactly as many as its counted submissions; no row was
given to one reviewer twice; every review the server acknowledged is stored (none lost);
every answer was 200, 201 or 204. Exit 1 when an invariant fails or a target is missed:
paced next-row p99 <= 100 ms on PostgreSQL (reported, with no target, on SQLite, whose one
writer at a time queues the reviewers).
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from _common import Targets, add_postgres_url, bench_parser, load_line, print_columns, verdict
from _servers import Server, database_servers
from http_setup import serving

try:  # the HTTP client rubricate's dependencies bring, as Starlette's
    import httpx2 as httpx
except ImportError:  # pragma: no cover - older installs
    import httpx  # type: ignore[no-redef]

FULL_ROWS, QUICK_ROWS = 10_000, 2_000
BURST_SECONDS = {True: 8.0, False: 20.0}  # by --quick
PACED_SECONDS = {True: 20.0, False: 90.0}
READING_SECONDS = (2.0, 4.0)  # a fast reviewer; EvalGen's graders took ~10 s a row
REVIEWERS = 20
REVIEWS_PER_ROW = 2
QUEUE = "bench-queue"
EVALUATION = "queue-bench"
METRIC = "bench_quality"
P99_TARGET_MS = 100.0


def write_rows(folder: Path, rows: int) -> Path:
    """A flat rows.jsonl of ``rows`` rows, and a metric (ordinal 1-5) to queue them on."""
    rng = random.Random(7)
    words = [
        "order",
        "refund",
        "box",
        "delivery",
        "recipe",
        "card",
        "week",
        "menu",
        "chat",
        "pause",
        "skip",
        "plan",
    ]
    path = folder / "rows.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for index in range(rows):
            text = " ".join(rng.choice(words) for _ in range(rng.randint(20, 80)))
            out.write(json.dumps({"id": f"r{index:06d}", "input": text, "output": text[::-1]}))
            out.write("\n")
    return path


def seed(url: str, folder: Path, rows: int) -> dict[str, str]:
    """The evaluation, the metric, the reviewers (their tokens by name) and the queue."""
    from rubricate import QueueRequest, Role, Rubricate, Scale, Settings, User

    tokens = {}
    with Rubricate(Settings(database_url=url, response_cache=False)) as rb:
        rb.import_path(write_rows(folder, rows), EVALUATION, kind="rows")
        rb.metrics.create(
            METRIC, scale=Scale(type="ordinal", min=1, max=5), prompt="Rate {{ output }}."
        )
        for n in range(REVIEWERS):
            name = f"reviewer{n:02d}"
            rb.users.add(name, "reviewer", "a long enough password 42")
            tokens[name] = rb.users.new_token(name)
        rb.users.add("ada", "admin", "a long enough password 42")
        request = QueueRequest(
            QUEUE, EVALUATION, METRIC, tuple(tokens), reviews_per_row=REVIEWS_PER_ROW,
            lease_seconds=30,
        )  # fmt: skip
        rb.queues.create(request, by=User("ada", Role.ADMIN))
        if rb.db.engine.dialect.name == "postgresql":
            from sqlalchemy import text

            with rb.db.engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    return tokens


@dataclass
class Tally:
    reading: tuple[float, float] | None = None  # seconds a reviewer reads a row; None: burst
    next_ms: list[float] = field(default_factory=list)
    submitted: Counter[tuple[str, str]] = field(default_factory=Counter)  # acknowledged
    statuses: Counter[int] = field(default_factory=Counter)
    dropped: set[tuple[str, str]] = field(default_factory=set)
    late_conflicts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def reviewer(base: str, name: str, token: str, until: float, tally: Tally, seed: int) -> None:
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {token}"}
    if tally.reading is not None:  # people do not all open the queue in the same instant
        time.sleep(rng.uniform(0, tally.reading[1]))
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        while time.monotonic() < until:
            began = time.perf_counter()
            answer = client.post(f"/api/v1/queues/{QUEUE}/next")
            took = (time.perf_counter() - began) * 1000
            with tally.lock:
                tally.next_ms.append(took)
                tally.statuses[answer.status_code] += 1
            if answer.status_code == 204:
                return  # nothing left for this reviewer
            if answer.status_code != 200:
                return
            row = answer.json()["row_id"]
            if tally.reading is not None:
                time.sleep(rng.uniform(*tally.reading))
            roll = rng.random()
            if roll < 0.02:  # a closed tab: the lease runs out
                with tally.lock:
                    tally.dropped.add((name, row))
                continue
            if roll < 0.07:
                done = client.post(f"/api/v1/queues/{QUEUE}/rows/{row}/skip")
            else:
                done = client.post(
                    f"/api/v1/queues/{QUEUE}/rows/{row}/review", json={"score": rng.randint(1, 5)}
                )
                if done.status_code in (200, 201):
                    with tally.lock:
                        tally.submitted[(name, row)] += 1
            with tally.lock:
                tally.statuses[done.status_code] += 1


def invariants(url: str, tally: Tally, check: Targets) -> int:
    """Read back the queue's rows and assignments and check them; the reviews stored."""
    from sqlalchemy import create_engine, text

    from rubricate.store.database import normalize_url

    engine = create_engine(normalize_url(url))
    with engine.connect() as connection:
        items = connection.execute(
            text("SELECT id, needed, counted FROM queue_items")
        ).all()  # fmt: skip
        reviews = connection.execute(
            text(
                "SELECT a.item_id, a.reviewer, a.state, a.beyond, r.external_id "
                "FROM queue_assignments a JOIN queue_items i ON i.id = a.item_id "
                "JOIN rows r ON r.id = i.row_id"
            )
        ).all()
    engine.dispose()
    counted_by_item = Counter(r.item_id for r in reviews if r.state == "submitted" and not r.beyond)
    over = [i.id for i in items if i.counted > i.needed]
    mismatched = [i.id for i in items if i.counted != counted_by_item.get(i.id, 0)]
    pairs = Counter((r.item_id, r.reviewer) for r in reviews)
    stored = {(r.reviewer, r.external_id) for r in reviews if r.state == "submitted"}
    lost = [key for key in tally.submitted if key not in stored]
    check(not over, f"no row has more than {REVIEWS_PER_ROW} counted reviews ({len(over)} do)")
    check(not mismatched, f"each row's count matches its counted reviews ({len(mismatched)} off)")
    check(max(pairs.values(), default=1) == 1, "no row given to one reviewer twice")
    check(not lost, f"every acknowledged review is stored ({len(lost)} lost)")
    bad = {s: n for s, n in tally.statuses.items() if s not in (200, 201, 204)}
    check(not bad, f"every answer 200, 201 or 204 ({bad or 'none other'})")
    return len(stored)


def run_phase(base: str, tokens: dict[str, str], seconds: float, tally: Tally) -> float:
    """The reviewers at work for ``seconds``; how long they took."""
    until = time.monotonic() + seconds
    threads = [
        threading.Thread(target=reviewer, args=(base, n, t, until, tally, i))
        for i, (n, t) in enumerate(tokens.items())
    ]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began


def line(name: str, tally: Tally, elapsed: float) -> tuple[list[str], float]:
    ms = sorted(tally.next_ms)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    reviews = sum(tally.submitted.values())
    cells = [
        name,
        f"{len(ms):,}",
        f"{statistics.median(ms):.1f}",
        f"{ms[int(len(ms) * 0.95)]:.1f}",
        f"{p99:.1f}",
        f"{ms[-1]:.1f}",
        f"{reviews:,}",
        f"{reviews / elapsed:.0f}",
    ]
    return cells, p99


def measure(
    server: Server, rows: int, quick: bool, folder: Path, check: Targets
) -> list[list[str]]:
    url = server.fresh()
    try:
        started = time.perf_counter()
        tokens = seed(url, folder, rows)
        print(f"{server.name}: seeded {rows:,} rows, {REVIEWERS} reviewers in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        burst, paced = Tally(), Tally(reading=READING_SECONDS)
        with serving(url, folder / f"serve-{server.name}.log") as (base, _pid):
            burst_s = run_phase(base, tokens, BURST_SECONDS[quick], burst)
            paced_s = run_phase(base, tokens, PACED_SECONDS[quick], paced)
        both = Tally(
            submitted=burst.submitted + paced.submitted, statuses=burst.statuses + paced.statuses
        )
        invariants(url, both, check)
        burst_line, _ = line(f"{server.name} burst", burst, burst_s)
        paced_line, p99 = line(f"{server.name} paced", paced, paced_s)
        if server.name == "PostgreSQL":
            check(
                p99 <= P99_TARGET_MS,
                f"PostgreSQL paced next-row p99 {p99:.1f} ms <= {P99_TARGET_MS:g}",
            )
        return [burst_line, paced_line]
    finally:
        server.drop(url)


def main() -> int:
    parser = bench_parser(__doc__ or "", "2,000 rows, 8 s burst and 15 s paced")
    add_postgres_url(parser)
    args = parser.parse_args()
    rows = QUICK_ROWS if args.quick else FULL_ROWS
    print(load_line("before"))
    check = Targets()
    lines = [["phase", "next calls", "median ms", "p95", "p99", "max", "reviews", "reviews/s"]]
    with tempfile.TemporaryDirectory(prefix="queue-bench-") as tmp:
        for server in database_servers(Path(tmp), args.postgres_url):
            try:
                lines.extend(measure(server, rows, args.quick, Path(tmp), check))
            finally:
                server.close()
    print()
    print_columns(lines)
    print(load_line("after"))
    return verdict(check.missed)


if __name__ == "__main__":
    sys.exit(main())
