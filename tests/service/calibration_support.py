"""A hand-built panel of reviewers for the calibration tests: ana and ben give each row its
true score, dee is one point harsher on every row (or agrees, with ``harsh=False``), and
eve scored one row that nobody else did.

On ``usefulness`` (1–5) the true scores alternate 2, 3: everyone's ordinal alpha is
about 0.33 (below the 0.4 warning), 1.0 without dee; dee's offset is exactly -1, ana's
and ben's +0.5 (each against the mean of the other two). ``verdict`` is a labels scale
(fail/borderline/pass on 0, 0.5, 1): dee is one label harsher there too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rubricate import Rubricate
from rubricate.domain.resolution import Policy
from rubricate.testing.datasets import write_dataset_folder

METRIC = "usefulness"
LABELS = "verdict"
EVALUATION = "panel"
ROWS = 20
MANIFEST: dict[str, Any] = {
    "name": EVALUATION,
    "criteria": [
        {"name": METRIC, "scale": {"type": "ordinal", "min": 1, "max": 5}},
        {
            "name": LABELS,
            "scale": {"type": "labels", "labels": {"0": "fail", "0.5": "borderline", "1": "pass"}},
        },
    ],
}
LABEL_OF = {1: "fail", 2: "borderline", 3: "pass"}  # a score's label, one label per point


def truth(i: int) -> int:
    return 2 + i % 2


def panel_row(i: int, *, harsh: bool) -> dict[str, Any]:
    t = truth(i)
    dee = t - 1 if harsh else t
    scores = {"ana": t, "ben": t, "dee": dee}
    return {
        "id": f"r{i}",
        "input": f"question {i}",
        "output": f"answer {i}",
        "annotations": {
            METRIC: [{"annotator": who, "score": s} for who, s in scores.items()],
            LABELS: [{"annotator": who, "label": LABEL_OF[s]} for who, s in scores.items()],
        },
        "judge": {METRIC: {"score": t, "rationale": "fine", "model": "old:judge"}},
    }


def solo_row() -> dict[str, Any]:
    return {
        "id": "solo",
        "input": "question solo",
        "output": "answer solo",
        "annotations": {METRIC: [{"annotator": "eve", "score": 4}]},
        "judge": {METRIC: {"score": 4, "rationale": "fine", "model": "old:judge"}},
    }


def load_panel(rb: Rubricate, folder: Path, *, harsh: bool = True, name: str = EVALUATION) -> str:
    """Import the panel as evaluation ``name`` and resolve it by median (so that an
    alignment could use its rows)."""
    rows = [panel_row(i, harsh=harsh) for i in range(ROWS)] + [solo_row()]
    manifest = {**MANIFEST, "name": name}
    rb.import_path(write_dataset_folder(folder / name, manifest, rows), name)
    rb.annotations.resolve(name, METRIC, Policy.MEDIAN)
    return name
