"""Importing from MLflow through its own client, from a real tracking store (SQLite
backend) that MLflow's own API filled: rows, annotations, judge results, the expected
answer and the context; again (idempotent); a changed assessment; a dry run; errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.integrations.conftest import annotations, by_row, judged
from tests.integrations.mlflow_support import EXPERIMENT, Store, build, mlflow, store_fixtures

from rubricate import Rubricate
from rubricate.domain.errors import InvalidInput, Unavailable
from rubricate.integrations import mlflow as connector

# MLflow's own store still asks SQLAlchemy 2.1 for a loader it deprecates
pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")
EVALUATION = f"mlflow-{EXPERIMENT}"
MODEL = "openai:/gpt-4o-mini"

template, store = store_fixtures(build, "mlflow")


def test_import_makes_rows_annotations_judge_results_and_the_metric(
    rb: Rubricate, store: Store
) -> None:
    ids = store.ids
    report = connector.import_mlflow(
        rb, experiment=EXPERIMENT, judge="tone", tracking_uri=store.uri
    )
    assert report.evaluation_created and report.metrics_created == ["tone"]
    assert (report.rows_added, report.annotations_added, report.judge_results_added) == (2, 3, 2)
    assert report.traces_read == 3
    assert report.traces_skipped == {"without an input or an output in its root span": 1}
    assert report.assessments_skipped == {
        "on a trace without an input or an output": 1,
        "from another source than HUMAN or LLM_JUDGE (code)": 1,
    }
    scale = rb.metrics.version("tone").scale  # whole numbers within 1-5
    assert scale.type == "ordinal" and (scale.min, scale.max) == (1, 5)
    rows = by_row([*rb.evaluations.rows(EVALUATION)])
    assert list(rows) == [ids["skip"], ids["refund"]]  # in the traces' order
    skip = rows[ids["skip"]]
    assert (skip.input, skip.output) == ("Can I skip a week?", "Yes: Settings, Deliveries, Skip.")
    assert skip.context == "Skipping: open Settings, then Deliveries."
    assert skip.expected == "Yes, under Settings > Deliveries."
    assert skip.metadata["mlflow"]["trace_id"] == ids["skip"]
    assert skip.metadata["mlflow"]["name"] == "support_answer"
    assert rows[ids["refund"]].context is None
    assert annotations(rb, EVALUATION) == {
        (ids["skip"], "ana"): (4.0, "warm"),
        (ids["skip"], "bob"): (5.0, None),
        (ids["refund"], "ana"): (2.0, "curt"),
    }
    assert judged(rb, EVALUATION, "rationale") == {
        (ids["skip"], MODEL): (4.0, "friendly"),
        (ids["refund"], MODEL): (1.0, None),
    }


def test_import_again_changes_nothing_and_adds_new_traces(rb: Rubricate, store: Store) -> None:
    connector.import_mlflow(rb, experiment=EXPERIMENT, judge="tone", tracking_uri=store.uri)
    again = connector.import_mlflow(
        rb, experiment=store.ids["experiment"], judge="tone", tracking_uri=store.uri
    )  # by its id
    assert not again.changed and again.rows_unchanged == 2 and not again.assessments_changed
    mlflow.set_experiment(experiment_id=store.ids["experiment"])

    @mlflow.trace
    def later(question: str) -> str:
        return "Tomorrow."

    later("When?")
    new = mlflow.get_last_active_trace_id()
    mlflow.log_feedback(trace_id=new, name="tone", value=3, source=_source("cy"))
    third = connector.import_mlflow(rb, experiment=EXPERIMENT, judge="tone", tracking_uri=store.uri)
    assert (third.rows_added, third.rows_unchanged, third.annotations_added) == (1, 2, 1)
    assert annotations(rb, EVALUATION)[(new, "cy")] == (3.0, None)


def _source(who: str) -> object:
    from mlflow.entities import AssessmentSource, AssessmentSourceType

    return AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id=who)


def test_a_changed_assessment_is_reported_not_overwritten(rb: Rubricate, store: Store) -> None:
    from mlflow.entities import Feedback

    ids = store.ids
    connector.import_mlflow(rb, experiment=EXPERIMENT, judge="tone", tracking_uri=store.uri)
    mlflow.update_assessment(
        trace_id=ids["skip"],
        assessment_id=ids["ana_skip"],
        assessment=Feedback(name="tone", value=1, rationale="warm"),
    )
    again = connector.import_mlflow(rb, experiment=EXPERIMENT, judge="tone", tracking_uri=store.uri)
    assert not again.changed
    [change] = again.assessments_changed
    assert (change.assessment_id, change.trace_id, change.kind, change.by) == (
        ids["ana_skip"],
        ids["skip"],
        "annotation",
        "ana",
    )
    assert (change.stored, change.mlflow, change.comment_changed) == (4.0, 1.0, False)
    assert annotations(rb, EVALUATION)[(ids["skip"], "ana")] == (4.0, "warm")  # kept as stored


def test_dry_run_counts_and_keeps_nothing(rb: Rubricate, store: Store) -> None:
    report = connector.import_mlflow(
        rb, experiment=EXPERIMENT, judge="tone", tracking_uri=store.uri, dry_run=True
    )
    assert report.dry_run and (report.rows_added, report.annotations_added) == (2, 3)
    assert EVALUATION not in [e.name for e in rb.evaluations.list()]
    assert "tone" not in [m.metric.name for m in rb.metrics.list()]


def test_rows_only_without_a_judge_and_paged(rb: Rubricate, store: Store) -> None:
    report = connector.import_mlflow(
        rb, experiment=EXPERIMENT, tracking_uri=store.uri, page_size=1, evaluation="bot"
    )
    assert (report.rows_added, report.annotations_added, report.metrics_created) == (2, 0, [])
    assert report.traces_read == 3
    later = connector.import_mlflow(rb, experiment=EXPERIMENT, tracking_uri=store.uri,
                                    since="2100-01-01", evaluation="bot")  # fmt: skip
    assert later.traces_read == 0 and not later.changed
    since = connector.import_mlflow(rb, experiment=EXPERIMENT, tracking_uri=store.uri,
                                    since="2000-01-01T00:00Z", evaluation="bot")  # fmt: skip
    assert since.traces_read == 3 and since.rows_unchanged == 2


def test_errors_list_what_exists(rb: Rubricate, store: Store) -> None:
    with pytest.raises(InvalidInput, match="no experiment named or numbered 'Support-bot'") as e:
        connector.import_mlflow(rb, experiment="Support-bot", tracking_uri=store.uri)
    assert "Default, support-bot" in str(e.value)
    with pytest.raises(InvalidInput, match="feedback named 'Tone'") as e:
        connector.import_mlflow(rb, experiment=EXPERIMENT, judge="Tone", tracking_uri=store.uri)
    assert "are other, tone" in str(e.value)
    with pytest.raises(InvalidInput, match="is a built-in metric"):
        connector.import_mlflow(
            rb, experiment=EXPERIMENT, judge="tone", metric="faithfulness", tracking_uri=store.uri
        )
    assert EVALUATION not in [e.name for e in rb.evaluations.list()]


def test_a_store_that_is_not_there_is_named_not_made(rb: Rubricate, tmp_path: Path) -> None:
    typo = tmp_path / "mlfow.db"
    with pytest.raises(InvalidInput, match=f"there is no MLflow store at {typo}"):
        connector.import_mlflow(rb, experiment=EXPERIMENT, tracking_uri=f"sqlite:///{typo}")
    assert not typo.exists()


def test_a_server_that_is_down_is_named(rb: Rubricate, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    uri = "http://ana:secret@127.0.0.1:9"  # nothing listens on the discard port
    with pytest.raises(Unavailable, match=r"MLflow at http://127\.0\.0\.1:9: ") as e:
        connector.import_mlflow(rb, experiment=EXPERIMENT, tracking_uri=uri)
    assert "secret" not in str(e.value)


def test_the_scale_comes_from_the_values_and_span_feedback_is_skipped(
    rb: Rubricate, store: Store
) -> None:
    from mlflow.entities import AssessmentSource, AssessmentSourceType

    mlflow.set_experiment("checks")
    judge = AssessmentSource(source_type=AssessmentSourceType.LLM_JUDGE, source_id="judge")

    @mlflow.trace
    def reply(question: str) -> str:
        with mlflow.start_span(name="tool") as span:
            span.set_inputs({"q": question})
        return "Sure."

    for question in ("One?", "Two?"):
        reply(question)
        trace_id = mlflow.get_last_active_trace_id()
        mlflow.log_feedback(trace_id=trace_id, name="safe", value=question == "One?", source=judge)
        mlflow.log_feedback(trace_id=trace_id, name="correct", value="yes", source=judge)
    child = mlflow.get_trace(trace_id).data.spans[1].span_id
    mlflow.log_feedback(trace_id=trace_id, name="safe", value=True, source=_source("ana"),
                        span_id=child)  # fmt: skip
    safe = connector.import_mlflow(rb, experiment="checks", judge="safe", evaluation="checks")
    assert safe.judge_results_added == 2 and safe.annotations_added == 0
    assert safe.assessments_skipped == {"on a span, not the whole trace": 1}
    assert rb.metrics.version("safe").scale.labels == {0.0: "False", 1.0: "True"}
    connector.import_mlflow(rb, experiment="checks", judge="correct", evaluation="checks")
    assert rb.metrics.version("correct").scale.labels == {0.0: "no", 1.0: "yes"}
