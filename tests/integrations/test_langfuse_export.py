"""Writing back to Langfuse: a metric version as a new prompt version with a label, and an
evaluation's judge scores as Langfuse scores carrying the metric version; both through the
connector's HTTP code against the contract fake, and both safe to repeat."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.integrations.conftest import Project

from rubricate import Rubricate
from rubricate.domain.errors import InvalidInput, NotFound
from rubricate.domain.scale import Scale
from rubricate.integrations import langfuse
from rubricate.integrations._langfuse_export import _value

EVALUATION = "langfuse-tone"
PROMPT = "Rate the tone of the answer.\nQuestion: {{ input }}\nAnswer: {{ output }}\n"


def imported(rb: Rubricate, project: Project, tmp_path: Path) -> None:
    """Import the project, add version 2 of 'tone' and judge results of it: one per trace,
    one on a row that is not a Langfuse trace, one that failed."""
    langfuse.import_langfuse(rb, score="tone", connection=project.connection)
    rb.metrics.add_version("tone", prompt=PROMPT)
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"id": "local-1", "input": "q", "output": "a"}) + "\n")
    rb.import_path(rows, EVALUATION)
    judge = {"metric": "tone", "metric_version": 2, "model": "openai:gpt-4.1-mini"}
    lines = [
        judge | {"row_id": project.ids["chat"], "score": 5, "rationale": "kind and clear"},
        judge | {"row_id": project.ids["plain"], "score": 2},
        judge | {"row_id": "local-1", "score": 3},
        judge | {"row_id": project.ids["plain"], "model": "other", "error": "timeout"},
    ]
    results = tmp_path / "judge_results.jsonl"
    results.write_text("".join(json.dumps(line) + "\n" for line in lines))
    rb.import_path(results, EVALUATION)


def test_export_creates_a_prompt_version_with_its_label(
    rb: Rubricate, project: Project, tmp_path: Path
) -> None:
    imported(rb, project, tmp_path)
    report = langfuse.export_prompt(rb, "tone", connection=project.connection)
    assert (report.created, report.langfuse_version, report.version) == (True, 1, 2)
    assert (report.label, report.prompt_type, report.prompt_name) == ("production", "text", "tone")
    (stored,) = project.fake.prompts["tone"]
    assert stored["type"] == "text" and stored["labels"] == ["production", "latest"]
    assert "{{input}}" in stored["prompt"] and "{{output}}" in stored["prompt"]
    assert "Rate the tone of the answer." in stored["prompt"]
    mine = stored["config"]["rubricate"]
    assert (mine["metric"], mine["version"]) == ("tone", 2)
    assert mine["scale"] == {"type": "ordinal", "min": 1, "max": 5}
    assert mine["exported_by"].startswith("rubricate ")


def test_export_again_creates_nothing_and_a_new_label_moves(
    rb: Rubricate, project: Project, tmp_path: Path
) -> None:
    imported(rb, project, tmp_path)
    langfuse.export_prompt(rb, "tone", connection=project.connection)
    again = langfuse.export_prompt(rb, "tone", connection=project.connection)
    assert (again.created, again.langfuse_version) == (False, 1)
    assert project.fake.count("POST", "/api/public/v2/prompts") == 1
    old = langfuse.export_prompt(rb, "tone", version=1, connection=project.connection)
    assert (old.created, old.langfuse_version, old.version) == (True, 2, 1)
    chat = langfuse.export_prompt(rb, "tone", label="staging", prompt_type="chat",
                                  connection=project.connection)  # fmt: skip
    versions = project.fake.prompts["tone"]
    assert chat.langfuse_version == 3 and versions[2]["type"] == "chat"
    assert [m["role"] for m in versions[2]["prompt"]] == ["system", "user"]
    # production moved to the version of metric version 1; staging names the chat one
    assert [v["labels"] for v in versions] == [[], ["production"], ["staging", "latest"]]


def test_judge_scores_are_pushed_with_the_metric_version(
    rb: Rubricate, project: Project, tmp_path: Path
) -> None:
    imported(rb, project, tmp_path)
    before = set(project.fake.scores)
    report = langfuse.push_scores(rb, EVALUATION, "tone", connection=project.connection)
    assert (report.pushed, report.skipped_not_langfuse, report.skipped_errors) == (2, 1, 1)
    assert (report.version, report.score_name) == (2, "tone")
    new = [project.fake.scores[i] for i in set(project.fake.scores) - before]
    pushed = {s["traceId"]: s for s in new}
    chat = pushed[project.ids["chat"]]
    assert (chat["name"], chat["value"], chat["source"], chat["dataType"]) == (
        "tone", 5.0, "API", "NUMERIC"
    )  # fmt: skip
    assert chat["comment"] == "kind and clear"
    assert chat["metadata"] == {
        "rubricate_metric": "tone", "rubricate_version": 2,
        "rubricate_model": "openai:gpt-4.1-mini", "rubricate_evaluation": EVALUATION,
    }  # fmt: skip
    again = langfuse.push_scores(rb, EVALUATION, "tone", connection=project.connection)
    assert again.pushed == 2 and len(project.fake.scores) == len(before) + 2  # same ids: kept once


def test_pushed_scores_read_back_as_the_same_judge_results(
    rb: Rubricate, project: Project, tmp_path: Path
) -> None:
    imported(rb, project, tmp_path)
    langfuse.push_scores(rb, EVALUATION, "tone", connection=project.connection)
    back = langfuse.import_langfuse(rb, score="tone", connection=project.connection)
    assert not back.changed and back.scores_changed == []


def test_push_refuses_the_imported_version_and_an_unscored_one(
    rb: Rubricate, project: Project, tmp_path: Path
) -> None:
    imported(rb, project, tmp_path)
    with pytest.raises(InvalidInput, match="version 1 of 'tone' is the imported one"):
        langfuse.push_scores(rb, EVALUATION, "tone", version=1, connection=project.connection)
    rb.metrics.add_version("tone", prompt=PROMPT + "Be strict.\n")
    with pytest.raises(NotFound, match="no judge results of 'tone' version 3"):
        langfuse.push_scores(rb, EVALUATION, "tone", connection=project.connection)


def test_labels_and_booleans_are_typed_as_langfuse_types_them() -> None:
    verdict = Scale(type="labels", labels={0: "fail", 1: "pass"})
    truth = Scale(type="labels", labels={0: "false", 1: "true"})
    assert _value(verdict, 1.0) == {"value": "pass", "dataType": "CATEGORICAL"}
    assert _value(truth, 0.0) == {"value": 0.0, "dataType": "BOOLEAN"}
    assert _value(Scale(type="interval", min=0, max=1), 0.5) == {
        "value": 0.5,
        "dataType": "NUMERIC",
    }
