"""HTTP load benchmark: latency of the metric page and the runs list of `rubricate serve`,
driven by a load generator on loopback, on SQLite and (when a server is given) PostgreSQL.

    python bench/http_bench.py [--quick] [--postgres-url URL]

Each database is fresh and seeded through rubricate's own paths: one evaluation of N rows
(10,000; 2,000 with --quick) imported from a dataset folder, with a judge result on every
row and three reviewers' scores resolved with the median policy, and 100 alignment runs of
that metric in mixed statuses (a few carried out by the offline engine, the others started
and then cancelled, failed, left in flight or given a finished run's result). The real
`rubricate serve --workers 0` then runs in a process of its own on that database, and this
process sends GET /metrics/{metric} (the metric page) and GET /metrics/{metric}/runs (the
runs list) with C connections at once (default 4), N requests per page (500; 100 with
--quick) after a warm-up. Every response must be 200 and non-empty.

Printed per database and page: requests, median, p95, p99 and max latency (ms),
requests/s and the server's CPU time per request. Exit 1 when a target is missed (listed
on stderr): median <= 100 ms and p99 <= 500 ms on both pages and databases. See
bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from _common import ANNOTATORS, CRITERION, LABELS
from _servers import PostgresServer, Server, SqliteServer

try:  # the HTTP client rubricate's dependencies bring (openai, pydantic-ai), as Starlette's
    import httpx2 as httpx
except ImportError:  # pragma: no cover - older installs
    import httpx  # type: ignore[no-redef]

METRIC = CRITERION  # a custom metric, created by the import
EVALUATION = "bench"
FULL_ROWS = 10_000
QUICK_ROWS = 2_000
RUNS = 100  # alignment runs of the metric, at every size
REAL_RUNS = 2  # of them carried out by the offline engine; the other Aligned ones copy these
FULL_REQUESTS = 500
QUICK_REQUESTS = 100
CONCURRENCY = 4  # closed-loop clients with no think time: far more than a team sends
MEDIAN_MS = 100.0  # targets, per database and page
P99_MS = 500.0
POSTGRES_ENV = "RUBRICATE_BENCH_POSTGRES_URL"
SERVE = "from rubricate.cli import main; main()"

# (name, path, extra headers): the runs list is a fragment that htmx fetches into the page.
PAGES: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("metric page", "/metrics/{metric}", {}),
    ("runs list", "/metrics/{metric}/runs", {"HX-Request": "true"}),
)

# The newest runs are in flight; the older ones repeat this pattern (the oldest REAL_RUNS
# are the engine's own).
IN_FLIGHT = ("pending", "pending", "running", "running")
PATTERN = ("aligned",) * 6 + ("cancelled", "cancelled", "error")


# --- the data --------------------------------------------------------------------------------

_VOCABULARY = (
    "the a of to and in that is for it as with was on be by this are or from at an but not "
    "answer question reply account payment refund shipping order product service customer "
    "ticket error issue install update version release feature option setting default value "
    "policy request detail reason step result example summary section because however"
)
_WORDS = _VOCABULARY.split()
_PADDING_COMMENTS = (  # on rows whose long output the judge over-rates
    "Padded with filler; most of it repeats the question.",
    "Far too long, padded with filler before the actual answer.",
    "Padded with filler, the answer itself is one line.",
)
_HARSH_COMMENTS = (  # on rows about refunds that the judge under-rates
    "The refund steps are correct and complete.",
    "Gives the refund steps exactly as policy says.",
)
_OTHER_COMMENTS = (
    "Accurate and complete.",
    "Misses the second part of the question.",
    "Clear steps, easy to follow.",
    "Partly right; the numbers are off.",
)


def write_dataset(folder: Path, rows: int, seed: int = 0) -> None:
    """The dataset layout (dataset.json + rows.jsonl): one ordinal 1-5 criterion, three
    reviewers a row, a judge result on every row. Two blind spots give the offline engine
    something to find: the judge over-rates long outputs (reviewers say they are padded)
    and under-rates answers about refunds (reviewers say the steps are right)."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {
        "name": f"http-bench-{rows}",
        "task": "Rate how helpful the answer is.",
        "source": "bench/http_bench.py (synthetic)",
        "license": "CC0-1.0",
        "criteria": [
            {
                "name": CRITERION,
                "scale": {"type": "ordinal", "min": 1, "max": 5, "labels": LABELS},
                "description": "How well the answer helps the user with the question.",
            }
        ],
    }
    (folder / "dataset.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    rng = random.Random(seed)
    corpus = " ".join(rng.choice(_WORDS) for _ in range(40_000))

    def text(low: int, high: int) -> str:
        length = rng.randint(low, high)
        start = rng.randrange(len(corpus) - length)
        return corpus[start : start + length].strip()

    with (folder / "rows.jsonl").open("w", encoding="utf-8") as handle:
        for index in range(rows):
            truth = rng.randint(1, 5)
            long = rng.random() < 0.25
            refund = not long and rng.random() < 0.15
            output = text(900, 1500) if long else text(150, 600)
            judge = truth + rng.choice((-1, 0, 0, 0, 0, 1))
            comments: tuple[str, ...] = _OTHER_COMMENTS
            if long:
                truth = min(truth, 3)
                judge, comments = truth + 2, _PADDING_COMMENTS
            elif refund:
                truth = max(truth, 3)
                judge, comments = truth - 2, _HARSH_COMMENTS
                output = "To get a refund: " + output
            given = []
            for annotator in ANNOTATORS:
                score = min(5, max(1, truth + rng.choice((-1, 0, 0, 0, 0, 1))))
                item: dict[str, object] = {"annotator": annotator, "score": score}
                if rng.random() < (0.6 if comments is not _OTHER_COMMENTS else 0.2):
                    item["comment"] = rng.choice(comments)
                given.append(item)
            row = {
                "id": f"row-{index:06d}",
                "input": text(80, 400),
                "output": output,
                "metadata": {"topic": "refund" if refund else rng.choice(_WORDS)},
                "annotations": {CRITERION: given},
                "judge": {
                    CRITERION: {
                        "score": min(5, max(1, judge)),
                        "rationale": text(60, 200),
                        "model": "bench-judge-1",
                    }
                },
            }
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


@dataclass
class Seeded:
    rows: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    guidelines: int = 0  # found by the real runs, in all
    run_ids: list[str] = field(default_factory=list)
    seconds: float = 0.0


def seed(url: str, data: Path, runs: int) -> Seeded:
    """Import, resolve, and create ``runs`` alignment runs; on PostgreSQL, ANALYZE at the
    end (what autovacuum does within a minute of such a load), so that the plans measured
    do not depend on whether it has run yet."""
    from sqlalchemy import text

    from rubricate import Rubricate, Settings
    from rubricate.domain.runs import Phase, RunStatus
    from rubricate.store.tables import AlignmentRunRecord, utcnow

    started = time.perf_counter()
    seeded = Seeded()
    with Rubricate(Settings(database_url=url, response_cache=False)) as rb:
        seeded.rows = rb.import_path(data, EVALUATION).rows_added
        rb.annotations.resolve(EVALUATION, METRIC, "median")
        plan = [
            "real" if i < REAL_RUNS else PATTERN[(i - REAL_RUNS) % len(PATTERN)]
            for i in range(runs - len(IN_FLIGHT))
        ] + list(IN_FLIGHT)
        real: list[str] = []
        for index, kind in enumerate(plan):
            template = index % REAL_RUNS
            run = rb.alignment_runs.start(
                metric=METRIC, evaluations=[EVALUATION], delta=1 + template % 2, seed=template
            )
            if kind == "real":
                done = rb.alignment_runs.run(run.id)
                if done.status is not RunStatus.ALIGNED:
                    raise SystemExit(f"the offline run {run.id} ended {done.status}: {done.error}")
                found = len(done.result.guidelines) if done.result else 0
                if not found:
                    raise SystemExit(f"the offline run {run.id} found no guidelines")
                seeded.guidelines += found
                real.append(run.id)
            elif kind == "cancelled":
                rb.alignment_runs.cancel(run.id)
            elif kind != "pending":
                with rb.db.write() as session:
                    record = session.get(AlignmentRunRecord, run.id)
                    assert record is not None
                    record.started_at = utcnow()
                    if kind == "aligned":  # what the engine wrote for the same parameters
                        source = session.get(AlignmentRunRecord, real[template])
                        assert source is not None
                        for name in (
                            "status",
                            "phase",
                            "progress_done",
                            "progress_total",
                            "disagreements",
                            "agreeing_skipped",
                            "missing_skipped",
                            "low_confidence",
                            "result",
                        ):
                            setattr(record, name, getattr(source, name))
                        record.finished_at = utcnow()
                    elif kind == "error":
                        record.status = RunStatus.ERROR.value
                        record.phase = Phase.DISTILLING.value
                        record.error = (
                            "openai:gpt-4.1 failed after 4 attempts: 429 Too Many Requests "
                            "(rate limit reached for requests per minute)"
                        )
                        record.finished_at = utcnow()
                    else:  # running
                        record.status = RunStatus.RUNNING.value
                        record.phase = Phase.DISTILLING.value
                        record.progress_done, record.progress_total = 3, 8
            seeded.statuses[kind] = seeded.statuses.get(kind, 0) + 1
            seeded.run_ids.append(run.id)
        # Reviews: the oldest run's guidelines accepted (version 2), the next one rejected.
        rb.reviews.reject(real[1])
        rb.reviews.accept(real[0])
        if rb.db.engine.dialect.name == "postgresql":
            with rb.db.engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    seeded.seconds = time.perf_counter() - started
    return seeded


# --- the server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serving(url: str, log: Path) -> Iterator[tuple[str, int]]:
    """`rubricate serve --workers 0` on a free port (no run is carried out meanwhile, so
    the runs keep their statuses); its base URL and process id."""
    port = free_port()
    env = {
        **os.environ,
        "RUBRICATE_DATABASE_URL": url,
        "RUBRICATE_SETTINGS_FILE": os.devnull,
    }
    command = [sys.executable, "-c", SERVE, "serve", "--port", str(port), "--workers", "0"]
    with log.open("ab") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"rubricate serve exited:\n{log.read_text()[-4000:]}")
            try:
                with urllib.request.urlopen(f"{base}/metrics", timeout=2) as response:
                    if response.status == 200:
                        break
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"rubricate serve did not answer:\n{log.read_text()[-4000:]}")
            time.sleep(0.1)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux: /proc), else None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- the load ----------------------------------------------------------------------------------


