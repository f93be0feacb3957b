"""Shared by the benchmarks: a synthetic annotation dataset, written streaming, the
process's peak memory, the command-line options most of them take, and their report (the
load average, tables, targets met or missed)."""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_ENV = "RUBRICATE_BENCH_POSTGRES_URL"
CRITERION = "support_quality"  # not a built-in metric: those refuse imported judge results
ANNOTATORS = ("ana", "ben", "chen")
LABELS = {1: "Useless", 2: "Poor", 3: "Acceptable", 4: "Good", 5: "Excellent"}

_VOCABULARY = (
    "the a of to and in that is for it as with was on be by this are or from at an but not "
    "model answer question user reply context source claim evidence step result because "
    "however therefore example section summary detail reason policy request account "
    "payment refund shipping order product service customer support ticket error issue "
    "configure install update version release feature option setting default value "
    "function method class module package library database query index table column "
    "patient dose symptom treatment study trial sample measure effect risk outcome "
    "contract clause party term notice period liability damages court ruling appeal"
)
_WORDS = _VOCABULARY.split()

_COMMENTS = (
    "Accurate and complete.",
    "Misses the second part of the question.",
    "Correct, but far too long.",
    "Hallucinates a source that does not exist.",
    "Good tone; one factual slip about the refund window.",
    "Does not answer what was asked.",
    "Clear steps, easy to follow.",
    "Partly right; the numbers are off.",
)


@dataclass(frozen=True)
class DatasetSize:
    rows: int
    annotations: int
    judge_results: int
    bytes: int


