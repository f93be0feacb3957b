"""Import benchmark: rows/s, annotations/s and peak memory of ``Rubricate.import_path`` on
a synthetic annotation dataset, on SQLite and (when a server is given) PostgreSQL.

    python bench/import_bench.py [--quick] [--rows N] [--postgres-url URL]

Each import runs in a fresh process on a fresh database, so its peak RSS is its own. The
dataset of N rows (three annotations each) and one of N/10 rows are imported; the run
fails (exit 1) when SQLite imports fewer than 20,000 annotations/s at N rows, or when
the peak memory at N rows exceeds 1.2x that at N/10 rows on any database (the import
must stream), or when the throughput at N rows falls below 0.4x that at N/10 rows on any
database (the import must scale linearly). See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from _common import (
    DatasetSize,
    Targets,
    add_postgres_url,
    add_repeat,
    bench_parser,
    cpu_seconds,
    load_line,
    peak_rss_mb,
    print_columns,
    settle_repeat,
    verdict,
    write_dataset,
)
from _servers import Server, SqliteServer, database_servers

FULL_ROWS = 100_000
QUICK_ROWS = 20_000
SQLITE_ANNOTATIONS_PER_S = 20_000  # target at the large size
MEMORY_RATIO = 1.2  # peak RSS at N rows / peak RSS at N/10 rows
SCALING_RATIO = 0.4  # throughput at N rows / throughput at N/10 rows, on every database


@dataclass(frozen=True)
class Measured:
    """What one child process reports about its import."""

    seconds: float
    cpu_seconds: float  # user + system time of the process during the import
    rows_added: int
    annotations_added: int
    judge_results_added: int
    rss_before_mb: float  # peak RSS with rubricate loaded and the database migrated
    rss_peak_mb: float  # peak RSS after the import
    heap_peak_mb: float | None  # tracemalloc's peak during the import, if traced


@dataclass(frozen=True)
class Result:
    database: str
    data: DatasetSize
    measured: Measured

    @property
    def rows_per_s(self) -> float:
        return self.data.rows / self.measured.seconds

    @property
    def annotations_per_s(self) -> float:
        return self.data.annotations / self.measured.seconds


# The child: one import, measured from inside.


def run_child(data: Path, url: str, batch_size: int | None, trace: bool) -> None:
    import tracemalloc

    from rubricate import Rubricate, Settings

    settings = Settings(database_url=url, auto_migrate=True)
    if batch_size is not None:
        settings = settings.model_copy(update={"import_batch_size": batch_size})
    with Rubricate(settings) as rb:
        before = peak_rss_mb()
        if trace:
            tracemalloc.start()
        cpu_started = cpu_seconds()
        started = time.perf_counter()
        report = rb.import_path(data, "bench")
        seconds = time.perf_counter() - started
        cpu_used = cpu_seconds() - cpu_started
        heap = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
        peak = peak_rss_mb()
    measured = Measured(
        seconds=seconds,
        cpu_seconds=cpu_used,
        rows_added=report.rows_added,
        annotations_added=report.annotations_added,
        judge_results_added=report.judge_results_added,
        rss_before_mb=before,
        rss_peak_mb=peak,
        heap_peak_mb=heap,
    )
    print(json.dumps(asdict(measured)))


def measure(data: Path, url: str, batch_size: int | None, trace: bool) -> Measured:
    command = [sys.executable, str(Path(__file__).resolve()), "--child-data", str(data)]
    if batch_size is not None:
        command += ["--batch-size", str(batch_size)]
    if trace:
        command.append("--tracemalloc")
    env = {**os.environ, "RUBRICATE_BENCH_CHILD_URL": url}  # kept off the command line
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"the import into {_safe(url)} failed (exit {done.returncode})")
    return Measured(**json.loads(done.stdout.strip().splitlines()[-1]))


def _import_once(server: Server, data: Path, batch_size: int | None, *, trace: bool) -> Measured:
    url = server.fresh()
    try:
        return measure(data, url, batch_size, trace)
    finally:
        server.drop(url)


def _safe(url: str) -> str:
    from sqlalchemy import make_url

    return make_url(url).render_as_string(hide_password=True)


# The report.


def print_table(results: list[Result], trace: bool) -> None:
    header = [
        "database",
        "rows",
        "annotations",
        "seconds",
        "CPU s",
        "rows/s",
        "annotations/s",
        "peak RSS MB",
        "RSS before MB",
        "growth MB",
    ]
    if trace:
        header.append("heap peak MB")
    lines = [header]
    for r in results:
        m = r.measured
        line = [
            r.database,
            f"{r.data.rows:,}",
            f"{r.data.annotations:,}",
            f"{m.seconds:.2f}",
            f"{m.cpu_seconds:.2f}",
            f"{r.rows_per_s:,.0f}",
            f"{r.annotations_per_s:,.0f}",
            f"{m.rss_peak_mb:.1f}",
            f"{m.rss_before_mb:.1f}",
            f"{m.rss_peak_mb - m.rss_before_mb:.1f}",
        ]
        if trace:
            line.append(f"{m.heap_peak_mb:.1f}" if m.heap_peak_mb is not None else "-")
        lines.append(line)
    print_columns(lines)


def check(results: list[Result], large: int, small: int) -> list[str]:
    """Print each target as met or missed; return the missed ones."""
    target = Targets()

    for r in results:
        m = r.measured
        complete = (m.rows_added, m.annotations_added, m.judge_results_added) == (
            r.data.rows,
            r.data.annotations,
            r.data.judge_results,
        )
        if not complete:
            target(
                False,
                f"{r.database} at {r.data.rows:,} rows imported {m.rows_added:,} rows, "
                f"{m.annotations_added:,} annotations, {m.judge_results_added:,} judge "
                f"results; expected {r.data.rows:,}, {r.data.annotations:,}, "
                f"{r.data.judge_results:,}",
            )
    by_key = {(r.database, r.data.rows): r for r in results}
    sqlite = by_key.get((SqliteServer.name, large))
    if sqlite is not None:
        target(
            sqlite.annotations_per_s >= SQLITE_ANNOTATIONS_PER_S,
            f"SQLite throughput at {large:,} rows: {sqlite.annotations_per_s:,.0f} "
            f"annotations/s (target >= {SQLITE_ANNOTATIONS_PER_S:,})",
        )
    for database in dict.fromkeys(r.database for r in results):
        big, little = by_key.get((database, large)), by_key.get((database, small))
        if big is None or little is None:
            continue
        ratio = big.measured.rss_peak_mb / little.measured.rss_peak_mb
        target(
            ratio <= MEMORY_RATIO,
            f"{database} peak memory {large:,} rows / {small:,} rows: "
            f"{big.measured.rss_peak_mb:.1f} / {little.measured.rss_peak_mb:.1f} MB = "
            f"{ratio:.2f}x (target <= {MEMORY_RATIO}x)",
        )
        scaling = big.annotations_per_s / little.annotations_per_s
        target(
            scaling >= SCALING_RATIO,
            f"{database} throughput {large:,} rows / {small:,} rows: "
            f"{big.annotations_per_s:,.0f} / {little.annotations_per_s:,.0f} annotations/s = "
            f"{scaling:.2f}x (target >= {SCALING_RATIO}x: time grows linearly with rows)",
        )
    return target.missed


# The driver.


def _default_batch_size() -> int:
    from rubricate import Settings

    return Settings().import_batch_size  # RUBRICATE_IMPORT_BATCH_SIZE, or the default


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = bench_parser(
        "Benchmark rubricate's import: rows/s, annotations/s and peak memory.",
        quick=f"CI size: {QUICK_ROWS:,} and {QUICK_ROWS // 10:,} rows instead of "
        f"{FULL_ROWS:,} and {FULL_ROWS // 10:,}",
    )
    parser.add_argument("--rows", type=int, help="the large size (the small one is a tenth)")
    add_postgres_url(parser)
    parser.add_argument(
        "--batch-size", type=int, help="rows per import batch (default: rubricate's setting)"
    )
    add_repeat(
        parser, "imports per size and database; the fastest counts, and the highest peak RSS", 2
    )
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also report the Python heap's peak (tracemalloc) from one more, untimed import",
    )
    parser.add_argument(
        "--workdir", type=Path, help="where to put the datasets and SQLite files (default: temp)"
    )
    parser.add_argument("--child-data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rows is None:
        args.rows = QUICK_ROWS if args.quick else FULL_ROWS
    if args.rows < 10:
        parser.error("--rows must be at least 10")
    settle_repeat(parser, args, quick=2)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child_data is not None:
        url = os.environ["RUBRICATE_BENCH_CHILD_URL"]
        run_child(args.child_data, url, args.batch_size, args.tracemalloc)
        return 0

    large, small = args.rows, args.rows // 10
    with tempfile.TemporaryDirectory(prefix="rubricate-bench-", dir=args.workdir) as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        datasets = {n: write_dataset(root / f"data-{n}", n, seed=n) for n in (small, large)}
        print(
            f"synthetic datasets ({time.perf_counter() - started:.1f}s): "
            + ", ".join(
                f"{d.rows:,} rows / {d.annotations:,} annotations / {d.judge_results:,} judge "
                f"results ({d.bytes / 2**20:.0f} MB)"
                for d in datasets.values()
            )
        )
        servers = database_servers(root, args.postgres_url)
        batch = args.batch_size or _default_batch_size()
        print(
            f"batch size: {batch:,}; each import in a fresh process on a fresh database, "
            f"best of {args.repeat}"
        )
        if small < batch:
            print(
                f"note: {small:,} rows is less than one batch, so the memory ratio understates "
                "what a batch costs; use --rows of at least 10 batches"
            )
        print(load_line("before"))

        results: list[Result] = []
        try:
            for server in servers:
                for n in (small, large):
                    runs = [
                        _import_once(server, root / f"data-{n}", args.batch_size, trace=False)
                        for _ in range(args.repeat)
                    ]
                    best = min(runs, key=lambda m: m.seconds)
                    best = replace(best, rss_peak_mb=max(m.rss_peak_mb for m in runs))
                    if args.tracemalloc:  # apart from the timed runs: tracing slows them
                        traced = _import_once(
                            server, root / f"data-{n}", args.batch_size, trace=True
                        )
                        best = replace(best, heap_peak_mb=traced.heap_peak_mb)
                    results.append(Result(server.name, datasets[n], best))
        finally:
            for server in servers:
                server.close()

    print(load_line("after"), end="\n\n")
    print_table(results, args.tracemalloc)
    print("\ntargets:")
    missed = check(results, large, small)
    return verdict(missed)


if __name__ == "__main__":
    sys.exit(main())
