"""`rubricate import` and `rubricate export`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from rubricate import NotFound
from rubricate.cli.transfer import Kind, Layout, expected_records
from rubricate.service.exporting import LAYOUTS
from rubricate.service.importing import FLAT_KINDS

if TYPE_CHECKING:
    from conftest import Cli, MakeDataset


def coverage(cli: Cli, evaluation: str) -> dict[str, tuple[int, int, int, int]]:
    with cli.workspace() as rb:
        detail = rb.evaluations.show(evaluation)
    return {
        c.metric: (c.annotated_rows, c.annotations, c.resolved_rows, c.judged_rows)
        for c in detail.metrics
    }


def test_import_reports_what_it_added_and_a_second_import_changes_nothing(
    cli: Cli, tiny: Path
) -> None:
    first = cli.ok("import", str(tiny), "--evaluation", "tiny", "--description", "hand made")
    assert "rows           4 added, 0 unchanged" in first.stdout
    assert "annotations    17 added" in first.stdout  # 9 quality + 8 verdict
    assert "judge results  4 added" in first.stdout
    assert "quality, verdict created" in first.stdout
    with cli.workspace() as rb:
        evaluation = rb.evaluations.get("tiny")
        assert (evaluation.row_count, evaluation.description) == (4, "hand made")
    before = coverage(cli, "tiny")
    assert before == {"quality": (4, 9, 0, 4), "verdict": (3, 8, 0, 0)}

    second = cli.ok("import", str(tiny), "--evaluation", "tiny")
    assert "Nothing changed" in second.stdout
    assert "4 rows unchanged" in second.stdout
    assert coverage(cli, "tiny") == before
    with cli.workspace() as rb:
        assert rb.evaluations.get("tiny").row_count == 4


def test_import_json_report(cli: Cli, tiny: Path) -> None:
    report = cli.json("import", str(tiny), "-e", "tiny")
    expected = {
        "evaluation": "tiny",
        "evaluation_created": True,
        "metrics_created": ["quality", "verdict"],
        "rows_added": 4,
        "rows_unchanged": 0,
        "annotations_added": 17,
        "judge_results_added": 4,
        "resolutions_added": 0,
        "changed": True,
    }
    assert {key: report[key] for key in expected} == expected
    again = cli.json("import", str(tiny), "-e", "tiny")
    assert (again["changed"], again["rows_added"], again["rows_unchanged"]) == (False, 0, 4)


def test_a_bad_line_names_file_and_line_and_leaves_nothing_behind(
    cli: Cli, make_dataset: MakeDataset
) -> None:
    folder = make_dataset(extra=('{"id": "e", "input": "q", "output": ',))  # line 5
    stderr = cli.fails("import", str(folder), "--evaluation", "broken")
    assert stderr.startswith("error: ")
    assert f"{folder / 'rows.jsonl'}:5" in stderr
    assert "malformed JSON" in stderr
    with cli.workspace() as rb:
        assert rb.evaluations.list() == []
        with pytest.raises(NotFound):
            rb.metrics.get("quality")  # the metrics the import created went with it


def test_a_flat_file_with_kind(cli: Cli, tiny: Path, tmp_path: Path) -> None:
    cli.ok("import", str(tiny), "-e", "tiny")
    notes = tmp_path / "extra-notes.jsonl"
    notes.write_text(
        json.dumps({"row_id": "d", "metric": "quality", "annotator": "r2", "score": 4}) + "\n",
        encoding="utf-8",
    )
    stderr = cli.fails("import", str(notes), "-e", "tiny")
    assert "option --kind: cannot tell" in stderr
    cli.ok("import", str(notes), "-e", "tiny", "--kind", "annotations")
    assert coverage(cli, "tiny")["quality"] == (4, 10, 0, 4)


def test_missing_path_and_unknown_kind(cli: Cli, tmp_path: Path) -> None:
    assert "no such file" in cli.fails("import", str(tmp_path / "nope"), "-e", "x")
    result = cli("import", str(tmp_path), "-e", "x", "--kind", "nonsense")
    assert result.exit_code == 2
    assert "--kind" in result.stderr


def test_export_in_each_layout_reads_back_the_same(cli: Cli, tiny: Path, tmp_path: Path) -> None:
    cli.ok("import", str(tiny), "-e", "tiny")
    cli.ok("annotations", "resolve", "-e", "tiny", "-m", "quality", "--policy", "majority")
    original = coverage(cli, "tiny")
    for layout in ("dataset", "jsonl", "csv"):
        out = tmp_path / f"out-{layout}"
        report = cli.json("export", "--evaluation", "tiny", "--out", str(out), "--layout", layout)
        assert (report["rows"], report["annotations"], report["resolutions"]) == (4, 17, 3)
        assert report["files"]
        assert all(Path(f).is_file() and Path(f).parent == out for f in report["files"])
        cli.ok("import", str(out), "-e", f"copy-{layout}")
        assert coverage(cli, f"copy-{layout}") == original
    text = cli.ok("export", "-e", "tiny", "-o", str(tmp_path / "again"))
    assert "Exported tiny (dataset layout): 4 rows, 17 annotations" in text.stdout
    assert str(tmp_path / "again" / "rows.jsonl") in text.stdout


def test_export_of_an_unknown_evaluation(cli: Cli, tmp_path: Path) -> None:
    stderr = cli.fails("export", "-e", "nope", "-o", str(tmp_path / "x"))
    assert "no evaluation named 'nope'" in stderr


def test_choices_match_the_service() -> None:
    assert tuple(k.value for k in Kind) == FLAT_KINDS
    assert tuple(layout.value for layout in Layout) == (*LAYOUTS, "otel")  # otel: its own


def test_expected_records_counts_lines_cheaply(tmp_path: Path, tiny: Path) -> None:
    assert expected_records(tiny) == 4
    assert expected_records(tiny / "dataset.json") == 4
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "rows.csv").write_text("id,input,output\n1,a,b\n2,c,d", encoding="utf-8")
    (flat / "annotations.jsonl").write_text("{}\n{}\n{}\n", encoding="utf-8")
    assert expected_records(flat) == 5
    assert expected_records(flat / "rows.csv") == 2


@pytest.mark.slow
def test_import_a_real_data_set(cli: Cli, shared_data: Path) -> None:
    source = shared_data / "feedbackqa"
    report = cli.json("import", str(source), "-e", "feedbackqa")
    assert report["rows_added"] == 1995
    assert report["metrics_created"] == ["answer_quality"]
    again = cli.ok("import", str(source), "-e", "feedbackqa")
    assert "Nothing changed" in again.stdout
    with cli.workspace() as rb:
        assert rb.evaluations.get("feedbackqa").row_count == 1995
        (quality,) = rb.evaluations.show("feedbackqa").metrics
        assert quality.reviewers >= 3
        assert quality.annotations == report["annotations_added"]
