"""Labels stand for numbers: an annotation, judge result or resolution given by label alone
stores the number the scale maps it to."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.io.io_support import stored, write_csv, write_dataset, write_jsonl

from rubricate import InvalidInput, Rubricate

FEEDBACK = {
    "name": "answer_quality",
    "scale": {"type": "ordinal", "min": 1, "max": 4,
              "labels": {"1": "Bad", "2": "Could be Improved", "3": "Acceptable",
                         "4": "Excellent"}},
}  # fmt: skip
VERDICT = {"name": "verdict", "scale": {"type": "labels", "labels": {"0": "fail", "1": "pass"}}}


@pytest.mark.parametrize(
    ("label", "number"),
    [("Excellent", 4.0), ("excellent", 4.0), (" Could be Improved ", 2.0), ("Bad", 1.0)],
)
def test_a_label_alone_stores_its_number(
    rb: Rubricate, tmp_path: Path, label: str, number: float
) -> None:
    row = {"id": "r1", "input": "q", "output": "a",
           "annotations": {"answer_quality": [{"annotator": "rater1", "label": label}]},
           "judge": {"answer_quality": {"label": label}},
           "resolved": {"answer_quality": {"label": label, "by": "user:ana"}}}  # fmt: skip
    rb.import_path(write_dataset(tmp_path / "data", [FEEDBACK], [row]), "e")
    data = stored(rb, "e")
    assert [a[3] for a in data["annotations"]] == [number]
    assert [j[5] for j in data["judge_results"]] == [number]
    assert [r[2] for r in data["resolutions"]] == [number]


def test_labels_in_flat_files(rb: Rubricate, tmp_path: Path) -> None:
    rows = [{"id": "r1", "input": "q", "output": "a"}, {"id": "r2", "input": "q", "output": "b"}]
    rb.import_path(write_dataset(tmp_path / "data", [FEEDBACK, VERDICT], rows), "e")
    notes = write_csv(
        tmp_path / "annotations.csv",
        ["row_id", "metric", "annotator", "score", "label"],
        [["r1", "answer_quality", "a", "", "Acceptable"], ["r1", "verdict", "a", "", "pass"],
         ["r2", "verdict", "a", "0", "fail"], ["r2", "answer_quality", "a", "4", ""]],
    )  # fmt: skip
    rb.import_path(notes, "e")
    resolved = write_jsonl(
        tmp_path / "resolutions.jsonl",
        [{"row_id": "r1", "metric": "verdict", "label": "PASS", "by": "user:ana"}],
    )
    rb.import_path(resolved, "e")
    data = stored(rb, "e")
    assert sorted((a[0], a[1], a[3]) for a in data["annotations"]) == [
        ("r1", "answer_quality", 3.0), ("r1", "verdict", 1.0),
        ("r2", "answer_quality", 4.0), ("r2", "verdict", 0.0),
    ]  # fmt: skip
    assert [(r[1], r[2]) for r in data["resolutions"]] == [("verdict", 1.0)]


def test_a_labels_scale_refuses_a_number_it_has_no_label_for(rb: Rubricate, tmp_path: Path) -> None:
    row = {"id": "r1", "input": "q", "output": "a",
           "annotations": {"verdict": [{"annotator": "a", "score": 0.5}]}}  # fmt: skip
    folder = write_dataset(tmp_path / "data", [VERDICT], [row])
    with pytest.raises(InvalidInput, match=r"score 0\.5 is not on the scale: allowed 0 \(fail\)"):
        rb.import_path(folder, "e")