WARM_UP = 2  # untimed requests per connection before each page is measured


@dataclass
class Load:
    """What one burst of requests gave."""

    latencies: list[float] = field(default_factory=list)  # seconds, of the good responses
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    bytes: int = 0
    sample: str = ""  # the last good response's body


@dataclass
class Measured:
    database: str
    page: str
    path: str
    concurrency: int
    load: Load = field(default_factory=Load)
    runs_shown: int = 0  # of the seeded runs, those whose id the page holds
    server_cpu: float | None = None  # seconds
    client_cpu: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.load.latencies) + len(self.load.failures)

    def percentile(self, p: float) -> float:
        """Nearest rank, in ms."""
        ordered = sorted(self.load.latencies)
        if not ordered:
            return math.inf
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000

    @property
    def per_second(self) -> float:
        return self.requests / self.load.seconds if self.load.seconds else 0.0


async def _load(
    base: str, path: str, headers: dict[str, str], requests: int, concurrency: int
) -> Load:
    """``requests`` GETs of ``path``, ``concurrency`` at a time, each on its own
    keep-alive connection (a closed loop: a connection sends its next request when the
    previous one has been answered)."""
    load = Load()
    left = requests
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    timeout = httpx.Timeout(60.0)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client:

        async def one_connection() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                began = time.perf_counter()
                try:
                    response = await client.get(path, headers=headers)
                except httpx.HTTPError as exc:
                    load.failures.append(f"{type(exc).__name__}: {exc}")
                    continue
                took = time.perf_counter() - began
                if response.status_code != 200 or not response.content.strip():
                    load.failures.append(f"HTTP {response.status_code}: {response.text[:300]!r}")
                    continue
                load.latencies.append(took)
                load.bytes += len(response.content)
                load.sample = response.text

        started = time.perf_counter()
        await asyncio.gather(*(one_connection() for _ in range(concurrency)))
        load.seconds = time.perf_counter() - started
    return load


