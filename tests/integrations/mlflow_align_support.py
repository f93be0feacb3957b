"""Traces for ``judge.align``: a real MLflow tracking store (SQLite backend) filled through
MLflow's own API with answers, a reviewer's ``clarity`` feedback on each and the judge's.
The judge is too lenient on long answers, which the reviewers' comments name; fake models
that read only the request text: a reflection model that proposes the length guideline and
a judge that applies it when its instructions hold it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from tests.alignment.alignment_support import lenient_rows
from tests.integrations.mlflow_support import Store, mlflow

from rubricate.models import fake
from rubricate.testing import mlflow_answers
from rubricate.testing.mlflow_answers import GUIDELINE, human_score, judge_score

JUDGE = "clarity"
TRACES = 60
ANSWER = re.compile(r"Answer (\d+)\.")
INSTRUCTIONS = (
    "Rate how clear and to the point the answer in {{ outputs }} is for the question in "
    "{{ inputs }}, from 1 (muddled) to 5 (crisp). A reference, when there is one: "
    "{{ expectations }}."
)


def log_answer(i: int, *, human: bool = True, judged: bool = True) -> str:
    """Answer ``i`` traced, with the reviewer's and the judge's ``clarity`` feedback."""
    return mlflow_answers.log_answer(i, JUDGE, human=human, judged=judged)


def build(folder: Path, traces: int = TRACES) -> Store:
    """``traces`` answers, each with a reviewer's feedback and the judge's."""
    store = Store(f"sqlite:///{folder / 'mlflow.db'}", {})
    with store:
        client = mlflow.MlflowClient()
        experiment_id = client.create_experiment(
            "support-bot", artifact_location=(folder / "artifacts").as_uri()
        )
        mlflow.set_experiment(experiment_id=experiment_id)
        store.ids["experiment"] = experiment_id
        for i in range(traces):
            log_answer(i)
    return store


def traces(store: Store, ids: list[str] | None = None) -> list[Any]:
    """The store's traces (those of ``ids`` only, when given), as users pass them to
    ``judge.align``."""
    found = mlflow.search_traces(locations=[store.ids["experiment"]], return_type="list",
                                 max_results=1000)  # fmt: skip
    return [t for t in found if ids is None or t.info.trace_id in ids]


def reflect(call: fake.FakeCall) -> fake.FakeReply:
    """Proposes the length guideline for the rows shown too leniently judged."""
    rows = lenient_rows(call.user)
    return {"guidelines": [{"text": GUIDELINE, "direction": "too_lenient", "row_ids": rows}]}


def judge(call: fake.FakeCall) -> fake.FakeReply:
    """Scores like the stored judge, unless its instructions hold the length guideline."""
    found = ANSWER.search(call.user)
    assert found is not None, call.user
    i = int(found.group(1))
    return {"score": human_score(i) if GUIDELINE in call.system else judge_score(i),
            "rationale": "fake"}  # fmt: skip


@contextmanager
def models() -> Iterator[tuple[fake.FakeModel, fake.FakeModel]]:
    """``fake:reflect`` and ``fake:judge``, registered in this process."""
    with ExitStack() as stack:
        reflecting = stack.enter_context(fake.registered("reflect", reflect))
        judging = stack.enter_context(fake.registered("judge", judge))
        yield reflecting, judging
