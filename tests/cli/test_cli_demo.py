"""`rubricate demo` and the demo data set it ships. The tests stop before serving the web UI
(--no-serve); serving is rubricate.web.server's."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from typer.testing import CliRunner

from rubricate.cli import app
from rubricate.demo import (
    ALIGNED_METRIC,
    DATASET,
    EVALUATION,
    REFLECTION_LM,
    RUN_ID,
    align_demo,
    build_demo,
    metric_names,
)
from rubricate.domain.alignment_runs import RunStatus
from rubricate.domain.traces import Direction
from rubricate.store.tables import AlignmentRunRecord

if TYPE_CHECKING:
    from conftest import Cli
    from rubricate import Rubricate

SECTIONS = (
    "Demo workspace:",
    "Metrics",
    "Evaluations",
    "Reviewer agreement",
    f"Run {RUN_ID} of {ALIGNED_METRIC}: Aligned",
    "Guidelines (builtin:offline):",
    "Next, try",
)


def guideline_lines(output: str) -> list[str]:
    """The numbered guideline lines the command printed."""
    lines = output.splitlines()
    start = lines.index("Guidelines (builtin:offline):") + 1
    found = []
    for line in lines[start:]:
        if not line.startswith("  ") or line.startswith("  note:"):
            break
        found.append(line.strip())
    return found


def test_demo_twice_on_a_fresh_database(cli: Cli) -> None:
    first = cli.ok("demo", "--no-serve").stdout
    for section in SECTIONS:
        assert section in first
    assert "rows           48 added" in first
    assert "answer_helpfulness, policy_compliance created" in first
    assert "Krippendorff's alpha: ordinal" in first
    assert "majority policy" in first
    assert "23 disagreements found, 23 agreeing rows skipped" in first
    assert "Verification: not run." in first
    assert "Open http" not in first  # nothing is served
    printed = guideline_lines(first)
    assert len(printed) >= 2
    with cli.workspace() as rb:
        evaluation = rb.evaluations.get(EVALUATION)
        coverage = {c.metric: c for c in rb.evaluations.show(EVALUATION).metrics}
        resolved = {name: coverage[name].resolved_rows for name in metric_names()}
        assert evaluation.row_count == 48
        assert all(0 < n < 48 for n in resolved.values())  # some stay unresolved
        assert all(c.reviewers == 3 and c.judged_rows == 48 for c in coverage.values())
        run = rb.alignment_runs.get(RUN_ID)
        assert run.status is RunStatus.ALIGNED and run.params.reflection_lm == REFLECTION_LM
        assert run.params.judge_model is None
        assert run.result is not None and run.result.engine == "builtin:offline"
        guidelines = run.result.effective_guidelines()
        assert len(guidelines) >= 2
        assert all(any(g.text in line for line in printed) for g in guidelines)

    # the second run, with the option after the command this time
    second = CliRunner(env={"RUBRICATE_DATABASE_URL": None}).invoke(
        app, ["demo", "--no-serve", "--database-url", cli.database_url]
    )
    assert second.exit_code == 0, second.output
    assert "Nothing changed" in second.stdout
    assert "0 rows resolved" in second.stdout
    for section in SECTIONS:
        assert section in second.stdout
    assert guideline_lines(second.stdout) == printed  # the same run, the same result
    with cli.workspace() as rb:
        assert rb.evaluations.get(EVALUATION).row_count == 48
        coverage = {c.metric: c for c in rb.evaluations.show(EVALUATION).metrics}
        assert {name: coverage[name].resolved_rows for name in metric_names()} == resolved
        assert len(rb.evaluations.list()) == 1
        assert [r.id for r in rb.alignment_runs.list(ALIGNED_METRIC)] == [RUN_ID]
        assert rb.alignment_runs.get(RUN_ID).finished_at == run.finished_at


def test_the_offline_engine_distills_the_demo(rb: Rubricate) -> None:
    build_demo(rb)
    run = align_demo(rb)
    assert run.id == RUN_ID and run.status is RunStatus.ALIGNED
    assert run.result is not None
    result = run.result
    assert (result.disagreements, result.agreeing_skipped, result.missing_human) == (23, 23, 2)
    guidelines = result.effective_guidelines()
    assert 2 <= len(guidelines) <= 4
    # Both of the scripted judge's blind spots: too lenient and too harsh.
    assert {g.direction for g in guidelines} == {Direction.TOO_LENIENT, Direction.TOO_HARSH}
    assert any('"against policy"' in g.text for g in guidelines)
    # Each guideline stands on its own rows: no row backs two of them.
    rows = [row for g in guidelines for row in g.row_ids]
    assert len(rows) == len(set(rows)) and all(len(g.row_ids) >= 3 for g in guidelines)
    assert align_demo(rb) == run  # a repeat returns the same run, untouched


def test_a_failed_demo_run_is_retried(rb: Rubricate) -> None:
    build_demo(rb)
    run = align_demo(rb)
    with rb.db.write() as session:  # as a Ctrl-C in the middle of the run leaves it
        record = session.get(AlignmentRunRecord, RUN_ID)
        assert record is not None
        record.status, record.error = RunStatus.ERROR.value, "interrupted before it finished"
    again = align_demo(rb)
    assert again.status is RunStatus.ALIGNED and again.error is None
    assert again.result is not None and run.result is not None
    assert again.result.guidelines == run.result.guidelines
    assert len(rb.alignment_runs.list(ALIGNED_METRIC)) == 1


def test_a_demo_run_with_other_parameters_is_shown_as_it_is(rb: Rubricate) -> None:
    build_demo(rb)
    rb.alignment_runs.start(
        metric=ALIGNED_METRIC, evaluations=[EVALUATION], delta=2, run_id=RUN_ID
    )  # as an older release might have started it
    run = align_demo(rb)
    assert run.status is RunStatus.ALIGNED and run.params.delta == 2
    assert len(rb.alignment_runs.list(ALIGNED_METRIC)) == 1


def test_demo_help_names_the_serving_options() -> None:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["demo", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--no-serve", "--host", "--port", "127.0.0.1", "8000"):
        assert option in result.stdout


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
    assert len({row["output"] for row in rows}) == len(rows)  # other tests find rows by text


def test_demo_has_a_database_of_its_own_and_says_where(tmp_path: Path) -> None:
    """Without --database-url or RUBRICATE_DATABASE_URL the demo goes into demo.db in the
    data folder, not into the default database the user then works in."""
    env = {
        "RUBRICATE_DATABASE_URL": None,
        "RUBRICATE_SETTINGS_FILE": os.devnull,
        "XDG_DATA_HOME": str(tmp_path),
        "COLUMNS": "120",
    }
    result = CliRunner(env=env).invoke(app, ["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    demo_db = tmp_path / "rubricate" / "demo.db"
    assert f"Demo workspace: sqlite:///{demo_db}" in result.stdout
    assert f"export RUBRICATE_DATABASE_URL=sqlite:///{demo_db}" in result.stdout
    assert demo_db.exists() and not (tmp_path / "rubricate" / "rubricate.db").exists()