def measure(
    database: str,
    base: str,
    pid: int,
    page: tuple[str, str, dict[str, str]],
    run_ids: list[str],
    requests: int,
    concurrency: int,
) -> Measured:
    name, template, headers = page
    path = template.format(metric=METRIC)
    result = Measured(database, name, path, concurrency)
    warm = asyncio.run(_load(base, path, headers, WARM_UP * concurrency, concurrency))
    if warm.failures:
        result.load = warm  # the page does not work: no use timing it
        return result
    result.runs_shown = sum(1 for run_id in run_ids if run_id in warm.sample)
    cpu_before, client_before = process_cpu_seconds(pid), own_cpu_seconds()
    result.load = asyncio.run(_load(base, path, headers, requests, concurrency))
    cpu_after = process_cpu_seconds(pid)
    result.client_cpu = own_cpu_seconds() - client_before
    if cpu_before is not None and cpu_after is not None:
        result.server_cpu = cpu_after - cpu_before
    return result


def bench_database(
    server: Server, data: Path, log: Path, requests: int, concurrency: int, runs: int
) -> list[Measured]:
    url = server.fresh()
    try:
        seeded = seed(url, data, runs)
        print(
            f"  seeded in {seeded.seconds:.1f} s: {seeded.rows:,} rows, {runs} runs "
            f"({', '.join(f'{n} {k}' for k, n in seeded.statuses.items())}; "
            f"{seeded.guidelines} guidelines found by the real runs)"
        )
        results = []
        with serving(url, log) as (base, pid):
            for page in PAGES:
                result = measure(
                    server.name, base, pid, page, seeded.run_ids, requests, concurrency
                )
                print(
                    f"  {result.page:<12} GET {result.path:<28} median "
                    f"{result.percentile(50):7.1f} ms  p99 {result.percentile(99):7.1f} ms  "
                    f"{result.per_second:6.1f} req/s  {result.runs_shown} runs shown"
                )
                results.append(result)
        return results
    finally:
        server.drop(url)


