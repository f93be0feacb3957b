"""import -> export -> import -> export keeps everything, in each of the three layouts:
the exported files are the same, and so is what the two evaluations hold."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from tests.io.io_support import files_of, stored, write_dataset

from rubricate import InvalidInput, NotFound, Policy, Rubricate, Scale
from rubricate.service import exporting
from rubricate.store.tables import RowRecord

CRITERIA = [
    {"name": "quality", "description": "How good the answer is",
     "scale": {"type": "ordinal", "min": 1, "max": 5, "labels": {"1": "Bad", "5": "Great"}}},
    {"name": "verdict", "description": "Would we ship it?",
     "scale": {"type": "labels", "labels": {"0": "fail", "1": "pass"}}},
    {"name": "faith", "description": "Sticks to the context",
     "scale": {"type": "interval", "min": 0, "max": 1}},
]  # fmt: skip
TRICKY = 'Ünïcødé — 日本語, עברית, emoji 🧪, "quotes", commas, a\ttab,\nnew line, \r CR, \u2028'
ROWS: list[dict[str, Any]] = [
    {
        "id": "r1",
        "input": TRICKY,
        "output": "plain",
        "context": "some context",
        "expected": "the reference",
        "metadata": {"nested": {"list": [1, 2.5, None, True, "x"], "ключ": {"deep": {}}}},
        "annotations": {
            "quality": [
                {"annotator": "ana", "score": 4, "comment": "good,\nbut \"long\""},
                {"annotator": "bo", "label": "Great"},
                {"annotator": "cy", "score": 2},
            ],
            "verdict": [{"annotator": "ana", "label": "pass"}, {"annotator": "bo", "score": 0}],
            "faith": [{"annotator": "ana", "score": 0.75}, {"annotator": "bo", "score": 1}],
        },
        "judge": {
            "quality": [
                {"score": 4, "rationale": "fine", "model": "openai:gpt-4o"},
                {"score": 3, "model": "anthropic:claude", "metric_version": 1,
                 "raw_output": '{"score": 3}', "input_tokens": 120, "output_tokens": 9,
                 "cost_usd": 0.00042},
            ],
            "verdict": {"label": "pass", "model": "openai:gpt-4o", "rationale": TRICKY},
            "faith": {"error": "timeout after 30 s", "model": "openai:gpt-4o"},
        },
        "resolved": {
            "quality": {"value": 11 / 3, "by": "policy:mean"},
            "verdict": {"label": "pass", "by": "user:ana"},
        },
    },
    {"id": 2, "input": "", "output": TRICKY, "context": "", "metadata": {},
     "annotations": {"quality": [{"annotator": "ana", "score": 5}]}},
    {"id": "r3", "input": "q3", "output": "a3", "expected": "only expected",
     "annotations": {"faith": [{"annotator": "ana", "score": 0.1},
                               {"annotator": "bo", "score": 0.2},
                               {"annotator": "cy", "score": 0.25}]},
     "judge": {"faith": {"score": 0.3333, "model": "m"}}},
    {"id": "r4", "input": "no annotations at all", "output": "a4", "metadata": {"n": 10**12}},
]  # fmt: skip


@pytest.fixture
def source(rb: Rubricate, tmp_path: Path) -> Rubricate:
    """A hand-made 'quality' metric (version 1), then the dataset: its judge results
    without a metric_version pin to a new imported version 2, the others to version 1."""
    scale = Scale.model_validate(CRITERIA[0]["scale"])
    rb.metrics.create("quality", scale=scale, prompt="Rate {{ output }}.", description="Q")
    folder = write_dataset(tmp_path / "source", CRITERIA, ROWS, task="A hand-made set")
    report = rb.import_path(folder, "source")
    assert (report.rows_added, report.annotations_added) == (4, 11)
    assert (report.judge_results_added, report.resolutions_added) == (5, 2)
    assert report.metrics_created == ["verdict", "faith"]
    rb.annotations.resolve("source", "faith", Policy.MEAN)  # 0.875 and 0.18333...
    return rb


def test_what_the_import_stored(source: Rubricate) -> None:
    data = stored(source, "source")
    assert [r[0] for r in data["rows"]] == ["r1", "2", "r3", "r4"]
    r1, r2, r3, r4 = data["rows"]
    assert r1[1:] == (TRICKY, "plain", "some context", "the reference", ROWS[0]["metadata"])
    assert r2[1:] == ("", TRICKY, None, None, {})  # an empty context is no context
    assert (r3[3], r3[4], r4[5]) == (None, "only expected", {"n": 10**12})
    scores = {(a[0], a[1], a[2]): a[3] for a in data["annotations"]}
    assert scores[("r1", "quality", "bo")] == 5.0  # the label "Great"
    assert scores[("r1", "verdict", "ana")] == 1.0
    assert scores[("r1", "faith", "ana")] == 0.75
    judged = {(j[0], j[1], j[4]): j for j in data["judge_results"]}
    assert judged[("r1", "quality", "openai:gpt-4o")][2:4] == (2, "import")
    assert judged[("r1", "quality", "anthropic:claude")][2:4] == (1, "manual")
    assert judged[("r1", "quality", "anthropic:claude")][8:] == ('{"score": 3}', 120, 9, 0.00042)
    assert judged[("r1", "verdict", "openai:gpt-4o")][5:7] == (1.0, TRICKY)
    assert judged[("r1", "faith", "openai:gpt-4o")][5:8] == (None, None, "timeout after 30 s")
    resolved = {(r[0], r[1]): r[2:] for r in data["resolutions"]}
    assert resolved[("r1", "quality")] == (11 / 3, "policy:mean")
    assert resolved[("r1", "verdict")] == (1.0, "user:ana")
    assert resolved[("r3", "faith")] == (pytest.approx(0.55 / 3), "policy:mean")
    assert [v.number for v in source.metrics.versions("quality")] == [1, 2]


@pytest.mark.parametrize("layout", ["dataset", "jsonl", "csv"])
def test_round_trip(source: Rubricate, tmp_path: Path, layout: str) -> None:
    first = source.export("source", tmp_path / "first", layout=layout)
    assert (first.rows, first.annotations, first.judge_results, first.resolutions) == (
        4, 11, 5, 4,
    )  # fmt: skip
    report = source.import_path(tmp_path / "first", "copy")
    assert (report.rows_added, report.annotations_added) == (4, 11)
    assert (report.judge_results_added, report.resolutions_added) == (5, 4)
    assert report.metrics_created == []
    source.export("copy", tmp_path / "second", layout=layout)
    assert files_of(tmp_path / "first") == files_of(tmp_path / "second")
    assert stored(source, "copy") == stored(source, "source")
    assert [v.number for v in source.metrics.versions("quality")] == [1, 2]  # none added
    again = source.import_path(tmp_path / "second", "copy")
    assert not again.changed


def test_the_dataset_export(source: Rubricate, tmp_path: Path) -> None:
    source.export("source", tmp_path / "out", layout="dataset")
    manifest = json.loads((tmp_path / "out" / "dataset.json").read_text(encoding="utf-8"))
    assert manifest["task"] == "A hand-made set"
    assert manifest["rows"] == 4
    assert [c["name"] for c in manifest["criteria"]] == ["faith", "quality", "verdict"]
    text = (tmp_path / "out" / "rows.jsonl").read_text(encoding="utf-8")
    lines = text.split("\n")  # not splitlines(): U+2028 in a string is no line break
    first = json.loads(lines[0])
    assert first["annotations"]["quality"][1] == {"annotator": "bo", "score": 5, "label": "Great"}
    assert first["judge"]["quality"][0] == {
        "metric_version": 2,
        "score": 4,
        "rationale": "fine",
        "model": "openai:gpt-4o",
    }  # fmt: skip  (version 2 is not the default: the metric's description is "Q")
    assert "metric_version" not in first["judge"]["verdict"]  # the imported version 1
    assert first["resolved"]["quality"] == {"value": 11 / 3, "by": "policy:mean"}
    second = json.loads(lines[1])
    assert "context" not in second and second["input"] == ""


def test_a_flat_csv_export(source: Rubricate, tmp_path: Path) -> None:
    source.export("source", tmp_path / "out", layout="csv")
    rows = (tmp_path / "out" / "rows.csv").read_bytes()
    assert rows.startswith(b"id,input,output,context,expected,metadata\r\n")
    assert b',"{""n"": 1000000000000}"\r\n' in rows  # metadata as JSON text
    judged = (tmp_path / "out" / "judge_results.csv").read_bytes()
    assert b"r1,faith,,,,openai:gpt-4o,timeout after 30 s,,,,\r\n" in judged  # empty: none
    assert (tmp_path / "out" / "resolutions.csv").read_bytes().count(b"\r\n") == 5


def test_export_refuses_a_folder_of_another_layout(source: Rubricate, tmp_path: Path) -> None:
    source.export("source", tmp_path / "out", layout="dataset")
    with pytest.raises(InvalidInput, match=r"already holds dataset\.json of another layout"):
        source.export("source", tmp_path / "out", layout="jsonl")
    with pytest.raises(InvalidInput, match="unknown layout 'xml'"):
        source.export("source", tmp_path / "x", layout="xml")
    with pytest.raises(NotFound, match="no evaluation named 'nope'"):
        source.export("nope", tmp_path / "y", layout="csv")
    assert not (tmp_path / "y").exists()
    source.export("source", tmp_path / "out", layout="dataset")  # the same layout again: fine
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["dataset.json", "rows.jsonl"]


def test_export_pages_through_rows_of_equal_position(
    source: Rubricate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows written by other means may share a position: paging must not skip them."""
    monkeypatch.setattr(exporting, "CHUNK", 2)
    with source.db.write() as session:
        session.execute(update(RowRecord).values(position=7))
    report = source.export("source", tmp_path / "out", layout="jsonl")
    assert report.rows == 4
    lines = (tmp_path / "out" / "rows.jsonl").read_text(encoding="utf-8").split("\n")
    assert [json.loads(line)["id"] for line in lines if line] == ["r1", "2", "r3", "r4"]
