"""Shared by the benchmarks: a synthetic annotation dataset, written streaming, and the
process's peak memory."""

from __future__ import annotations

import json
import random
import resource
import sys
from dataclasses import dataclass
from pathlib import Path

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


def write_dataset(folder: Path, rows: int, *, seed: int = 0) -> DatasetSize:
    """Write ``dataset.json`` and ``rows.jsonl`` (the annotation dataset layout) for
    ``rows`` rows, one line at a time: one ordinal 1–5 criterion, three annotators per
    row (some with a short comment), a judge result on about half the rows, texts of
    200–800 characters. The same ``rows`` and ``seed`` always give the same bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {
        "name": f"synthetic-{rows}",
        "rows": rows,
        "source": "bench/_common.py (synthetic)",
        "license": "CC0-1.0",
        "task": "Rate how helpful the answer is.",
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
    annotations = judged = 0

    def text(low: int, high: int) -> str:
        length = rng.randint(low, high)
        start = rng.randrange(len(corpus) - length)
        return corpus[start : start + length].strip()

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
