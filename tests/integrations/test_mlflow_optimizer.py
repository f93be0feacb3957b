"""rubricate as MLflow's alignment optimizer: ``judge.align(traces, optimizer=
RubricateOptimizer(...))`` on traces from a real MLflow store (SQLite backend), with fake
models in this process: the judge comes back with the verified guideline, the run stays in
the workspace; offline, it warns that the guidelines are unverified; bad input is refused
and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from tests.integrations.mlflow_align_support import (
    GUIDELINE,
    INSTRUCTIONS,
    JUDGE,
    TRACES,
    build,
    log_answer,
    models,
    traces,
)
from tests.integrations.mlflow_support import Store, mlflow, store_fixtures

from rubricate import Rubricate
from rubricate.domain.errors import InvalidInput, NotFound, Unavailable
from rubricate.domain.scale import Scale
from rubricate.integrations import mlflow as connector
from rubricate.integrations._mlflow_judge import rubricate_prompt
from rubricate.integrations._mlflow_optimizer import AlignmentWarning
from rubricate.scoring import render_prompt
from rubricate.scoring.guidelines import guideline_items

pytest.importorskip("pandas", reason="make_judge needs pandas (the rubricate[mlflow] extra)")
from mlflow.genai.judges import make_judge
from mlflow.genai.judges.base import Judge
from mlflow.genai.judges.instructions_judge import InstructionsJudge

pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")
MODEL = "openai:/gpt-4o-mini"
SECTION = "## Guidelines from your team's reviewers"

template, store = store_fixtures(build, "mlflow-align")


def clarity(instructions: str = INSTRUCTIONS, name: str = JUDGE) -> Judge:
    return make_judge(name=name, instructions=instructions, model=MODEL,
                      feedback_value_type=int, description="Clear and to the point.")  # fmt: skip


def optimizer(database_url: str, **options: Any) -> Any:
    return connector.RubricateOptimizer(database_url=database_url, **options)


def test_align_returns_the_judge_with_the_verified_guideline(
    store: Store, database_url: str, rb: Rubricate
) -> None:
    chosen = optimizer(database_url, reflection_lm="fake:reflect", judge_model="fake:judge",
                       delta=1, seed=3)  # fmt: skip
    with models() as (reflecting, judging):
        aligned = clarity().align(traces(store), optimizer=chosen)
    assert reflecting.calls and judging.calls

    assert isinstance(aligned, Judge) and isinstance(aligned, InstructionsJudge)
    assert (aligned.name, aligned.model, aligned.feedback_value_type) == (JUDGE, MODEL, int)
    assert aligned.description == "Clear and to the point."
    text = aligned.instructions
    assert text.startswith(INSTRUCTIONS) and f"{SECTION}\n" in text
    assert text.rstrip().endswith(f"1. {GUIDELINE}")
    assert set(aligned.template_variables) == {"inputs", "outputs", "expectations"}

    run = rb.alignment_runs.get(chosen.last_run_id)
    assert run.result is not None and run.evaluations == (chosen.last_evaluation,)
    check = run.result.verification
    assert check.status == "verified", check.message
    assert check.test_rows >= 30 and check.before is not None and check.after is not None
    assert check.difference is not None and (check.difference.value or 0) > 0
    active = rb.metrics.version(JUDGE)  # the accepted run is the metric's active version
    assert run.accepted_version_id == active.id and active.number == 2
    assert guideline_items(active.guidelines) == [GUIDELINE]
    first = rb.metrics.version(f"{JUDGE}@1")  # the judge as given, in rubricate's variables
    assert "{{ output }}" in first.prompt and "{{ input }}" in first.prompt
    assert "{{ expected }}" in first.prompt and "outputs" not in first.prompt
    assert first.scale.type == "ordinal" and (first.scale.min, first.scale.max) == (1, 5)
    rows = rb.evaluations.rows(run.evaluations[0], limit=100)
    assert len(rows) == TRACES
    judged = rb.evaluation_reads.judge_results(run.evaluations[0], limit=1).items
    assert judged[0].judge_model == MODEL  # the traces' own judge feedback, not rescored


def test_offline_alignment_warns_that_its_guidelines_are_unverified(
    store: Store, database_url: str, rb: Rubricate
) -> None:
    chosen = optimizer(database_url)
    with pytest.warns(AlignmentWarning, match=r"unverified guidelines \(No judge model was given"):
        aligned = clarity().align(traces(store), optimizer=chosen)
    run = rb.alignment_runs.get(chosen.last_run_id)
    assert run.params.reflection_lm == "builtin:offline" and run.params.judge_model is None
    assert run.result is not None and run.result.verification.status == "not run"
    active = rb.metrics.version(JUDGE)
    assert run.accepted_version_id == active.id
    kept = guideline_items(active.guidelines)
    assert kept and all(g in aligned.instructions for g in kept)

    # Aligned again: its guidelines section is read back as the version's guidelines, so
    # the judge is the active version already (no version of its own); the run starts
    # from it, keeps its guidelines and adds what it finds.
    again = optimizer(database_url)
    with pytest.warns(AlignmentWarning, match="unverified guidelines"):
        twice = aligned.align(traces(store), optimizer=again)
    assert again.last_run_id != chosen.last_run_id
    assert twice.instructions.startswith(aligned.instructions.rstrip())
    origins = [v.origin.value for v in rb.metrics.versions(JUDGE)]
    assert origins == ["import", "alignment", "alignment"]
    second = rb.alignment_runs.get(again.last_run_id)
    assert second.base_version_id == active.id


def _only(store: Store, **feedback: bool) -> list[Any]:
    """Two new traces with only the feedback named (human, judged)."""
    with store:
        mlflow.set_experiment(experiment_id=store.ids["experiment"])
        ids = [log_answer(TRACES + k, **feedback) for k in range(2)]
    return traces(store, ids)


def _nothing_written(rb: Rubricate) -> None:
    assert rb.evaluations.list() == []
    with pytest.raises(NotFound):
        rb.metrics.get(JUDGE)


def test_traces_without_reviewers_feedback_are_refused_and_nothing_is_written(
    store: Store, database_url: str, rb: Rubricate
) -> None:
    given = _only(store, human=False)
    assert len(given) == 2
    chosen = optimizer(database_url, judge_model="fake:judge")
    refusal = r"none of the 2 traces has a reviewer's feedback named 'clarity' \(source HUMAN"
    with pytest.raises(InvalidInput, match=refusal) as refused:
        clarity().align(given, optimizer=chosen)
    assert refused.value.field == "traces" and chosen.last_run_id is None
    _nothing_written(rb)


def test_other_bad_input_is_refused_with_what_to_do(
    store: Store, database_url: str, rb: Rubricate
) -> None:
    given = traces(store)
    with pytest.raises(InvalidInput, match=r"feedback named 'tone'.* they have are clarity"):
        clarity(name="tone").align(given, optimizer=optimizer(database_url))
    trace_judge = clarity("Is the {{ trace }} sound?")
    with pytest.raises(InvalidInput, match=r"a judge of \{\{ trace \}\} explores"):
        trace_judge.align(given, optimizer=optimizer(database_url))
    unjudged = _only(store, judged=False)
    with pytest.raises(InvalidInput, match=r"none of the judge's own feedback.*judge_model"):
        clarity().align(unjudged, optimizer=optimizer(database_url))
    with pytest.raises(InvalidInput, match=r"not a valid metric name.*metric="):
        clarity(name="clarity check").align(given, optimizer=optimizer(database_url))
    with pytest.raises(InvalidInput, match="delta threshold must be above 0 and at most 4"):
        clarity().align(given, optimizer=optimizer(database_url, delta=5))
    with pytest.raises(Unavailable, match="set OPENAI_API_KEY"):  # MLflow's way of naming it
        clarity().align(given, optimizer=optimizer(database_url, judge_model="openai:/gpt-4.1"))
    _nothing_written(rb)
    labels = Scale(type="labels", labels={0: "fail", 1: "pass"})
    rb.metrics.create(JUDGE, scale=labels, prompt="Is {{ output }} clear?")
    with pytest.raises(InvalidInput, match=r"has the scale fail/pass .* on 1–5: .*metric="):
        clarity().align(given, optimizer=optimizer(database_url))
    assert rb.evaluations.list() == [] and len(rb.metrics.versions(JUDGE)) == 1


def test_without_the_judges_feedback_the_judge_model_scores_the_rows(
    store: Store, database_url: str, rb: Rubricate
) -> None:
    given = _only(store, judged=False)
    chosen = optimizer(database_url, reflection_lm="fake:reflect", judge_model="fake:judge")
    with models() as (_, judging), pytest.warns(AlignmentWarning, match="unchanged"):
        aligned = clarity().align(given, optimizer=chosen)
    assert len(judging.calls) >= 2 and aligned.instructions == INSTRUCTIONS
    scored = rb.evaluation_reads.judge_results(chosen.last_evaluation, limit=10).items
    assert sorted((j.judge_model, j.score) for j in scored) == [
        ("fake:judge", 2.0),
        ("fake:judge", 3.0),
    ]


def test_the_judges_instructions_become_a_prompt_that_keeps_its_other_braces() -> None:
    text = "Is {{inputs}} answered by {{ outputs }}? Keep {% raw %}, {# this #} and { as text."
    prompt = rubricate_prompt(text)
    assert prompt.startswith("Is {{ input }} answered by {{ output }}?")
    rendered = render_prompt(prompt, input="q", output="a", scale=Scale(min=1, max=5))
    assert "Is [INPUT] answered by [OUTPUT]? Keep {% raw %}, {# this #} and { as text." in (
        rendered.system
    )
