"""Issue 12, hostile import files: each is refused naming file, line and field, with the
database unchanged, or imported and then read back by its own export."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.io.io_support import refused, write_csv, write_dataset, write_jsonl

from rubricate import Rubricate
from rubricate.io import readers
from rubricate.io.formulas import neutralise, restore
from rubricate.limits import METADATA_MAX_DEPTH

SCALE_1_5 = {"type": "ordinal", "min": 1, "max": 5}
ROW = {
    "id": "r1",
    "input": "q",
    "output": "a",
    "annotations": {"wide": [{"annotator": "t", "score": 3}]},
}


def line_of(path: Path, needle: str) -> int:
    text = path.read_text(encoding="utf-8")
    return text.count("\n", 0, text.index(needle)) + 1


@pytest.mark.parametrize(
    ("scale", "field", "needle"),
    [
        ({"type": "ordinal", "min": 0, "max": 1e12}, "criteria[0].scale.max", '"max"'),
        ({"type": "ordinal", "min": 0, "max": 10_000_000}, "criteria[0].scale.max", '"max"'),
        ({"type": "interval", "min": -1e300, "max": 1}, "criteria[0].scale.min", '"min"'),
        (
            {"type": "labels", "labels": {str(i): f"l{i}" for i in range(1000)}},
            "criteria[0].scale.labels",
            '"labels": {',
        ),
    ],
)
def test_a_scale_too_wide_is_refused(
    rb: Rubricate, tmp_path: Path, scale: dict[str, Any], field: str, needle: str
) -> None:
    folder = write_dataset(tmp_path / "wide", [{"name": "wide", "scale": scale}], [ROW])
    manifest = folder / "dataset.json"
    refused(
        rb, folder, "wide", file=manifest, line=line_of(manifest, needle), field=field,
        text="at most",
    )  # fmt: skip
    assert rb.evaluations.list() == []


def test_the_widest_scale_imports(rb: Rubricate, tmp_path: Path) -> None:
    scale = {"type": "ordinal", "min": 0, "max": 100}
    folder = write_dataset(tmp_path / "wide", [{"name": "wide", "scale": scale}], [ROW])
    report = rb.import_path(folder, "wide")
    assert (report.rows_added, report.annotations_added) == (1, 1)


# --- metadata nested deep (issue 12: 2,000 deep was a RecursionError traceback, 500 deep
# imported but its own export could not be read back) ------------------------------------


def nested(depth: int) -> str:
    """JSON objects nested ``depth`` deep, the outermost one included."""
    return '{"a": ' * depth + "1" + "}" * depth


def second_row_with_metadata(tmp_path: Path, layout: str, metadata: str) -> tuple[Path, int]:
    """A CSV or JSONL file of two rows, the second with ``metadata`` (JSON text): the file,
    and the line of that row."""
    if layout == "csv":
        rows = [["r0", "q", "a", "{}"], ["r1", "q", "a", metadata]]
        return write_csv(tmp_path / "rows.csv", ["id", "input", "output", "metadata"], rows), 3
    row = '{"id": "r1", "input": "q", "output": "a", "metadata": ' + metadata + "}"
    first = {"id": "r0", "input": "q", "output": "a"}
    return write_jsonl(tmp_path / "rows.jsonl", [first, row]), 2


@pytest.mark.parametrize("layout", ["csv", "jsonl"])
@pytest.mark.parametrize("depth", [METADATA_MAX_DEPTH + 1, 500, 2_000, 100_000])
def test_metadata_nested_too_deep_is_refused(
    rb: Rubricate, tmp_path: Path, depth: int, layout: str
) -> None:
    path, line = second_row_with_metadata(tmp_path, layout, nested(depth))
    refused(rb, path, "deep", file=path, line=line, field="metadata", text="nested deeper than")


@pytest.mark.parametrize("layout", ["dataset", "jsonl", "csv"])
def test_the_deepest_metadata_accepted_round_trips(
    rb: Rubricate, tmp_path: Path, layout: str
) -> None:
    path = write_csv(
        tmp_path / "rows.csv",
        ["id", "input", "output", "metadata"],
        [["r1", "q", "a", nested(METADATA_MAX_DEPTH)]],
    )
    rb.import_path(path, "deep")
    rb.export("deep", tmp_path / "out", layout=layout)
    rb.import_path(tmp_path / "out", "again")
    (row,) = rb.evaluations.rows("again")
    assert json.dumps(row.metadata) == nested(METADATA_MAX_DEPTH)


# --- CSV formula injection (issue 12: export wrote formula cells verbatim) ---------------

FORMULAS = [
    "=cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "+1+1",
    "-1+1",
    "\tTAB=1",
    "\r=1",
    "'=already quoted",
    "''+twice",
    "'plain quote",
    "=",
]


def test_csv_export_neutralises_formulas_and_reads_them_back(rb: Rubricate, tmp_path: Path) -> None:
    scale = {"type": "interval", "min": -1, "max": 1}
    rows = [
        {
            "id": f"r{i}",
            "input": text,
            "output": f"out {text}",
            "context": text,
            "expected": text,
            "annotations": {"m": [{"annotator": "ana", "score": -0.5, "comment": text}]},
            "judge": {"m": {"score": -1, "rationale": text, "model": "fake:judge"}},
        }
        for i, text in enumerate(FORMULAS)
    ]
    folder = write_dataset(tmp_path / "in", [{"name": "m", "scale": scale}], rows)
    rb.import_path(folder, "formulas")
    rb.export("formulas", tmp_path / "csv", layout="csv")
    for name in ("rows", "annotations", "judge_results"):
        with (tmp_path / "csv" / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
            for cells in list(csv.reader(handle))[1:]:
                for cell in cells:
                    number = cell.lstrip("-").replace(".", "", 1).isdigit()
                    assert number or not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    rb.import_path(tmp_path / "csv", "again")
    rb.export("formulas", tmp_path / "a", layout="dataset")
    rb.export("again", tmp_path / "b", layout="dataset")
    first = (tmp_path / "a" / "rows.jsonl").read_text(encoding="utf-8")
    assert first == (tmp_path / "b" / "rows.jsonl").read_text(encoding="utf-8")
    for text in FORMULAS:  # the JSON layouts are written verbatim
        assert json.dumps(text)[1:-1] in first


@given(st.text())
def test_neutralise_then_restore_is_exact(text: str) -> None:
    cell = neutralise(text)
    assert restore(cell) == text
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


@pytest.mark.parametrize("layout", ["jsonl", "csv"])
def test_a_line_longer_than_the_limit_is_refused_at_its_line(
    rb: Rubricate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    """A one-line file of a gigabyte (a zip bomb's payload) is refused after reading just
    past the limit: the limit is lowered here so that the test writes kilobytes."""
    monkeypatch.setattr(readers, "IMPORT_MAX_LINE_BYTES", 4096)
    long_row = {**ROW, "id": "r2", "output": "x" * 5000}
    if layout == "jsonl":
        folder = write_dataset(
            tmp_path / "long", [{"name": "wide", "scale": SCALE_1_5}], [ROW, long_row]
        )
        rows = folder / "rows.jsonl"
        refused(rb, folder, "long", file=rows, line=2, field=None, text="longer than")
    else:
        path = tmp_path / "rows.csv"
        write_csv(path, ["id", "input", "output"], [["r1", "q", "a"], ["r2", "q", "x" * 5000]])
        refused(rb, path, "long", file=path, line=3, field=None, text="longer than")
    assert rb.evaluations.list() == []


def test_a_dataset_json_too_large_to_read_whole_is_refused(
    rb: Rubricate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "DOCUMENT_MAX_BYTES", 200)
    folder = write_dataset(
        tmp_path / "big", [{"name": "wide", "scale": SCALE_1_5, "description": "d" * 300}], [ROW]
    )
    manifest = folder / "dataset.json"
    refused(rb, folder, "big", file=manifest, line=None, field=None, text="larger than")
