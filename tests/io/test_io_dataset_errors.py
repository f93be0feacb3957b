"""Bad input in the dataset layout: the error names file, line and field, and the import
leaves the database exactly as it was, also after earlier batches were written."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.io.io_support import counts, refused, snapshot, write_dataset

from rubricate import InvalidInput, Rubricate

CRITERIA: list[dict[str, Any]] = [
    {"name": "grammar", "scale": {"type": "ordinal", "min": 1, "max": 5}, "description": "Good?"},
    {"name": "verdict", "scale": {"type": "labels", "labels": {"0": "fail", "1": "pass"}}},
]
BAD_LINE = 7  # two records a batch: lines 1-6 are written in three batches before it


def good_row(number: int) -> dict[str, Any]:
    return {
        "id": f"r{number}",
        "input": f"question {number}",
        "output": f"answer {number}",
        "annotations": {
            "grammar": [{"annotator": "t1", "score": 3}, {"annotator": "t2", "score": 4}],
            "verdict": [{"annotator": "t1", "label": "pass"}],
        },
        "judge": {"grammar": {"score": 4, "model": "openai:gpt-4o"}},
    }


Mutation = Callable[[dict[str, Any]], dict[str, Any] | str | bytes]


def edit(path: str, value: Any) -> Mutation:
    """Set (or with ``...`` delete) the value at a dotted path, e.g. ``annotations.grammar.1``."""

    def mutate(row: dict[str, Any]) -> dict[str, Any]:
        *parents, last = path.split(".")
        target: Any = row
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target.setdefault(key, {})
        index: Any = int(last) if isinstance(target, list) else last
        if value is ...:
            del target[index]
        else:
            target[index] = value
        return row

    return mutate


def line(text: str) -> Mutation:
    return lambda _row: text


CASES: list[tuple[str, Mutation, str, str]] = [
    ("malformed JSON", line('{"id": "r7", "input": "q", "output": }'), "output",
     "malformed JSON at column 38: expecting value"),
    ("missing field", edit("output", ...), "output", "required field is missing"),
    ("missing nested field", edit("annotations.grammar.1", {"score": 2}),
     "annotations.grammar[1].annotator", "required field is missing"),
    ("score outside the scale", edit("annotations.grammar.1.score", 7),
     "annotations.grammar[1].score", "score 7 is outside the scale 1–5"),
    ("score between points", edit("annotations.grammar.1.score", 2.5),
     "annotations.grammar[1].score", "score 2.5 is not a whole number"),
    ("score true", edit("annotations.grammar.1.score", True),
     "annotations.grammar[1].score", "expected a number, not true"),
    ("score text", edit("annotations.grammar.1.score", "high"),
     "annotations.grammar[1].score", 'unable to parse string as a number (got "high")'),
    ("unknown label", edit("annotations.verdict.0.label", "maybe"),
     "annotations.verdict[0].label", "unknown label 'maybe': known labels are 'fail', 'pass'"),
    ("label and score disagree",
     edit("annotations.verdict.0", {"annotator": "t1", "score": 0, "label": "pass"}),
     "annotations.verdict[0].label", "label 'pass' means 1, but the score is 0"),
    ("neither score nor label", edit("annotations.verdict.0", {"annotator": "t1"}),
     "annotations.verdict[0]", "give a score or a label"),
    ("duplicate id across batches", edit("id", "r2"), "id", "duplicate id 'r2' (first on line 2)"),
    ("empty id", edit("id", ""), "id", "must not be empty"),
    ("not UTF-8", lambda row: json.dumps(row).replace("answer 7", "caf\udce9").encode(
        "utf-8", "surrogateescape"), "output", "not UTF-8 text (byte 0xe9 at column"),
    ("unknown criterion", edit("annotations.tone", [{"annotator": "t1", "score": 1}]),
     "annotations.tone", "criterion 'tone' is not in dataset.json (criteria: grammar, verdict)"),
    ("annotator twice", edit("annotations.grammar.1.annotator", "t1"),
     "annotations.grammar[1].annotator",
     "the annotation by 't1' for 'grammar' is given twice for this row "
     "(first at 'annotations.grammar[0]')"),
    ("judge score outside the scale", edit("judge.grammar.score", 9), "judge.grammar.score",
     "score 9 is outside the scale 1–5"),
    ("judge list item without score", edit("judge.grammar", [{"score": 4}, {"rationale": "hm"}]),
     "judge.grammar[1]", "give a score, a label, or the error the judge hit"),
    ("judge twice from one model",
     edit("judge.grammar", [{"score": 4, "model": "m"}, {"score": 3, "model": "m"}]),
     "judge.grammar[1].model", "is given twice for this row (first at 'judge.grammar[0]')"),
    ("judge unknown version", edit("judge.grammar.metric_version", 9),
     "judge.grammar.metric_version", "metric 'grammar' has no version 9 (versions: 1)"),
    ("judge unknown criterion", edit("judge.tone", {"score": 1}), "judge.tone",
     "criterion 'tone' is not in dataset.json"),
    ("resolved outside the scale", edit("resolved.grammar", {"value": 5.5, "by": "policy:mean"}),
     "resolved.grammar.value", "value 5.5 is outside the scale 1–5"),
    ("resolved without by", edit("resolved.grammar", {"value": 3}), "resolved.grammar.by",
     "required field is missing"),
    ("unknown field", edit("rating", 3), "rating",
     "unknown field (put extra data under 'metadata')"),
    ("NUL in text", edit("output", "a\x00b"), "output", "NUL character"),
    ("metadata not finite", edit("metadata", {"x": {"y": float("nan")}}), "metadata.x.y",
     "nan is not a finite number: only finite numbers can be stored"),
    ("metadata too large", line('{"id": "r7", "input": "q", "output": "a", "metadata": '
                                '{"x": [1, 1e999]}}'), "metadata.x[1]",
     "inf is not a finite number"),
    ("NUL in a metadata key", edit("metadata", {"a\x00": 1}), "metadata",
     "key 'a\\x00' contains the NUL character"),
    ("NUL in a comment", edit("annotations.grammar.0.comment", "\x00"),
     "annotations.grammar[0].comment", "NUL character"),
    ("metadata not an object", edit("metadata", [1, 2]), "metadata",
     "Input should be an object (got [1, 2])"),
]  # fmt: skip


def make_rows(mutate: Mutation, bad_line: int = BAD_LINE) -> list[dict[str, Any] | str]:
    rows: list[dict[str, Any] | str] = []
    for number in range(1, 9):
        row = good_row(number)
        if number == bad_line:
            changed = mutate(copy.deepcopy(row))
            rows.append(changed if not isinstance(changed, bytes) else changed.decode(
                "utf-8", "surrogateescape"))  # fmt: skip
        else:
            rows.append(row)
    return rows


def write_rows(folder: Path, rows: list[dict[str, Any] | str]) -> Path:
    write_dataset(folder, CRITERIA, [])
    data = b"".join(
        (r if isinstance(r, str) else json.dumps(r)).encode("utf-8", "surrogateescape") + b"\n"
        for r in rows
    )
    (folder / "rows.jsonl").write_bytes(data)
    return folder


@pytest.fixture
def prepared(small_rb: Rubricate, tmp_path: Path) -> Rubricate:
    """A database that already holds an evaluation and a metric of its own."""
    other = [{"name": "tone", "scale": {"type": "ordinal", "min": 1, "max": 5}}]
    rows = [{"id": "x", "input": "i", "output": "o", "annotations": {"tone": [
        {"annotator": "a", "score": 2}]}}]  # fmt: skip
    small_rb.import_path(write_dataset(tmp_path / "before", other, rows), "before")
    return small_rb


@pytest.mark.parametrize(
    ("mutate", "field", "text"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_a_bad_late_line_names_file_line_and_field_and_imports_nothing(
    prepared: Rubricate, tmp_path: Path, mutate: Mutation, field: str, text: str
) -> None:
    folder = write_rows(tmp_path / "data", make_rows(mutate))
    before = counts(prepared)
    read: list[int] = []
    with pytest.raises(InvalidInput):
        prepared.import_path(folder, "broken", progress=read.append)
    assert read == [2, 2, 2]  # three batches went in before the bad one
    refused(
        prepared, folder, "broken",
        file=folder / "rows.jsonl", line=BAD_LINE, field=field, text=text,
    )  # fmt: skip
    assert counts(prepared) == before
    assert [e.name for e in prepared.evaluations.list()] == ["before"]
    assert {m.metric.name for m in prepared.metrics.list()}.isdisjoint({"grammar", "verdict"})


@pytest.mark.parametrize(
    ("mutate", "field", "text"),
    [c[1:] for c in CASES if c[0] in {"malformed JSON", "score outside the scale", "not UTF-8"}],
)
def test_the_same_with_one_batch(
    rb: Rubricate, tmp_path: Path, mutate: Mutation, field: str, text: str
) -> None:
    folder = write_rows(tmp_path / "data", make_rows(mutate))
    rows = folder / "rows.jsonl"
    refused(rb, folder, "broken", file=rows, line=BAD_LINE, field=field, text=text)
    assert rb.evaluations.list() == []


def test_a_duplicate_id_in_the_same_batch(prepared: Rubricate, tmp_path: Path) -> None:
    folder = write_rows(tmp_path / "data", make_rows(edit("id", "r7"), bad_line=8))
    rows = folder / "rows.jsonl"
    refused(prepared, folder, "broken", file=rows, line=8, field="id", text="(first on line 7)")


def test_the_fixed_file_then_imports(prepared: Rubricate, tmp_path: Path) -> None:
    folder = write_rows(tmp_path / "data", make_rows(edit("annotations.grammar.1.score", 7)))
    with pytest.raises(InvalidInput):
        prepared.import_path(folder, "data")
    write_rows(folder, make_rows(lambda row: row))
    report = prepared.import_path(folder, "data")
    assert (report.rows_added, report.annotations_added, report.judge_results_added) == (8, 24, 8)
    assert report.metrics_created == ["grammar", "verdict"]


def manifest_text(folder: Path) -> str:
    return (folder / "dataset.json").read_text(encoding="utf-8")


def line_of(text: str, needle: str, occurrence: int = 0) -> int:
    at = -1
    for _ in range(occurrence + 1):
        at = text.index(needle, at + 1)
    return text.count("\n", 0, at) + 1


Criteria = list[dict[str, Any]]
MANIFEST_CASES: list[tuple[str, Callable[[Criteria], None], str, str, tuple[str, int]]] = [
    ("bad scale", lambda c: c[1].update(scale={"type": "ordinal", "min": 5, "max": 1}),
     "criteria[1].scale", "scale min (5) must be below max (1)", ('"scale"', 1)),
    ("scale without bounds", lambda c: c[0].update(scale={"type": "interval"}),
     "criteria[0].scale", "an interval scale needs min and max", ('"scale"', 0)),
    ("unknown scale type", lambda c: c[0]["scale"].update(type="stars"),
     "criteria[0].scale.type", "Input should be 'ordinal', 'interval' or 'labels'",
     ('"type"', 0)),
    ("label key not a number", lambda c: c[1]["scale"].update(labels={"no": "x", "1": "y"}),
     "criteria[1].scale.labels.no", "valid number", ('"no"', 0)),
    ("duplicate criterion", lambda c: c[1].update(name="grammar"),
     "criteria[1].name", "criterion 'grammar' is listed twice (first as criteria[0])",
     ('"name": "grammar"', 1)),
    ("bad criterion name", lambda c: c[0].update(name="bad name!"),
     "criteria[0].name", "metric name 'bad name!' is not valid", ('"bad name!"', 0)),
    ("unknown criterion field", lambda c: c[0].update(weight=2),
     "criteria[0].weight", "unknown field", ('"weight"', 0)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("mutate", "field", "text", "where"),
    [c[1:] for c in MANIFEST_CASES],
    ids=[c[0] for c in MANIFEST_CASES],
)
def test_a_bad_dataset_json(
    prepared: Rubricate,
    tmp_path: Path,
    mutate: Callable[[Criteria], None],
    field: str,
    text: str,
    where: tuple[str, int],
) -> None:
    criteria = copy.deepcopy(CRITERIA)
    mutate(criteria)
    folder = write_dataset(tmp_path / "data", criteria, [good_row(1)], task="t")
    expected_line = line_of(manifest_text(folder), *where)
    assert expected_line > 1
    manifest = folder / "dataset.json"
    refused(prepared, folder, "x", file=manifest, line=expected_line, field=field, text=text)


def test_a_malformed_dataset_json(prepared: Rubricate, tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "data", CRITERIA, [good_row(1)])
    text = manifest_text(folder).replace('"min": 1,', '"min": 1,,')
    (folder / "dataset.json").write_text(text, encoding="utf-8")
    refused(
        prepared, folder, "x", file=folder / "dataset.json", line=line_of(text, ",,"),
        field="criteria[0].scale.min", text="malformed JSON at column",
    )  # fmt: skip


def test_a_metric_that_exists_with_another_scale(prepared: Rubricate, tmp_path: Path) -> None:
    criteria = [{"name": "tone", "scale": {"type": "ordinal", "min": 1, "max": 10}}]
    folder = write_dataset(tmp_path / "data", criteria, [good_row(1)])
    refused(
        prepared, folder, "x", file=folder / "dataset.json",
        line=line_of(manifest_text(folder), '"scale"'), field="criteria[0].scale",
        text="metric 'tone' exists with the scale 1–5 (ordinal), not 1–10 (ordinal)",
    )  # fmt: skip


def test_a_missing_rows_jsonl(prepared: Rubricate, tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "data", CRITERIA, [])
    (folder / "rows.jsonl").unlink()
    before = snapshot(prepared)
    with pytest.raises(InvalidInput) as caught:
        prepared.import_path(folder, "x")
    assert caught.value.file == str(folder / "rows.jsonl")
    assert str(caught.value).startswith(f"{folder / 'rows.jsonl'}: rows.jsonl is missing")
    assert snapshot(prepared) == before


def test_a_dataset_json_in_utf16(prepared: Rubricate, tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "data", CRITERIA, [good_row(1)])
    manifest = folder / "dataset.json"
    manifest.write_text(manifest.read_text(encoding="utf-8"), encoding="utf-16")
    refused(prepared, folder, "x", file=manifest, line=1, field=None, text="UTF-16")


def test_a_bad_byte_in_dataset_json_names_its_field(prepared: Rubricate, tmp_path: Path) -> None:
    criteria = copy.deepcopy(CRITERIA)
    criteria[1]["description"] = "caf\udce9"
    folder = write_dataset(tmp_path / "data", [], [good_row(1)])
    text = json.dumps({"criteria": criteria}, indent=2, ensure_ascii=False)
    (folder / "dataset.json").write_bytes(text.encode("utf-8", "surrogateescape"))
    refused(
        prepared, folder, "x", file=folder / "dataset.json", line=line_of(text, "caf"),
        field="criteria[1].description", text="not UTF-8 text (byte 0xe9",
    )  # fmt: skip
