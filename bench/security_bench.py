"""Security-and-faults benchmark (issue 12): the attacker's and fault injector's probes,
replayed against a real `rubricate serve` on loopback.

    python bench/security_bench.py [--quick] [--postgres-url URL]

For each database (a temporary SQLite file; PostgreSQL too when a URL is given), a fresh
workspace gets the demo and a few small evaluations; then `rubricate serve` runs in a
subprocess on 127.0.0.1 and a free port under RLIMIT_AS (2 GiB of address space), its
judge the fake OpenAI-compatible server of rubricate.testing in this process. The
server's peak RSS (VmHWM) is sampled throughout.

First in local mode (no accounts): scale, reply shapes, cross-origin and DNS rebinding,
slow template, zip bomb, body size. Then the server is stopped, an admin and reviewers are
added with `rubricate users`, and it serves again with accounts: roles, sign-in
throttling. On PostgreSQL, a paused worker: two `rubricate worker` processes, the run's
owner SIGSTOPped past the dead-after time and thawed.

Each probe states what is expected and is recorded handled or defective. Printed: a
table per category (probes tried, handled, defective) and the peak RSS. Exit 1 on any
defective probe or a server peak over 500 MB. --quick: a smaller zip bomb and chunked
body, fewer rows for the paused worker (CI). See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from _servers import PostgresServer, Server, SqliteServer
from rubricate.testing.fake_openai import FakeOpenAI, running
from security import data, probes_accounts, probes_runs, probes_web, probes_workers
from security.harness import MEMORY_CEILING_MB, Report, Served, environment

POSTGRES_ENV = "RUBRICATE_BENCH_POSTGRES_URL"
CATEGORIES = (
    "scale",
    "reply shapes",
    "paused worker",
    "cross-origin",
    "roles",
    "slow template",
    "zip bomb",
    "body size",
    "sign-in throttling",
)


def run_database(
    server: Server, report: Report, quick: bool, folder: Path, only: set[str]
) -> dict[str, float]:
    """Every probe (or those of the ``only`` categories) on one database; the peak RSS of
    each process (MB)."""

    def wanted(*categories: str) -> bool:
        return not only or bool(only & set(categories))

    peaks: dict[str, float] = {}
    url = server.fresh()
    fake = FakeOpenAI(responder=data.respond)
    try:
        with running(fake) as fake_server:
            data.seed(url, folder / "data", held_rows=120 if quick else 400)
            env = environment(url, fake_server.base_url)

            served = Served(env, folder / "serve-local.log")
            try:
                token = served.local_token
                if wanted("scale"):
                    probes_web.scale(report, served, token)
                if wanted("reply shapes"):
                    probes_runs.reply_shapes(report, served, token, fake)
                if wanted("cross-origin"):
                    probes_web.cross_origin(report, served)
                if wanted("slow template"):
                    probes_runs.slow_template(report, served, token, fake)
                if wanted("zip bomb"):
                    probes_web.zips(report, served, token, quick)
                if wanted("body size"):
                    probes_web.body_size(report, served, token, quick)
                if not served.alive():
                    report.probe(
                        "body size",
                        "server alive after the probes",
                        "alive",
                        lambda: probes_web._fail(f"exited: {served.tail(5)}"),
                    )
            finally:
                served.stop()
                peaks["serve (local mode)"] = served.peak_mb

            if wanted("roles", "sign-in throttling"):
                tokens = probes_accounts.add_users(env)
                served = Served(env, folder / "serve-accounts.log")
                try:
                    probes_accounts.roles(report, served, tokens)
                    probes_accounts.sign_in_throttle(report, served)
                finally:
                    served.stop()
                    peaks["serve (accounts)"] = served.peak_mb

            if not wanted("paused worker"):
                pass
            elif isinstance(server, PostgresServer):
                peaks["workers"] = probes_workers.paused_worker(
                    report, url, fake, fake_server.base_url, folder
                )
            else:
                report.skip(
                    "paused worker",
                    "needs PostgreSQL (--postgres-url): two workers on SQLite share one lock",
                )
    finally:
        server.drop(url)
    return peaks


def table(report: Report, name: str) -> None:
    print(f"\n{name}")
    print(f"  {'category':<20} {'tried':>6} {'handled':>8} {'defective':>10}")
    for category in CATEGORIES:
        probes = [p for p in report.probes if p.category == category]
        if not probes:
            print(f"  {category:<20} {'skipped: ' + report.skipped.get(category, 'not run')}")
            continue
        handled = sum(p.handled for p in probes)
        print(f"  {category:<20} {len(probes):>6} {handled:>8} {len(probes) - handled:>10}")
    total = len(report.probes)
    handled = sum(p.handled for p in report.probes)
    print(f"  {'total':<20} {total:>6} {handled:>8} {total - handled:>10}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the CI size (< 2 minutes)")
    parser.add_argument("--postgres-url", default=os.environ.get(POSTGRES_ENV))
    parser.add_argument(
        "--only",
        action="append",
        choices=CATEGORIES,
        default=[],
        help="run only these categories (repeatable)",
    )
    parser.add_argument("--logs", type=Path, help="keep the servers' logs in this folder")
    args = parser.parse_args()
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="rubricate-security-") as tmp:
        logs = args.logs or Path(tmp)
        servers: list[Server] = [SqliteServer(Path(tmp))]
        if args.postgres_url:
            servers.append(PostgresServer(args.postgres_url))
        for server in servers:
            began = time.monotonic()
            print(f"\n== {server.name}", flush=True)
            report = Report()
            folder = logs / server.name
            folder.mkdir(parents=True, exist_ok=True)
            peaks = run_database(server, report, args.quick, folder, set(args.only))
            server.close()
            table(report, f"{server.name}: {time.monotonic() - began:.0f} s")
            for process, peak in peaks.items():
                print(f"  peak RSS {process}: {peak:.0f} MB")
                if process.startswith("serve") and peak > MEMORY_CEILING_MB:
                    ceiling = f"{MEMORY_CEILING_MB:.0f} MB"
                    failures.append(f"{server.name}: {process} peak RSS {peak:.0f} MB > {ceiling}")
            for probe in report.probes:
                if not probe.handled:
                    what = f"{probe.category}: {probe.name} (expected {probe.expected})"
                    failures.append(f"{server.name}: {what}: {probe.detail}")
    if failures:
        print("\nDEFECTIVE:", *failures, sep="\n  ", file=sys.stderr)
        return 1
    print("\nall probes handled")
    return 0


if __name__ == "__main__":
    sys.exit(main())
