"""Small data sets written on the fly, and a look at what the database holds."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from rubricate import Rubricate
from rubricate.store.tables import (
    AnnotationRecord,
    EvaluationRecord,
    MetricRecord,
    ResolutionRecord,
    RowRecord,
)

Stored = dict[str, tuple[float, str]]  # row id -> (resolved value, resolved by)
Annotations = dict[tuple[str, str], tuple[float, str | None]]  # (row, who) -> (score, comment)

CRITERIA: list[dict[str, Any]] = [
    {
        "name": "quality",
        "scale": {
            "type": "ordinal",
            "min": 1,
            "max": 4,
            "labels": {"1": "Bad", "2": "Could be Improved", "3": "Acceptable", "4": "Excellent"},
        },
        "description": "How good the answer is.",
    },
    {"name": "verdict", "scale": {"type": "labels", "labels": {"0": "fail", "1": "pass"}}},
    {"name": "closeness", "scale": {"type": "interval", "min": 0, "max": 1}},
]

# row id -> metric -> reviewer scores (ana, ben, cy, dee in that order; None: not given)
SCORES: dict[str, dict[str, list[float | None]]] = {
    "r3": {"quality": [4, 4, 4], "verdict": [1, 1, 1], "closeness": [0.5, 0.5, 1.0]},
    "r1": {"quality": [4, 4, 1], "verdict": [1, 1, 0], "closeness": [0.0, 1.0, None]},
    "r10": {"quality": [1, 2, 3], "verdict": [0, 1, None], "closeness": [0.25, None, None]},
    "r2": {"quality": [2, 2, 3, 3], "verdict": [0, 0, 1, 1]},
    "r7": {"quality": [3, 3, 3, 1]},
    "r5": {},
}
REVIEWERS = ("ana", "ben", "cy", "dee")


def write_dataset(
    folder: Path,
    scores: dict[str, dict[str, list[float | None]]],
    *,
    criteria: list[dict[str, Any]] | None = None,
    extra: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """A dataset folder (dataset.json + rows.jsonl) with these reviewers' scores."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {"name": folder.name, "criteria": criteria or CRITERIA}
    (folder / "dataset.json").write_text(json.dumps(manifest), encoding="utf-8")
    lines = []
    for row_id, by_metric in scores.items():
        annotations = {
            metric: [
                {"annotator": who, "score": score}
                for who, score in zip(REVIEWERS, given, strict=False)
                if score is not None
            ]
            for metric, given in by_metric.items()
        }
        row: dict[str, Any] = {"id": row_id, "input": f"q {row_id}", "output": f"a {row_id}"}
        row["annotations"] = annotations
        row.update((extra or {}).get(row_id, {}))
        lines.append(json.dumps(row))
    (folder / "rows.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


WriteDataset = Callable[..., Path]


@pytest.fixture
def dataset() -> WriteDataset:
    """``write_dataset(folder, scores, *, criteria=None, extra=None)``: a dataset folder with
    the criteria quality, verdict and closeness unless given; ``extra`` adds fields to rows."""
    return write_dataset


@pytest.fixture
def tiny(rb: Rubricate, tmp_path: Path) -> str:
    """The evaluation ``tiny``: six rows, metrics quality (1–4 with labels), verdict
    (fail/pass labels) and closeness (0–1 interval)."""
    rb.import_path(write_dataset(tmp_path / "tiny", SCORES), "tiny")
    return "tiny"


def stored_resolutions(rb: Rubricate, evaluation: str, metric: str) -> Stored:
    with rb.db.read() as session:
        found = session.execute(
            select(RowRecord.external_id, ResolutionRecord.value, ResolutionRecord.resolved_by)
            .join(RowRecord, RowRecord.id == ResolutionRecord.row_id)
            .join(EvaluationRecord, EvaluationRecord.id == RowRecord.evaluation_id)
            .join(MetricRecord, MetricRecord.id == ResolutionRecord.metric_id)
            .where(EvaluationRecord.name == evaluation, MetricRecord.name == metric)
        )
        return {row_id: (value, by) for row_id, value, by in found}


@pytest.fixture
def read_resolutions() -> Callable[[Rubricate, str, str], Stored]:
    """What a workspace's database holds as resolved values: row id -> (value, by)."""
    return stored_resolutions


@pytest.fixture
def resolutions(rb: Rubricate) -> Callable[[str, str], Stored]:
    """What the database holds as resolved values: row id -> (value, resolved by)."""
    return lambda evaluation, metric: stored_resolutions(rb, evaluation, metric)


def stored_annotations(rb: Rubricate, evaluation: str, metric: str) -> Annotations:
    with rb.db.read() as session:
        found = session.execute(
            select(
                RowRecord.external_id,
                AnnotationRecord.annotator,
                AnnotationRecord.score,
                AnnotationRecord.comment,
            )
            .join(RowRecord, RowRecord.id == AnnotationRecord.row_id)
            .join(EvaluationRecord, EvaluationRecord.id == RowRecord.evaluation_id)
            .join(MetricRecord, MetricRecord.id == AnnotationRecord.metric_id)
            .where(EvaluationRecord.name == evaluation, MetricRecord.name == metric)
        )
        stored: Annotations = {}
        for row_id, who, score, comment in found:
            assert (row_id, who) not in stored, "an annotation is stored twice"
            stored[row_id, who] = (score, comment)
        return stored


@pytest.fixture
def annotations_of(rb: Rubricate) -> Callable[[str, str], Annotations]:
    """What the database holds as annotations: (row id, annotator) -> (score, comment)."""
    return lambda evaluation, metric: stored_annotations(rb, evaluation, metric)
