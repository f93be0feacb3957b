"""Bad input in the flat JSONL and CSV layouts: file, line and field (or column) are named,
and nothing is imported."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.io.io_support import refused, write_csv, write_dataset, write_jsonl

from rubricate import InvalidInput, Rubricate

CRITERIA = [
    {"name": "grammar", "scale": {"type": "ordinal", "min": 1, "max": 5}},
    {"name": "verdict", "scale": {"type": "labels", "labels": {"0": "fail", "1": "pass"}}},
]
ROW_COLUMNS = ["id", "input", "output", "context", "expected", "metadata"]


@pytest.fixture
def flat(small_rb: Rubricate, tmp_path: Path) -> Rubricate:
    """Metrics grammar and verdict (from a dataset), and an evaluation 'flat' of rows
    r1..r8 imported from a flat rows file."""
    small_rb.import_path(write_dataset(tmp_path / "metrics", CRITERIA, []), "base")
    rows = [{"id": f"r{i}", "input": f"q{i}", "output": f"a{i}"} for i in range(1, 9)]
    small_rb.import_path(write_jsonl(tmp_path / "rows.jsonl", rows), "flat")
    return small_rb


def annotation(number: int, **changes: Any) -> dict[str, Any]:
    return {"row_id": f"r{number}", "metric": "grammar", "annotator": "t1", "score": 3} | changes


Records = list[dict[str, Any] | str]
ANNOTATION_CASES: list[tuple[str, Callable[[Records], None], str, str]] = [
    ("missing row", lambda r: r[6].update(row_id="r99"), "row_id",
     "no row 'r99' in this evaluation: import its row first"),
    ("unknown metric", lambda r: r[6].update(metric="tone"), "metric",  # type: ignore[union-attr]
     "no metric named 'tone'"),
    ("annotator twice across batches", lambda r: r.__setitem__(6, annotation(2)), "annotator",
     "the annotation by 't1' for 'grammar' is given twice for this row (first on line {2})"),
    ("score outside the scale", lambda r: r[6].update(score=0), "score",  # type: ignore[union-attr]
     "score 0 is outside the scale 1–5"),
    ("unknown label", lambda r: r.__setitem__(6, annotation(7, metric="verdict", score=None,
     label="meh")), "label", "unknown label 'meh'"),
    ("empty annotator", lambda r: r[6].update(annotator=""), "annotator",  # type: ignore[union-attr]
     "must not be empty"),
    ("malformed JSON", lambda r: r.__setitem__(6, '{"row_id": "r7", "metric": "grammar", '),
     "metric", "malformed JSON"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("suffix", "mutate", "field", "text"),
    [(suffix, *c[1:]) for suffix in (".jsonl", ".csv") for c in ANNOTATION_CASES
     if suffix == ".jsonl" or c[0] != "malformed JSON"],
    ids=[f"{suffix}-{c[0]}" for suffix in (".jsonl", ".csv") for c in ANNOTATION_CASES
         if suffix == ".jsonl" or c[0] != "malformed JSON"],
)  # fmt: skip
def test_flat_annotations(
    flat: Rubricate,
    tmp_path: Path,
    suffix: str,
    mutate: Callable[[Records], None],
    field: str,
    text: str,
) -> None:
    records: Records = [annotation(i) for i in range(1, 9)]
    mutate(records)
    path = tmp_path / f"annotations{suffix}"
    if suffix == ".jsonl":
        write_jsonl(path, [{k: v for k, v in r.items() if v is not None} if isinstance(r, dict)
                           else r for r in records])  # fmt: skip
    else:
        columns = ["row_id", "metric", "annotator", "score", "label", "comment"]
        cells = [[r.get(c) for c in columns] for r in records if isinstance(r, dict)]
        write_csv(path, columns, cells)
    shift = 0 if suffix == ".jsonl" else 1  # the header is line 1
    text = text.replace("{2}", str(2 + shift))
    refused(flat, path, "flat", file=path, line=7 + shift, field=field, text=text)


def rows_csv(path: Path, bad: list[str] | None = None, *, at: int = 7) -> Path:
    rows = [[f"r{i}", f"q{i}", f"a{i}", "", "", '{"k": 1}'] for i in range(1, 9)]
    if bad is not None:
        rows[at - 2] = bad  # line ``at`` of the file
    return write_csv(path, ROW_COLUMNS, rows)


CSV_ROW_CASES: list[tuple[str, list[str], str, str]] = [
    ("bad metadata JSON", ["r6", "q", "a", "", "", "{'k': 1}"], "metadata",
     "malformed JSON in the cell at character 2: expecting property name"),
    ("metadata not an object", ["r6", "q", "a", "", "", "[1]"], "metadata",
     "Input should be a valid dictionary"),
    ("too many cells", ["r6", "q", "a", "", "", "{}", "extra"], "column 7",
     "7 cells, but the header names 6 columns"),
    ("duplicate id", ["r2", "q", "a", "", "", "{}"], "id", "duplicate id 'r2' (first on line 3)"),
    ("empty id", ["", "q", "a", "", "", "{}"], "id", "must not be empty"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("cells", "field", "text"), [c[1:] for c in CSV_ROW_CASES], ids=[c[0] for c in CSV_ROW_CASES]
)
def test_flat_rows_csv(
    small_rb: Rubricate, tmp_path: Path, cells: list[str], field: str, text: str
) -> None:
    path = rows_csv(tmp_path / "rows.csv", cells)
    refused(small_rb, path, "x", file=path, line=7, field=field, text=text)
    assert small_rb.evaluations.list() == []


def test_a_csv_cell_that_is_not_utf8_names_its_column(small_rb: Rubricate, tmp_path: Path) -> None:
    path = rows_csv(tmp_path / "rows.csv", ["r6", "q", "cafe", "", "", "{}"])
    path.write_bytes(path.read_bytes().replace(b"cafe", b"caf\xe9"))
    refused(small_rb, path, "x", file=path, line=7, field="output", text="byte 0xe9 at column")


def test_line_numbers_count_the_lines_of_quoted_cells(small_rb: Rubricate, tmp_path: Path) -> None:
    rows = [["r1", "two\nlines", "a", "", "", "{}"], ["r2", "q", "a", "", "", "{"]]
    path = write_csv(tmp_path / "rows.csv", ROW_COLUMNS, rows)
    refused(small_rb, path, "x", file=path, line=4, field="metadata", text="malformed JSON")


def test_an_unclosed_quote_names_the_line_where_the_record_starts(
    small_rb: Rubricate, tmp_path: Path
) -> None:
    path = tmp_path / "rows.csv"
    path.write_text('id,input,output\nr1,q,a\nr2,"never closed,a\nr3,q,a\n', encoding="utf-8")
    refused(small_rb, path, "x", file=path, line=3, field=None, text="never closed")


@pytest.mark.parametrize(
    ("header", "field", "text"),
    [
        ("id,input,output,rating", "rating", "unknown column 'rating' in the header"),
        ("id,input", "output", "required column is missing from the header"),
        ("id,input,output,input", "input", "column named twice"),
    ],
)
def test_a_bad_csv_header(
    small_rb: Rubricate, tmp_path: Path, header: str, field: str, text: str
) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(f"{header}\nr1,q,a,x\n", encoding="utf-8")
    refused(small_rb, path, "x", file=path, line=1, field=field, text=text)


def test_flat_judge_results_and_resolutions(flat: Rubricate, tmp_path: Path) -> None:
    judged = tmp_path / "judge_results.jsonl"
    write_jsonl(judged, [{"row_id": "r1", "metric": "grammar", "score": 4},
                         {"row_id": "r2", "metric": "helpfulness", "score": 4}])  # fmt: skip
    refused(flat, judged, "flat", file=judged, line=2, field="metric_version", text="built-in")
    write_jsonl(judged, [{"row_id": "r1", "metric": "grammar", "score": 4, "cost_usd": -1}])
    refused(flat, judged, "flat", file=judged, line=1, field="cost_usd", text="greater than")
    resolved = tmp_path / "resolutions.csv"
    write_csv(resolved, ["row_id", "metric", "value", "label", "by"],
              [["r1", "grammar", "4.5", "", "policy:mean"],
               ["r2", "verdict", "0.5", "", "policy:mean"]])  # fmt: skip
    refused(flat, resolved, "flat", file=resolved, line=3, field="value", text="0.5 is not on")
    write_csv(resolved, ["row_id", "metric", "value", "by"], [["r1", "grammar", "4", ""]])
    refused(flat, resolved, "flat", file=resolved, line=2, field="by", text="must not be empty")


def test_a_file_whose_name_does_not_say_what_it_holds(flat: Rubricate, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "notes.jsonl", [annotation(1)])
    with pytest.raises(InvalidInput, match="pass --kind"):
        flat.import_path(path, "flat")
    assert flat.import_path(path, "flat", kind="annotations").annotations_added == 1
    with pytest.raises(InvalidInput, match="unknown kind 'notes'"):
        flat.import_path(path, "flat", kind="notes")


def test_a_folder_with_both_layouts_of_a_kind(flat: Rubricate, tmp_path: Path) -> None:
    folder = tmp_path / "both"
    folder.mkdir()
    write_jsonl(folder / "annotations.jsonl", [annotation(1)])
    write_csv(folder / "annotations.csv", ["row_id", "metric", "annotator", "score"], [])
    with pytest.raises(InvalidInput, match=r"both annotations\.jsonl and annotations\.csv"):
        flat.import_path(folder, "flat")


def test_a_dataset_folder_with_flat_files_beside(flat: Rubricate, tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "data", CRITERIA, [])
    write_jsonl(folder / "annotations.jsonl", [annotation(1)])
    with pytest.raises(InvalidInput, match=r"holds dataset\.json and also annotations\.jsonl"):
        flat.import_path(folder, "flat")


def test_utf16_csv(small_rb: Rubricate, tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("id,input,output\nr1,q,a\n", encoding="utf-16")
    refused(small_rb, path, "x", file=path, line=1, field=None, text="UTF-16")


def test_a_json_line_that_is_not_an_object(small_rb: Rubricate, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "rows.jsonl", [json.dumps([1, 2])])
    refused(small_rb, path, "x", file=path, line=1, field=None, text="Input should be an object")
