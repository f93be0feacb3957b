"""The two real data sets import whole, with the counts their files hold, and round-trip."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from tests.io.io_support import files_of, snapshot, stored

from rubricate import Rubricate


def expected(folder: Path) -> tuple[int, Counter[tuple[str, str]], float, int]:
    """Rows, annotations per (criterion, annotator), the sum of scores and the number of
    comments, read from the files with json alone."""
    rows, per, total, comments = 0, Counter[tuple[str, str]](), 0.0, 0
    with (folder / "rows.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            rows += 1
            for criterion, notes in json.loads(line).get("annotations", {}).items():
                for note in notes:
                    per[(criterion, note["annotator"])] += 1
                    total += note["score"]
                    comments += bool(note.get("comment"))
    return rows, per, total, comments


@pytest.mark.parametrize(
    ("name", "rows", "annotations"), [("feedbackqa", 1995, 5985), ("writingprompts", 400, 4800)]
)
def test_a_real_data_set(
    rb: Rubricate, shared_data: Path, tmp_path: Path, name: str, rows: int, annotations: int
) -> None:
    folder = shared_data / name
    want_rows, per, total, comments = expected(folder)
    assert (want_rows, sum(per.values())) == (rows, annotations)
    manifest = json.loads((folder / "dataset.json").read_text(encoding="utf-8"))
    criteria = [c["name"] for c in manifest["criteria"]]

    report = rb.import_path(folder, name)
    assert (report.rows_added, report.annotations_added) == (rows, annotations)
    assert report.metrics_created == criteria
    assert rb.evaluations.get(name).row_count == rows
    data = stored(rb, name)
    assert len(data["rows"]) == rows
    assert Counter((a[1], a[2]) for a in data["annotations"]) == per
    assert sum(a[3] for a in data["annotations"]) == total
    assert sum(a[4] is not None for a in data["annotations"]) == comments
    for criterion in criteria:
        (version,) = rb.metrics.versions(criterion)
        assert version.origin == "import"
        assert version.prompt.startswith(f"Score the output for {criterion}")

    before = snapshot(rb)
    again = rb.import_path(folder, name)
    assert not again.changed and again.rows_unchanged == rows
    assert snapshot(rb) == before

    rb.export(name, tmp_path / "first")
    rb.import_path(tmp_path / "first", f"{name}-copy")
    rb.export(f"{name}-copy", tmp_path / "second")
    assert files_of(tmp_path / "first") == files_of(tmp_path / "second")
    assert stored(rb, f"{name}-copy") == data
