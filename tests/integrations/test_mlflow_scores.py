"""Judge scores logged back to a real MLflow store (SQLite backend) as Feedback assessments:
traces imported from MLflow, scored in rubricate with the in-process fake judge, logged
back and read through MLflow's own client; again logs nothing; a changed score overrides
rubricate's earlier feedback; a dry run writes nothing; rows not from MLflow, without a
score, or whose trace MLflow lacks are counted; the command's summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.cli.test_cli_startup import loaded_modules
from tests.integrations.conftest import Cli
from tests.integrations.mlflow_support import EXPERIMENT, Store, build, mlflow, store_fixtures

from rubricate import Rubricate
from rubricate.domain.errors import InvalidInput, NotFound
from rubricate.domain.evaluation_runs import EvaluationRun, EvaluationRunStatus
from rubricate.domain.scale import Scale
from rubricate.integrations import mlflow as connector
from rubricate.models import fake

pytestmark = [
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
    # MLflow's tracing imports mlflow.pyfunc when pandas is installed, which warns so
    pytest.mark.filterwarnings("ignore:.*Any type hint is inferred as AnyType"),
]
EVALUATION = f"mlflow-{EXPERIMENT}"
PROMPT = (
    "Rate the tone of the answer.\n{{ guidelines }}\nQuestion: {{ input }}\nAnswer: {{ output }}\n"
)
OTHERS = {"ana", "bob", "openai:/gpt-4o-mini"}  # who gave the store's own 'tone' feedback
# rows from a file: one not from MLflow, one naming a trace the store does not have
FILE_ROWS = [
    {"id": "plain", "input": "Where is my parcel?", "output": "On its way."},
    {"id": "gone", "input": "Hello there", "output": "Hi!",
     "metadata": {"mlflow": {"trace_id": "tr-00000000000000000000000000000000"}}},
]  # fmt: skip

template, store = store_fixtures(build, "mlflow-scores")


@pytest.fixture
def rows(rb: Rubricate, store: Store, tmp_path: Path) -> Store:
    """The store's two usable traces as rows (no feedback), and the file's two rows."""
    connector.import_mlflow(rb, experiment=EXPERIMENT, tracking_uri=store.uri)
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in FILE_ROWS))
    rb.import_path(path, EVALUATION, kind="rows")
    return store


def scores(given: dict[str, Any]) -> fake.Responder:
    """A judge answering ``given[marker]`` for the row whose question holds the marker."""

    def respond(call: fake.FakeCall) -> fake.FakeReply:
        marker = next(m for m in given if m in call.user)
        return {"score": given[marker], "rationale": f"about {marker}"}

    return respond


def evaluate(rb: Rubricate, metric: str, given: dict[str, Any]) -> EvaluationRun:
    with fake.registered("tone", scores(given)):
        run = rb.evaluate(metric=metric, evaluation=EVALUATION, model="fake:tone", cache=False)
    assert run.status is EvaluationRunStatus.COMPLETED, run.error
    return run


def feedback(store: Store, trace: str) -> list[Any]:
    """The trace's feedback, oldest first, through MLflow's own client."""
    info = mlflow.MlflowClient(store.uri).get_trace(trace).info
    found = [a for a in info.assessments if a.feedback is not None]
    return sorted(found, key=lambda a: a.create_time_ms)


def ours(store: Store, trace: str) -> list[Any]:
    return [a for a in feedback(store, trace) if "rubricate_metric" in (a.metadata or {})]


def counts(report: connector.MlflowScoresReport) -> tuple[int, ...]:
    return (report.logged, report.overriding, report.unchanged, report.skipped_not_mlflow,
            report.skipped_no_score, report.traces_missing)  # fmt: skip


def test_scores_logged_once_then_a_changed_one_overrides(rb: Rubricate, rows: Store) -> None:
    ids, uri = rows.ids, rows.uri
    rb.metrics.create("tone", prompt=PROMPT, scale=Scale(min=1, max=5))
    first = evaluate(rb, "tone", {"skip": 5, "Refund": 2, "parcel": 3, "Hello": 4})
    dry = connector.log_scores(rb, EVALUATION, "tone", tracking_uri=uri, dry_run=True)
    assert dry.dry_run and counts(dry) == (2, 0, 0, 1, 0, 1)
    assert ours(rows, ids["skip"]) == [] and ours(rows, ids["refund"]) == []

    done = connector.log_scores(rb, EVALUATION, "tone", tracking_uri=uri)
    assert counts(done) == (2, 0, 0, 1, 0, 1) and not done.dry_run
    assert (done.metric, done.version, done.assessment_name) == ("tone", 1, "tone")
    for trace, value, marker in ((ids["skip"], 5, "skip"), (ids["refund"], 2, "Refund")):
        [logged] = ours(rows, trace)
        assert (logged.name, logged.feedback.value) == ("tone", value)
        assert logged.rationale == f"about {marker}"
        assert isinstance(logged.feedback.value, int)  # a whole number on an ordinal scale
        assert (logged.source.source_type, logged.source.source_id) == ("LLM_JUDGE", "fake:tone")
        assert logged.metadata == {"rubricate_metric": "tone", "rubricate_version": "1",
                                   "rubricate_run": first.id}  # fmt: skip
        assert logged.valid is not False and logged.span_id is None
    before = {t: len(feedback(rows, ids[t])) for t in ("skip", "refund")}
    others = [a for a in feedback(rows, ids["skip"]) if a.source.source_id in OTHERS]
    assert len(others) == 3 and all(a.valid is not False for a in others)  # left alone

    again = connector.log_scores(rb, EVALUATION, "tone", tracking_uri=uri)
    assert counts(again) == (0, 0, 2, 1, 0, 1)
    assert {t: len(feedback(rows, ids[t])) for t in ("skip", "refund")} == before

    second = evaluate(rb, "tone", {"skip": 5, "Refund": 1, "parcel": 3, "Hello": 4})
    dry = connector.log_scores(rb, EVALUATION, "tone", tracking_uri=uri, dry_run=True)
    assert counts(dry) == (1, 1, 1, 1, 0, 1)
    assert len(ours(rows, ids["refund"])) == 1
    changed = connector.log_scores(rb, EVALUATION, "tone", tracking_uri=uri)
    assert counts(changed) == (1, 1, 1, 1, 0, 1)
    old, new = ours(rows, ids["refund"])
    assert (old.feedback.value, old.valid) == (2, False)  # overridden, kept
    assert (new.feedback.value, new.overrides, new.valid) == (1, old.assessment_id, True)
    assert new.metadata["rubricate_run"] == second.id
    [skip] = ours(rows, ids["skip"])
    assert skip.metadata["rubricate_run"] == first.id  # unchanged: the same value
    settled = connector.log_scores(rb, EVALUATION, "tone", tracking_uri=uri)
    assert counts(settled) == (0, 0, 2, 1, 0, 1)


def test_labels_another_name_and_rows_without_a_score(rb: Rubricate, rows: Store) -> None:
    ids, uri = rows.ids, rows.uri
    verdict = Scale(type="labels", labels={0: "fail", 1: "pass"})
    rb.metrics.create("verdict", prompt=PROMPT, scale=verdict)
    # the refund row's answer is off the scale: its result has no score
    evaluate(rb, "verdict", {"skip": "pass", "Refund": "maybe", "parcel": "fail", "Hello": "pass"})
    report = connector.log_scores(rb, EVALUATION, "verdict", tracking_uri=uri,
                                  assessment_name="verdict_v1")  # fmt: skip
    assert counts(report) == (1, 0, 0, 1, 1, 1)
    [logged] = ours(rows, ids["skip"])
    assert (logged.name, logged.feedback.value) == ("verdict_v1", "pass")  # the label's text
    assert ours(rows, ids["refund"]) == []
    # the same metric and version under another name is another feedback
    other = connector.log_scores(rb, EVALUATION, "verdict@1", tracking_uri=uri)
    assert counts(other) == (1, 0, 0, 1, 1, 1)
    assert sorted(a.name for a in ours(rows, ids["skip"])) == ["verdict", "verdict_v1"]


def test_true_false_labels_go_as_booleans(rb: Rubricate, rows: Store) -> None:
    rb.metrics.create("kind", prompt=PROMPT,
                      scale=Scale(type="labels", labels={0: "False", 1: "True"}))  # fmt: skip
    evaluate(rb, "kind", {"skip": "True", "Refund": "False", "parcel": "True", "Hello": "True"})
    connector.log_scores(rb, EVALUATION, "kind", tracking_uri=rows.uri)
    [skip], [refund] = ours(rows, rows.ids["skip"]), ours(rows, rows.ids["refund"])
    assert (skip.feedback.value, refund.feedback.value) == (True, False)
    again = connector.log_scores(rb, EVALUATION, "kind", tracking_uri=rows.uri)
    assert (again.logged, again.unchanged) == (0, 2)


def test_what_cannot_be_logged(rb: Rubricate, store: Store, tmp_path: Path) -> None:
    connector.import_mlflow(rb, experiment=EXPERIMENT, judge="tone", tracking_uri=store.uri)
    with pytest.raises(InvalidInput, match="version 1 of 'tone' is the imported one"):
        connector.log_scores(rb, EVALUATION, "tone", tracking_uri=store.uri)
    rb.metrics.create("fresh", prompt=PROMPT, scale=Scale(min=1, max=5))
    with pytest.raises(NotFound, match="holds no judge scores of 'fresh' version 1"):
        connector.log_scores(rb, EVALUATION, "fresh", tracking_uri=store.uri)
    evaluate(rb, "fresh", {"skip": 4, "Refund": 3})
    with pytest.raises(InvalidInput, match="no MLflow store at"):
        connector.log_scores(rb, EVALUATION, "fresh",
                             tracking_uri=f"sqlite:///{tmp_path / 'typo.db'}")  # fmt: skip
    assert not (tmp_path / "typo.db").exists()
    with pytest.raises(InvalidInput, match="assessment name must not be empty"):
        connector.log_scores(rb, EVALUATION, "fresh", tracking_uri=store.uri, assessment_name=" ")


def test_the_command(database_url: str, rb: Rubricate, rows: Store) -> None:
    rb.metrics.create("tone", prompt=PROMPT, scale=Scale(min=1, max=5))
    evaluate(rb, "tone", {"skip": 5, "Refund": 2, "parcel": 3, "Hello": 4})
    run = Cli(database_url, {"MLFLOW_TRACKING_URI": rows.uri})
    where = f"as 'tone' feedback on MLflow traces at {rows.uri}"
    dry = run.ok("export", "mlflow", "tone", "--scores", EVALUATION, "--dry-run").stdout
    assert dry.splitlines() == [
        f"Dry run, nothing logged. Would log 2 judge scores of tone version 1 in {EVALUATION} "
        f"{where}; 0 unchanged.",
        "  skipped 1 row that did not come from an MLflow trace",
        "  skipped 1 row whose trace this MLflow does not have",
    ]
    assert ours(rows, rows.ids["skip"]) == []
    said = run.ok("export", "mlflow", "tone", "--version", "1", "--scores", EVALUATION).stdout
    assert said.startswith(f"Logged 2 judge scores of tone version 1 in {EVALUATION} {where}; "
                           "0 unchanged.\n")  # fmt: skip
    found = json.loads(run.ok("export", "mlflow", "tone", "--scores", EVALUATION, "--json").stdout)
    assert (found["logged"], found["unchanged"], found["traces_missing"]) == (0, 2, 1)
    wrong = run.fails("export", "mlflow", "tone", "--scores", EVALUATION, "--alias", "staging")
    assert "--alias" in wrong and "--scores logs judge scores only" in wrong
    assert "is for --scores" in run.fails("export", "mlflow", "tone", "--dry-run")
    assert "mlflow" not in loaded_modules(database_url, "export", "mlflow", "--help")
