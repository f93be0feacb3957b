"""`rubricate evaluations ...`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import Cli


def test_list_json(cli: Cli, tiny: Path) -> None:
    assert cli.json("evaluations", "list") == []
    cli.ok("import", str(tiny), "-e", "tiny")
    cli.ok("import", str(tiny), "-e", "another")
    listed = cli.json("evaluations", "list")
    assert [e["name"] for e in listed] == ["another", "tiny"]
    tiny_json = listed[1]
    assert tiny_json["row_count"] == 4
    assert tiny_json["source"] == "imported"
    assert tiny_json["completed"] is True
    assert tiny_json["description"] == "A few answers to check the CLI with."
    assert datetime.fromisoformat(tiny_json["created_at"]).tzinfo is not None
    with cli.workspace() as rb:
        assert [e.id for e in rb.evaluations.list()] == [e["id"] for e in listed]


def test_list_table(cli: Cli, tiny: Path) -> None:
    assert "none yet" in cli.ok("evaluations", "list").stdout
    cli.ok("import", str(tiny), "-e", "tiny")
    text = cli.ok("evaluations", "list").stdout
    for word in ("Name", "Source", "Rows", "Completed", "Created", "tiny", "imported", "yes"):
        assert word in text


def test_show_json_has_per_metric_coverage(cli: Cli, tiny: Path) -> None:
    cli.ok("import", str(tiny), "-e", "tiny")
    cli.ok("annotations", "resolve", "-e", "tiny", "-m", "verdict", "--policy", "unanimous")
    shown = cli.json("evaluations", "show", "tiny")
    assert shown["evaluation"]["name"] == "tiny"
    assert shown["evaluation"]["row_count"] == 4
    assert shown["metrics"] == [
        {
            "metric": "quality",
            "annotated_rows": 4,
            "annotations": 9,
            "reviewers": 3,
            "resolved_rows": 0,
            "judged_rows": 4,
        },
        {
            "metric": "verdict",
            "annotated_rows": 3,
            "annotations": 8,
            "reviewers": 3,
            "resolved_rows": 2,  # b and c are unanimous, a is not
            "judged_rows": 0,
        },
    ]
    text = cli.ok("evaluations", "show", "tiny").stdout
    assert "4 rows, completed." in text
    assert "Resolved" in text


def test_rows_page_by_page(cli: Cli, tiny: Path) -> None:
    cli.ok("import", str(tiny), "-e", "tiny")
    rows = cli.json("evaluations", "rows", "tiny", "--offset", "1", "--limit", "2")
    assert [r["external_id"] for r in rows] == ["b", "c"]
    assert rows[0]["input"] == "question b"
    assert rows[0]["metadata"] == {"n": 1}
    text = cli.ok("evaluations", "rows", "tiny", "--limit", "2").stdout
    assert "question a" in text
    assert "More: --offset 2" in text
    assert (
        "tiny has no rows after the first 4."
        in cli.ok("evaluations", "rows", "tiny", "--offset", "4").stdout
    )
    assert cli.json("evaluations", "rows", "tiny", "--offset", "9") == []


def test_unknown_evaluation(cli: Cli) -> None:
    stderr = cli.fails("evaluations", "show", "nope")
    assert stderr.startswith("error: no evaluation named 'nope'")
