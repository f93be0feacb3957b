"""A real MLflow tracking store (SQLite backend) filled through MLflow's own API: traced
functions with a retriever span, reviewers' and a judge's feedback, an expectation. Built
once per session (MLflow's migrations take a second or two) and copied for each test."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# no telemetry (no network) and traces written before the call returns
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"

mlflow = pytest.importorskip("mlflow", reason="needs the rubricate[mlflow] extra (mlflow-skinny)")

EXPERIMENT = "support-bot"
URI_VARIABLE = "MLFLOW_TRACKING_URI"


@dataclass
class Store:
    uri: str
    ids: dict[str, str]

    def __enter__(self) -> Store:
        # through the variable, as users set it: set_tracking_uri would pin it process-wide
        self._old = os.environ.get(URI_VARIABLE)
        os.environ[URI_VARIABLE] = self.uri
        return self

    def __exit__(self, *exc: object) -> None:
        if self._old is None:
            os.environ.pop(URI_VARIABLE, None)
        else:
            os.environ[URI_VARIABLE] = self._old


def _human(who: str) -> Any:
    from mlflow.entities import AssessmentSource, AssessmentSourceType

    return AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id=who)


def _judge(model: str) -> Any:
    from mlflow.entities import AssessmentSource, AssessmentSourceType

    return AssessmentSource(source_type=AssessmentSourceType.LLM_JUDGE, source_id=model)


def _trace(question: str, answer: str | None, documents: list[str] | None = None) -> str:
    @mlflow.trace(name="support_answer")
    def support_answer(question: str) -> str | None:
        if documents is not None:
            with mlflow.start_span(name="search_help", span_type="RETRIEVER") as span:
                span.set_inputs({"query": question})
                span.set_outputs([{"page_content": d, "metadata": {}} for d in documents])
        return answer

    support_answer(question)
    trace_id = mlflow.get_last_active_trace_id()
    assert trace_id is not None
    return str(trace_id)


def build(folder: Path) -> Store:
    """Three traces (the last one without an output), feedback 'tone' by two reviewers and
    a judge, an expectation, feedback of another name, and code feedback."""
    store = Store(f"sqlite:///{folder / 'mlflow.db'}", {})
    with store:
        client = mlflow.MlflowClient()
        experiment_id = client.create_experiment(
            EXPERIMENT, artifact_location=(folder / "artifacts").as_uri()
        )
        mlflow.set_experiment(experiment_id=experiment_id)
        ids = store.ids
        ids["experiment"] = experiment_id
        ids["skip"] = _trace(
            "Can I skip a week?",
            "Yes: Settings, Deliveries, Skip.",
            ["Skipping: open Settings, then Deliveries."],
        )
        ids["refund"] = _trace("Refund?", "No refunds after 30 days.")
        ids["silent"] = _trace("Hello?", None)
        ids["ana_skip"] = mlflow.log_feedback(
            trace_id=ids["skip"], name="tone", value=4, rationale="warm", source=_human("ana")
        ).assessment_id
        mlflow.log_feedback(trace_id=ids["skip"], name="tone", value=5, source=_human("bob"))
        mlflow.log_feedback(
            trace_id=ids["refund"], name="tone", value=2, rationale="curt", source=_human("ana")
        )
        mlflow.log_feedback(trace_id=ids["silent"], name="tone", value=3, source=_human("ana"))
        ids["judge_skip"] = mlflow.log_feedback(
            trace_id=ids["skip"],
            name="tone",
            value=4,
            rationale="friendly",
            source=_judge("openai:/gpt-4o-mini"),
        ).assessment_id
        mlflow.log_feedback(
            trace_id=ids["refund"], name="tone", value=1, source=_judge("openai:/gpt-4o-mini")
        )
        from mlflow.entities import AssessmentSource, AssessmentSourceType

        code = AssessmentSource(source_type=AssessmentSourceType.CODE, source_id="length")
        mlflow.log_feedback(trace_id=ids["refund"], name="tone", value=3, source=code)
        mlflow.log_feedback(trace_id=ids["refund"], name="other", value=1, source=_human("ana"))
        mlflow.log_expectation(
            trace_id=ids["skip"],
            name="expected_response",
            value="Yes, under Settings > Deliveries.",
            source=_human("ana"),
        )
    return store


def copy(template: Store, folder: Path) -> Store:
    shutil.copy(template.uri.removeprefix("sqlite:///"), folder / "mlflow.db")
    return Store(f"sqlite:///{folder / 'mlflow.db'}", dict(template.ids))


def store_fixtures(build: Callable[[Path], Store], folder: str) -> tuple[Any, Any]:
    """A test module's two fixtures, ``template, store = store_fixtures(build, folder)``:
    ``template``, the store ``build`` fills, once per session in a folder named ``folder``;
    ``store``, a copy of it for each test, the tracking URI pointed at it meanwhile."""

    @pytest.fixture(scope="session", name="template")
    def template(tmp_path_factory: pytest.TempPathFactory) -> Store:
        return build(tmp_path_factory.mktemp(folder))

    @pytest.fixture(name="store")
    def store(template: Store, tmp_path: Path) -> Iterator[Store]:
        with copy(template, tmp_path) as found:
            yield found

    return template, store
