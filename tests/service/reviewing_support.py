"""Shared by the test_reviewing*.py modules (reviewing, accepting and exporting).

Aligned runs are made by hand here: a run is started as usual, then its record is given
the status and the result the engine would have stored (``make_run``). The fixtures
``demo`` (the demo evaluation) and ``judged`` (an evaluation judged with the built-in
helpfulness) hold the rows such runs are of."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from tests.run_support import ended, offline_result

from rubricate import Rubricate
from rubricate.demo import EVALUATION, build_demo
from rubricate.domain.alignment import GuidelineItem
from rubricate.domain.alignment_runs import RunStatus
from rubricate.scoring import render_prompt

CUSTOM = "answer_helpfulness"  # the demo's custom metric, 1-5
BUILTIN = "helpfulness"
G1 = "Penalise answers that promise refunds the policy does not allow."
G2 = "Reward short answers that solve the problem."
G3 = "Point to the help center article when one exists."


def make_run(
    rb: Rubricate,
    metric: str,
    evaluation: str,
    guidelines: Sequence[str | GuidelineItem],
    *,
    status: RunStatus = RunStatus.ALIGNED,
) -> str:
    """A run of ``metric`` that ended with these guidelines (ids 1, 2, ...)."""
    run = rb.alignment_runs.start(metric=metric, evaluations=[evaluation], delta=1)
    if status is RunStatus.ALIGNED:
        result = offline_result(guidelines, row_ids=[1])
        ended(rb, run.id, status, result, disagreements=result.disagreements)
    else:
        ended(rb, run.id, status)
    return run.id


@pytest.fixture
def demo(rb: Rubricate) -> str:
    build_demo(rb)
    return EVALUATION


def builtin_dataset(folder: Path) -> Path:
    """Three rows judged with the built-in helpfulness (version 1), resolved by people."""
    folder.mkdir(parents=True)
    manifest = {
        "name": folder.name,
        "criteria": [{"name": BUILTIN, "scale": {"type": "ordinal", "min": 1, "max": 5}}],
    }
    (folder / "dataset.json").write_text(json.dumps(manifest), encoding="utf-8")
    rows = [
        {
            "id": f"r{i}",
            "input": f"question {i}",
            "output": f"answer {i}",
            "annotations": {BUILTIN: [{"annotator": "ana", "score": human}]},
            "judge": {BUILTIN: {"score": judge, "metric_version": 1, "model": "fake:judge"}},
            "resolved": {BUILTIN: {"value": human, "by": "user:ana"}},
        }
        for i, (judge, human) in enumerate([(5, 2), (4, 4), (1, 4)])
    ]
    lines = "\n".join(json.dumps(row) for row in rows) + "\n"
    (folder / "rows.jsonl").write_text(lines, encoding="utf-8")
    return folder


@pytest.fixture
def judged(rb: Rubricate, tmp_path: Path) -> str:
    """An evaluation with judge results and resolutions for the built-in helpfulness."""
    rb.import_path(builtin_dataset(tmp_path / "judged"), "judged")
    return "judged"


def system_of(prompt: str, guidelines: str, rb: Rubricate, ref: str) -> str:
    scale = rb.metrics.version(ref).scale
    return render_prompt(
        prompt, input="q", output="a", context="c", guidelines=guidelines, scale=scale
    ).system