def write_manifest(folder: Path, fields: dict[str, object]) -> None:
    """A dataset folder's ``dataset.json``: ``fields``, then the one 1-5 criterion."""
    folder.mkdir(parents=True, exist_ok=True)
    criterion = {
        "name": CRITERION,
        "scale": {"type": "ordinal", "min": 1, "max": 5, "labels": LABELS},
        "description": "How well the answer helps the user with the question.",
    }
    manifest = fields | {"criteria": [criterion]}
    (folder / "dataset.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def text_maker(rng: random.Random, words: list[str]) -> Callable[[int, int], str]:
    """Pieces of a corpus of 40,000 ``words`` drawn by ``rng``, of ``low`` to ``high``
    characters: ``text(low, high)``."""
    corpus = " ".join(rng.choice(words) for _ in range(40_000))

    def text(low: int, high: int) -> str:
        length = rng.randint(low, high)
        start = rng.randrange(len(corpus) - length)
        return corpus[start : start + length].strip()

    return text


def write_dataset(folder: Path, rows: int, *, seed: int = 0) -> DatasetSize:
    """Write ``dataset.json`` and ``rows.jsonl`` (the annotation dataset layout) for
    ``rows`` rows, one line at a time: one ordinal 1–5 criterion, three annotators per
    row (some with a short comment), a judge result on about half the rows, texts of
    200–800 characters. The same ``rows`` and ``seed`` always give the same bytes."""
    write_manifest(
        folder,
        {
            "name": f"synthetic-{rows}",
            "rows": rows,
            "source": "bench/_common.py (synthetic)",
            "license": "CC0-1.0",
            "task": "Rate how helpful the answer is.",
        },
    )
    rng = random.Random(seed)
    text = text_maker(rng, _WORDS)
    annotations = judged = 0

    with (folder / "rows.jsonl").open("w", encoding="utf-8") as handle:
        for index in range(rows):
            truth = rng.randint(1, 5)
            given = []
            for annotator in ANNOTATORS:
                score = min(5, max(1, truth + rng.choice((-1, 0, 0, 0, 1))))
                item: dict[str, object] = {"annotator": annotator, "score": score}
                if rng.random() < 0.3:
                    item["comment"] = rng.choice(_COMMENTS)
                given.append(item)
            annotations += len(given)
            row: dict[str, object] = {
                "id": f"row-{index:07d}",
                "input": text(200, 800),
                "output": text(200, 800),
                "metadata": {"topic": rng.choice(_WORDS), "index": index},
                "annotations": {CRITERION: given},
            }
            if index % 5 == 0:
                row["context"] = text(100, 400)
            if rng.random() < 0.5:
                row["judge"] = {
                    CRITERION: {
                        "score": min(5, max(1, truth + rng.choice((-1, 0, 1)))),
                        "rationale": text(60, 200),
                        "model": "bench-judge-1",
                    }
                }
                judged += 1
            handle.write(json.dumps(row, ensure_ascii=False))
            handle.write("\n")
    size = (folder / "rows.jsonl").stat().st_size
    return DatasetSize(rows=rows, annotations=annotations, judge_results=judged, bytes=size)


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def cpu_seconds() -> float:
    """This process's user + system CPU time so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Stop a child as Ctrl-C does (SIGTERM); kill it if it has not ended in 30 s."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then released), for a server."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def load_line(when: str) -> str:
    """The load average, since other work on the machine skews the timings."""
    one, five, _ = os.getloadavg()
    cores = os.cpu_count() or 1
    text = f"load average {when}: {one:.2f} (1 min), {five:.2f} (5 min) on {cores} cores"
    if one > cores / 2:
        text += " -- a busy machine: timings are pessimistic (compare CPU s)"
    return text


def shared_data() -> Path:
    """The folder of the real data sets: $RUBRICATE_SHARED_DATA, else shared/data beside
    the checkout."""
    return Path(os.environ.get("RUBRICATE_SHARED_DATA", ROOT.parent / "shared" / "data"))


def without_shared_data(bench: str, reason: str) -> int:
    """Say in one line why ``bench`` cannot run without the real data sets; the exit code:
    1 when RUBRICATE_REQUIRE_SHARED_DATA=1 (CI has them), else 0 (skipped)."""
    required = os.environ.get("RUBRICATE_REQUIRE_SHARED_DATA") == "1"
    print(f"{bench}: {'failed' if required else 'skipped'}: {reason}")
    return 1 if required else 0


def verdict(missed: list[str]) -> int:
    """Print the targets missed (on stderr) or that all were met; the exit code."""
    if missed:
        print(f"\nmissed {len(missed)} target(s):", file=sys.stderr)
        for text in missed:
            print(f"  - {text}", file=sys.stderr)
        return 1
    print("\nall targets met")
    return 0


class Targets:
    """Prints each target as met or missed, and keeps the missed ones for `verdict`."""

    def __init__(self, gap: str = "  ") -> None:
        self.gap = gap  # between the mark and the text
        self.missed: list[str] = []

    def __call__(self, ok: bool, text: str) -> None:
        print(f"  {'ok  ' if ok else 'MISS'}{self.gap}{text}")
        if not ok:
            self.missed.append(text)


def print_columns(lines: list[list[str]], left: int = 1) -> None:
    """The header (the first line), a rule, then the rows: each column as wide as its
    widest cell, the first ``left`` columns flush left, the others flush right."""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    for number, line in enumerate(lines):
        cells = [
            cell.ljust(width) if i < left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        ]
        print("  ".join(cells))
        if number == 0:
            print("  ".join("-" * width for width in widths))


def bench_parser(description: str, quick: str) -> argparse.ArgumentParser:
    """A benchmark's command line, with --quick (``quick`` says what size it runs)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help=quick)
    return parser


def add_postgres_url(parser: argparse.ArgumentParser) -> None:
    """--postgres-url, from $RUBRICATE_BENCH_POSTGRES_URL by default; SQLite only without."""
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(POSTGRES_ENV) or None,
        help=f"a PostgreSQL server URL whose role may CREATE DATABASE (default: ${POSTGRES_ENV};"
        " without one, SQLite only)",
    )


def add_repeat(parser: argparse.ArgumentParser, what: str, quick: int) -> None:
    """--repeat: how many times ``what`` is measured (``quick`` times with --quick)."""
    parser.add_argument(
        "--repeat",
        type=int,
        help=f"{what} (default: {quick} with --quick, else 1)",
    )


def settle_repeat(parser: argparse.ArgumentParser, args: argparse.Namespace, quick: int) -> None:
    """Fills in --repeat's default (``quick`` with --quick, else 1) and refuses one below 1."""
    if args.repeat is None:
        args.repeat = quick if args.quick else 1
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
