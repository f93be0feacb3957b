"""Importing the same data again changes nothing; differing data is refused, whole."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from tests.io.io_support import counts, refused, snapshot, write_csv, write_dataset, write_jsonl

from rubricate import Rubricate
from rubricate.service import import_batches

CRITERIA = [
    {"name": "grammar", "scale": {"type": "ordinal", "min": 1, "max": 5}, "description": "G"},
    {"name": "verdict", "scale": {"type": "labels", "labels": {"0": "fail", "1": "pass"}}},
]


def rows(count: int = 6) -> list[dict[str, Any]]:
    return [
        {
            "id": f"r{i}",
            "input": f"q{i}",
            "output": f"a{i}",
            "context": "c" if i % 2 else None,
            "metadata": {"i": i, "tags": ["x", "y"]},
            "annotations": {
                "grammar": [{"annotator": "t1", "score": 3, "comment": "ok"},
                            {"annotator": "t2", "score": 4}],
                "verdict": [{"annotator": "t1", "label": "pass"}],
            },
            "judge": {"grammar": [{"score": 4, "model": "m1", "rationale": "r"},
                                  {"score": 2, "model": "m2"}]},
            "resolved": {"grammar": {"value": 3.5, "by": "policy:mean"}},
        }
        for i in range(1, count + 1)
    ]  # fmt: skip


@pytest.fixture
def imported(small_rb: Rubricate, tmp_path: Path) -> Path:
    folder = write_dataset(tmp_path / "data", CRITERIA, rows(), task="t")
    report = small_rb.import_path(folder, "e")
    assert report.changed
    assert (report.rows_added, report.annotations_added) == (6, 18)
    assert (report.judge_results_added, report.resolutions_added) == (12, 6)
    return folder


def test_the_same_dataset_twice_changes_nothing(
    small_rb: Rubricate, imported: Path, tmp_path: Path
) -> None:
    before = snapshot(small_rb)
    again = small_rb.import_path(imported, "e")
    assert not again.changed
    assert (again.rows_added, again.rows_unchanged, again.annotations_added) == (0, 6, 0)
    assert (again.judge_results_added, again.resolutions_added) == (0, 0)
    assert again.metrics_created == [] and not again.evaluation_created
    assert snapshot(small_rb) == before


@pytest.mark.parametrize("layout", ["jsonl", "csv"])
def test_the_same_flat_files_twice_change_nothing(
    small_rb: Rubricate, imported: Path, tmp_path: Path, layout: str
) -> None:
    small_rb.export("e", tmp_path / "flat", layout=layout)
    first = small_rb.import_path(tmp_path / "flat", "f")
    assert first.changed and first.rows_added == 6
    before = snapshot(small_rb)
    for _ in range(2):
        again = small_rb.import_path(tmp_path / "flat", "f")
        assert not again.changed and again.rows_unchanged == 6
        assert snapshot(small_rb) == before
    for kind in ("annotations", "judge_results", "resolutions"):  # one file at a time
        assert not small_rb.import_path(tmp_path / "flat" / f"{kind}.{layout}", "f").changed
    assert snapshot(small_rb) == before


def test_new_rows_and_annotations_are_added_the_rest_skipped(
    small_rb: Rubricate, imported: Path
) -> None:
    grown = rows(8)
    grown[0]["annotations"]["grammar"].append({"annotator": "t3", "score": 1})
    write_dataset(imported, CRITERIA, grown, task="t")
    report = small_rb.import_path(imported, "e")
    assert (report.rows_added, report.rows_unchanged, report.annotations_added) == (2, 6, 7)
    assert (report.judge_results_added, report.resolutions_added) == (4, 2)
    assert [r.external_id for r in small_rb.evaluations.rows("e")] == [f"r{i}" for i in range(1, 9)]
    assert counts(small_rb)["rows"] == 8


CHANGES: list[tuple[str, str, Any, str, str]] = [
    ("output", "output", "changed", "output",
     "row 'r5' is already in this evaluation with a different output: import into a new "
     "evaluation to keep both"),
    ("context", "context", None, "context", "with a different context"),
    ("metadata", "metadata", {"i": 5, "tags": ["y", "x"]}, "metadata",
     "with a different metadata"),
    ("annotation score", "annotations.grammar.1.score", 5, "annotations.grammar[1].score",
     "the annotation by 't2' for 'grammar' is already stored with a different score "
     "(4 stored, 5 here)"),
    ("annotation comment", "annotations.grammar.0.comment", "nope",
     "annotations.grammar[0].comment", "different comment ('ok' stored, 'nope' here)"),
    ("judge rationale", "judge.grammar.0.rationale", "other", "judge.grammar[0].rationale",
     "the judge result for 'grammar' (model 'm1') is already stored with a different "
     "rationale"),
    ("resolution", "resolved.grammar.value", 4, "resolved.grammar.value",
     "the resolution for 'grammar' is already stored with a different value "
     "(3.5 stored, 4 here)"),
    ("resolved by", "resolved.grammar.by", "user:ana", "resolved.grammar.by",
     "different by ('policy:mean' stored, 'user:ana' here)"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "value", "field", "text"), [c[1:] for c in CHANGES], ids=[c[0] for c in CHANGES]
)
def test_a_changed_row_is_refused_and_nothing_changes(
    small_rb: Rubricate, imported: Path, path: str, value: Any, field: str, text: str
) -> None:
    changed = rows(8)  # two new rows too, in a later batch: they must not stay either
    target: Any = changed[4]
    *parents, last = path.split(".")
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    target[int(last) if last.isdigit() else last] = value
    write_dataset(imported, CRITERIA, changed, task="t")
    file = imported / "rows.jsonl"
    refused(small_rb, imported, "e", file=file, line=5, field=field, text=text)


def test_a_changed_flat_annotation_is_refused(small_rb: Rubricate, imported: Path) -> None:
    path = imported.parent / "annotations.csv"
    write_csv(path, ["row_id", "metric", "annotator", "score", "comment"],
              [["r1", "grammar", "t9", "2", ""], ["r2", "grammar", "t1", "3", "ok"],
               ["r3", "grammar", "t1", "3", ""]])  # fmt: skip
    refused(small_rb, path, "e", file=path, line=4, field="comment",
            text="different comment ('ok' stored, none here)")  # fmt: skip


def test_an_existing_row_given_twice_in_a_later_batch(small_rb: Rubricate, imported: Path) -> None:
    """A row stored before may come twice in a file: what its first line adds makes the
    second one a repeat."""
    again = rows(6)
    extra = copy.deepcopy(again[1])
    extra["annotations"]["grammar"].append({"annotator": "t5", "score": 5})
    write_dataset(imported, CRITERIA, [*again[:1], extra, *again[2:], extra], task="t")
    refused(small_rb, imported, "e", file=imported / "rows.jsonl", line=7,
            field="annotations.grammar[2].annotator",
            text="the annotation by 't5' for 'grammar' is given twice for this row "
                 "(first on line 2)")  # fmt: skip


def test_the_evaluation_of_another_import_is_untouched(
    small_rb: Rubricate, imported: Path, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "rows.jsonl", [{"id": "r1", "input": "x", "output": "y"}])
    report = small_rb.import_path(path, "other")
    assert report.rows_added == 1  # the same id in another evaluation is another row
    assert small_rb.evaluations.get("e").row_count == 6


def test_statistics_refreshed_inside_the_import_change_nothing_on_failure(
    small_rb: Rubricate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL the import ANALYZEs tables it has grown (here from 3 rows on): that
    runs inside the transaction, and a failure still leaves nothing behind."""
    monkeypatch.setattr(import_batches, "ANALYZE_FROM", 3)
    folder = write_dataset(tmp_path / "grown", CRITERIA, rows(9), task="t")
    report = small_rb.import_path(folder, "grown")
    assert (report.rows_added, report.annotations_added) == (9, 27)
    broken = rows(12)
    broken[10]["annotations"]["grammar"][0]["score"] = 9
    write_dataset(folder, CRITERIA, broken, task="t")
    refused(small_rb, folder, "other", file=folder / "rows.jsonl", line=11,
            field="annotations.grammar[0].score", text="outside the scale")  # fmt: skip
