"""The http bench's setup: a synthetic evaluation written as a dataset folder, a workspace
seeded with it and with alignment runs in every status, and `rubricate serve` started on
it in a process of its own (bench/http_bench.py)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from _common import (
    ANNOTATORS,
    CRITERION,
    free_port,
    stop_process,
    text_maker,
    write_manifest,
)

METRIC = CRITERION  # a custom metric, created by the import
EVALUATION = "bench"
REAL_RUNS = 2  # of them carried out by the offline engine; the other Aligned ones copy these
# The newest runs are in flight; the older ones repeat this pattern (the oldest REAL_RUNS
# are the engine's own).
IN_FLIGHT = ("pending", "pending", "running", "running")
PATTERN = ("aligned",) * 6 + ("cancelled", "cancelled", "error")
SERVE = "from rubricate.cli import main; main()"

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
    write_manifest(
        folder,
        {
            "name": f"http-bench-{rows}",
            "task": "Rate how helpful the answer is.",
            "source": "bench/http_bench.py (synthetic)",
            "license": "CC0-1.0",
        },
    )
    rng = random.Random(seed)
    text = text_maker(rng, _WORDS)

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

    from rubricate import Phase, Rubricate, RunStatus, Settings
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
        rb.reviews.accept(real[0], confirm_unverified=True)  # offline: not verified
        if rb.db.engine.dialect.name == "postgresql":
            with rb.db.engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    seeded.seconds = time.perf_counter() - started
    return seeded


# --- the server ------------------------------------------------------------------------------


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
        stop_process(process)


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux: /proc), else None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
