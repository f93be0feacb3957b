"""`rubricate demo` and the demo data set it ships."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from rubricate.cli import app
from rubricate.demo import DATASET, EVALUATION, metric_names

if TYPE_CHECKING:
    from conftest import Cli

SECTIONS = ("Demo workspace:", "Metrics", "Evaluations", "Reviewer agreement", "Next, try")


def test_demo_twice_on_a_fresh_database(cli: Cli) -> None:
    first = cli.ok("demo").stdout
    for section in SECTIONS:
        assert section in first
    assert "rows           48 added" in first
    assert "answer_helpfulness, policy_compliance created" in first
    assert "Krippendorff's alpha: ordinal" in first
    assert "majority policy" in first
    with cli.workspace() as rb:
        evaluation = rb.evaluations.get(EVALUATION)
        coverage = {c.metric: c for c in rb.evaluations.show(EVALUATION).metrics}
        resolved = {name: coverage[name].resolved_rows for name in metric_names()}
        assert evaluation.row_count == 48
        assert all(0 < n < 48 for n in resolved.values())  # some stay unresolved
        assert all(c.reviewers == 3 and c.judged_rows == 48 for c in coverage.values())

    # the second run, with the option after the command this time
    second = CliRunner(env={"RUBRICATE_DATABASE_URL": None}).invoke(
        app, ["demo", "--database-url", cli.database_url]
    )
    assert second.exit_code == 0, second.output
    assert "Nothing changed" in second.stdout
    assert "0 rows resolved" in second.stdout
    for section in SECTIONS:
        assert section in second.stdout
    with cli.workspace() as rb:
        assert rb.evaluations.get(EVALUATION).row_count == 48
        coverage = {c.metric: c for c in rb.evaluations.show(EVALUATION).metrics}
        assert {name: coverage[name].resolved_rows for name in metric_names()} == resolved
        assert len(rb.evaluations.list()) == 1


def test_demo_uses_the_default_database_and_says_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RUBRICATE_DATABASE_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    database = tmp_path / "data" / "rubricate" / "rubricate.db"
    assert f"Demo workspace: sqlite:///{database}" in result.stdout
    assert database.is_file()


def test_the_demo_data_set() -> None:
    manifest = json.loads((DATASET / "dataset.json").read_text(encoding="utf-8"))
    rows = [json.loads(line) for line in (DATASET / "rows.jsonl").read_text().splitlines()]
    assert 40 <= len(rows) == manifest["rows"] <= 60
    assert metric_names() == ["answer_helpfulness", "policy_compliance"]
    assert {c["scale"]["type"] for c in manifest["criteria"]} == {"ordinal", "labels"}
    reviewers = {
        a["annotator"] for row in rows for given in row["annotations"].values() for a in given
    }
    assert reviewers == {"ana", "ben", "chidi"}
    judges = {j["model"] for row in rows for j in row["judge"].values()}
    assert judges == {"demo:scripted-judge"}
    assert all(j.get("rationale") for row in rows for j in row["judge"].values())
    assert len({row["id"] for row in rows}) == len(rows)