# --- the report --------------------------------------------------------------------------------


def table(results: list[Measured]) -> None:
    header = [
        "database",
        "page",
        "requests",
        "conc.",
        "median ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "req/s",
        "server CPU ms/req",
        "client CPU ms/req",
        "KB/resp",
        "runs shown",
    ]
    lines = [header]
    for r in results:
        good = len(r.load.latencies) or 1
        lines.append(
            [
                r.database,
                r.page,
                f"{r.requests:,}",
                str(r.concurrency),
                f"{r.percentile(50):.1f}",
                f"{r.percentile(95):.1f}",
                f"{r.percentile(99):.1f}",
                f"{r.percentile(100):.1f}",
                f"{r.per_second:.1f}",
                "-" if r.server_cpu is None else f"{r.server_cpu / good * 1000:.1f}",
                f"{r.client_cpu / good * 1000:.1f}",
                f"{r.load.bytes / good / 1024:.1f}",
                str(r.runs_shown),
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for number, line in enumerate(lines):
        cells = [
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        print("  ".join(cells))
        if number == 0:
            print("  ".join("-" * w for w in widths))


def check(results: list[Measured], requests: int) -> list[str]:
    missed: list[str] = []

    def verdict(ok: bool, text: str) -> None:
        print(f"  {'ok  ' if ok else 'MISS'}  {text}")
        if not ok:
            missed.append(text)

    for r in results:
        where = f"{r.database} {r.page} (GET {r.path})"
        if r.load.failures:
            verdict(
                False,
                f"{where}: {len(r.load.failures)} of {r.requests} responses not 200 or empty; "
                f"first: {r.load.failures[0]}",
            )
            continue
        good = len(r.load.latencies)
        verdict(good == requests, f"{where}: {good} of {requests} responses 200, non-empty")
        verdict(r.runs_shown > 0, f"{where}: shows {r.runs_shown} of the seeded runs")
        median, p99 = r.percentile(50), r.percentile(99)
        verdict(median <= MEDIAN_MS, f"{where}: median {median:.1f} ms (target <= {MEDIAN_MS:g})")
        verdict(p99 <= P99_MS, f"{where}: p99 {p99:.1f} ms (target <= {P99_MS:g})")
    return missed


def _load_average(when: str) -> str:
    one, five, _ = os.getloadavg()
    cores = os.cpu_count() or 1
    text = f"load average {when}: {one:.2f} (1 min), {five:.2f} (5 min) on {cores} cores"
    if one > cores / 2:
        text += " -- a busy machine: timings are pessimistic"
    return text


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark `rubricate serve`: latency of the metric page and the runs "
        "list under load, on SQLite and PostgreSQL."
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"CI size: {QUICK_ROWS:,} rows and {QUICK_REQUESTS} requests per page "
        f"instead of {FULL_ROWS:,} and {FULL_REQUESTS} ({RUNS} runs either way)",
    )
    parser.add_argument("--rows", type=int, help="rows of the evaluation")
    parser.add_argument("--requests", type=int, help="timed requests per page and database")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=CONCURRENCY,
        help=f"requests in flight, each on its own connection (default {CONCURRENCY})",
    )
    parser.add_argument(
        "--runs", type=int, default=RUNS, help=f"alignment runs of the metric (default {RUNS})"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(POSTGRES_ENV) or None,
        help=f"a PostgreSQL server URL whose role may CREATE DATABASE (default: ${POSTGRES_ENV};"
        " without one, SQLite only)",
    )
    parser.add_argument("--workdir", type=Path, help="where the data goes (default: temp)")
    args = parser.parse_args(argv)
    if args.rows is None:
        args.rows = QUICK_ROWS if args.quick else FULL_ROWS
    if args.requests is None:
        args.requests = QUICK_REQUESTS if args.quick else FULL_REQUESTS
    if args.rows < 100 or args.requests < 1 or args.concurrency < 1:
        parser.error("--rows must be at least 100, --requests and --concurrency at least 1")
    if args.runs < REAL_RUNS + len(IN_FLIGHT):
        parser.error(f"--runs must be at least {REAL_RUNS + len(IN_FLIGHT)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.perf_counter()
    results: list[Measured] = []
    with tempfile.TemporaryDirectory(prefix="rubricate-http-bench-", dir=args.workdir) as tmp:
        root = Path(tmp)
        log = root / "serve.log"
        data = root / "data"
        write_dataset(data, args.rows)
        servers: list[Server] = [SqliteServer(root)]
        if args.postgres_url:
            servers.append(PostgresServer(args.postgres_url))
        else:
            print(f"PostgreSQL skipped: pass --postgres-url or set ${POSTGRES_ENV}")
        print(
            f"`rubricate serve --workers 0` in its own process; load from this one on loopback: "
            f"{args.concurrency} connections, {args.requests} requests per page after "
            f"{WARM_UP * args.concurrency} to warm up; {args.rows:,} rows, {args.runs} runs"
        )
        print(_load_average("before"))
        try:
            for server in servers:
                print(f"\n{server.name}")
                measured = bench_database(
                    server, data, log, args.requests, args.concurrency, args.runs
                )
                results.extend(measured)
        except BaseException:
            if log.exists():
                print(log.read_text(errors="replace")[-4000:], file=sys.stderr)
            raise
        finally:
            for server in servers:
                server.close()

    print(_load_average("after"), end="\n\n")
    table(results)
    print(f"\nbench took {time.perf_counter() - began:.0f} s")
    print("\ntargets:")
    missed = check(results, args.requests)
    if missed:
        print(f"\nmissed {len(missed)} target(s):", file=sys.stderr)
        for text in missed:
            print(f"  - {text}", file=sys.stderr)
        return 1
    print("\nall targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
