"""A small synthetic evaluation for alignment tests: reviewers agree on a human score,
and the judge is too lenient on long outputs (a blind spot the reviewers' comments name)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from rubricate import Rubricate
from rubricate.alignment.trace_format import parse_blocks
from rubricate.domain.alignment_runs import AlignmentRun
from rubricate.domain.traces import Direction
from rubricate.models import fake

METRIC = "clarity"
EVALUATION = "clarity-eval"
GUIDELINE = "Do not reward length: a long answer is not better for being long."
ANSWER = re.compile(r"Answer (\d+)\.")
# The fake models registered by `reflect_length` and `judge_length`, as run options.
FAKES: dict[str, Any] = {"reflection_lm": "fake:reflect", "judge_model": "fake:judge"}


def human_score(i: int) -> int:
    return 1 + (i * 7) % 5


def is_long(i: int) -> bool:
    return i % 3 == 0


def judge_score(i: int) -> int:
    """+2 (clipped) on long outputs: the blind spot."""
    return min(5, human_score(i) + 2) if is_long(i) else human_score(i)


def row(i: int, *, judge: bool = True) -> dict[str, Any]:
    long = is_long(i)
    output = f"Answer {i}. " + ("It keeps going with filler sentences. " * 40 if long else "Short.")
    comment = "rambles and pads the answer" if long else "clear enough"
    human = human_score(i)
    record: dict[str, Any] = {
        "id": f"r{i}",
        "input": f"Topic {i}: how does item {i} work?",
        "output": output,
        "annotations": {
            METRIC: [
                {"annotator": f"rev{k}", "score": human, "comment": f"{comment} ({k})"}
                for k in range(3)
            ]
        },
    }
    if judge:
        record["judge"] = {
            METRIC: {"score": judge_score(i), "rationale": "seems fine", "model": "old:judge"}
        }
    return record


def write_dataset(folder: Path, rows: int, *, judged_until: int | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {
        "name": folder.name,
        "criteria": [
            {
                "name": METRIC,
                "description": "How clear and to the point the answer is.",
                "scale": {"type": "ordinal", "min": 1, "max": 5},
            }
        ],
    }
    (folder / "dataset.json").write_text(json.dumps(manifest), encoding="utf-8")
    limit = rows if judged_until is None else judged_until
    lines = [json.dumps(row(i, judge=i < limit)) for i in range(rows)]
    (folder / "rows.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def load(rb: Rubricate, tmp_path: Path, rows: int = 120, **options: Any) -> None:
    rb.import_path(write_dataset(tmp_path / "clarity", rows, **options), EVALUATION)
    rb.annotations.resolve(EVALUATION, METRIC, "majority")


def expected_disagreements(rows: int, delta: float, *, judged_until: int | None = None) -> int:
    limit = rows if judged_until is None else judged_until
    return sum(1 for i in range(limit) if abs(judge_score(i) - human_score(i)) >= delta)


def lenient_rows(request: str) -> list[int]:
    """The ids of the rows a reflection request shows the judge too lenient on."""
    return [b.row_id for b in parse_blocks(request) if b.direction is Direction.TOO_LENIENT]


def answer_number(call: fake.FakeCall) -> int:
    """The row a judge call scores (its output opens with "Answer <i>.")."""
    return int(ANSWER.search(call.user).group(1))  # type: ignore[union-attr]


def reflect_length(call: fake.FakeCall) -> fake.FakeReply:
    """A reflection model that proposes the length guideline for every too-lenient row."""
    ids = lenient_rows(call.user)
    return {"guidelines": [{"text": GUIDELINE, "direction": "too_lenient", "row_ids": ids}]}


def judge_length(call: fake.FakeCall) -> fake.FakeReply:
    """Scores like the stored judge, unless the length guideline is in its prompt."""
    i = answer_number(call)
    score = human_score(i) if GUIDELINE in call.system else judge_score(i)
    return {"score": score, "rationale": "fake"}


def run_options(**options: Any) -> dict[str, Any]:
    """An alignment run's options on the synthetic evaluation at delta 1, with `options`."""
    return {"metric": METRIC, "evaluations": [EVALUATION], "delta": 1} | options


def align(rb: Rubricate, **options: Any) -> AlignmentRun:
    """Carries out an alignment run of the synthetic evaluation (see `run_options`)."""
    return rb.alignment_runs.align(**run_options(**options))


def start(rb: Rubricate, **options: Any) -> AlignmentRun:
    """Starts an alignment run of the synthetic evaluation (see `run_options`)."""
    return rb.alignment_runs.start(**run_options(**options))
