"""Evaluation runs through the Python API, with the in-process fake judge: what each
result records, cost, the cache, versions kept apart, idempotent start, cancel, and the
evaluation's completed state."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from rubricate import Rubricate
from rubricate.demo import EVALUATION
from rubricate.domain.errors import Conflict, InvalidInput, NotFound, Unavailable
from rubricate.domain.evaluation_runs import EvaluationRunStatus
from rubricate.models import fake
from rubricate.store.tables import JudgeResultRecord

METRIC = "answer_helpfulness"


@pytest.fixture
def judge() -> Iterator[fake.FakeModel]:
    def respond(call: fake.FakeCall) -> fake.FakeReply:
        if "refund" in call.user.lower():
            return {"score": "Excellent?", "rationale": "odd label"}
        return {"score": (len(call.user) % 5) + 1, "rationale": "by length"}

    with fake.registered("judge", respond) as model:
        yield model


def results(rb: Rubricate, run_id: str) -> list[JudgeResultRecord]:
    with rb.db.read() as session:
        query = select(JudgeResultRecord).where(JudgeResultRecord.evaluation_run_id == run_id)
        return list(session.scalars(query))


def test_every_row_is_scored_and_recorded(demo: Rubricate, judge: fake.FakeModel) -> None:
    run = demo.evaluate(metric=METRIC, evaluation=EVALUATION, model="fake:judge", seed=11)
    assert run.status is EvaluationRunStatus.COMPLETED
    stored = results(demo, run.id)
    assert len(stored) == run.rows_total == 48 == len(judge.calls)
    version = demo.metrics.version(METRIC)
    for result in stored:
        assert result.metric_version_id == version.id
        assert result.judge_model == "fake:judge"
        assert result.temperature == 0.0 and result.seed == 11
        assert result.raw_output and result.latency_ms is not None
        assert result.input_tokens and result.output_tokens
        assert result.cost_usd is None  # the fake has no price
        assert (result.score is None) == (result.error is not None)
    odd = [r for r in stored if r.error]
    assert odd and all("unknown label 'Excellent?'" in r.error for r in odd)  # type: ignore[operator]
    assert all("Excellent?" in r.raw_output for r in odd)  # type: ignore[operator]
    assert run.rows_failed == len(odd)
    assert run.cost_usd is None  # unknown, never 0
    assert run.calls == 48 and run.input_tokens == sum(r.input_tokens or 0 for r in stored)


def test_the_second_run_is_served_by_the_cache(demo: Rubricate, judge: fake.FakeModel) -> None:
    first = demo.evaluate(metric=METRIC, evaluation=EVALUATION, model="fake:judge")
    second = demo.evaluate(metric=METRIC, evaluation=EVALUATION, model="fake:judge")
    assert len(judge.calls) == 48
    assert second.calls == 0 and second.cache_hits == 48
    assert [r.score for r in results(demo, first.id)] == [r.score for r in results(demo, second.id)]
    assert all(r.cached for r in results(demo, second.id))
    third = demo.evaluate(metric=METRIC, evaluation=EVALUATION, model="fake:judge", cache=False)
    assert third.calls == 48 and len(judge.calls) == 96


def test_a_newer_version_keeps_the_old_results(demo: Rubricate, judge: fake.FakeModel) -> None:
    old = demo.evaluate(metric=METRIC, evaluation=EVALUATION, model="fake:judge")
    v1 = demo.metrics.version(METRIC)
    v2 = demo.metrics.add_version(METRIC, prompt=v1.prompt, guidelines="- Reward citations.")
    new = demo.evaluate(metric=f"{METRIC}@{v2.number}", evaluation=EVALUATION, model="fake:judge")
    assert {r.metric_version_id for r in results(demo, old.id)} == {v1.id}
    assert {r.metric_version_id for r in results(demo, new.id)} == {v2.id}
    assert len(judge.calls) == 96  # the guidelines changed the prompt: no cache hit
    assert "Reward citations." in judge.calls[-1].system


def test_a_start_with_the_same_run_id_makes_one_run(demo: Rubricate, judge: fake.FakeModel) -> None:
    runs = demo.evaluation_runs
    first = runs.start(metric=METRIC, evaluation=EVALUATION, model="fake:judge", run_id="r-1")
    again = runs.start(metric=METRIC, evaluation=EVALUATION, model="fake:judge", run_id="r-1")
    assert first.id == again.id == "r-1"
    assert len(runs.list(EVALUATION)) == 1
    with pytest.raises(Conflict, match="other parameters"):
        runs.start(metric=METRIC, evaluation=EVALUATION, model="fake:judge", seed=5, run_id="r-1")


def test_a_pending_run_leaves_the_evaluation_not_completed(
    demo: Rubricate, judge: fake.FakeModel
) -> None:
    run = demo.evaluation_runs.start(metric=METRIC, evaluation=EVALUATION, model="fake:judge")
    assert not demo.evaluations.get(EVALUATION).completed
    assert demo.evaluations.get(EVALUATION).scoring_in_progress == 1
    demo.evaluation_runs.run(run.id)
    assert demo.evaluations.get(EVALUATION).completed


def test_cancel_stops_a_run_and_is_idempotent(demo: Rubricate, judge: fake.FakeModel) -> None:
    runs = demo.evaluation_runs
    run = runs.start(metric=METRIC, evaluation=EVALUATION, model="fake:judge")
    assert runs.cancel(run.id).status is EvaluationRunStatus.CANCELLED
    assert runs.cancel(run.id).status is EvaluationRunStatus.CANCELLED
    assert runs.run(run.id).status is EvaluationRunStatus.CANCELLED
    assert judge.calls == []
    done = demo.evaluate(metric=METRIC, evaluation=EVALUATION, model="fake:judge")
    assert runs.cancel(done.id).status is EvaluationRunStatus.COMPLETED


def test_bad_parameters_change_nothing(demo: Rubricate, judge: fake.FakeModel) -> None:
    runs = demo.evaluation_runs
    with pytest.raises(NotFound, match="no metric named 'nope'"):
        runs.start(metric="nope", evaluation=EVALUATION, model="fake:judge")
    with pytest.raises(NotFound, match="no evaluation named"):
        runs.start(metric=METRIC, evaluation="nope", model="fake:judge")
    with pytest.raises(InvalidInput, match="provider:model") as error:
        runs.start(metric=METRIC, evaluation=EVALUATION, model="judge")
    assert error.value.field == "model"
    with pytest.raises(InvalidInput, match="temperature"):
        runs.start(metric=METRIC, evaluation=EVALUATION, model="fake:judge", temperature=3)
    with pytest.raises(InvalidInput, match="no judge model"):
        runs.start(metric=METRIC, evaluation=EVALUATION)
    with pytest.raises(Unavailable, match="OPENAI_API_KEY"):
        runs.start(metric=METRIC, evaluation=EVALUATION, model="openai:gpt-4.1-mini")
    assert runs.list() == []


def test_a_fatal_error_ends_the_run_in_error(demo: Rubricate) -> None:
    from pydantic_ai.exceptions import ModelHTTPError

    refusing = fake.registered("refusing", lambda _: ModelHTTPError(401, "fake", "bad key"))
    with refusing as model, pytest.raises(Unavailable, match="refused the key"):
        demo.evaluate(metric=METRIC, evaluation=EVALUATION, model="fake:refusing")
    (run,) = demo.evaluation_runs.list()
    assert run.status is EvaluationRunStatus.ERROR
    assert run.error is not None and "refused the key" in run.error
    assert len(model.calls) <= 8  # one batch in flight at most, not one call per row
    assert demo.evaluations.get(EVALUATION).completed


def test_the_estimate_calls_no_model_and_knows_prices(
    demo: Rubricate, judge: fake.FakeModel
) -> None:
    runs = demo.evaluation_runs
    priced = runs.estimate(metric=METRIC, evaluation=EVALUATION, model="openai:gpt-4.1-mini")
    assert priced.rows == 48 and priced.input_tokens > 48 * 100
    assert priced.cost_usd is not None and priced.cost_usd > 0
    unknown = runs.estimate(metric=METRIC, evaluation=EVALUATION, model="fake:judge")
    assert unknown.cost_usd is None
    assert judge.calls == []


def test_a_repeated_start_after_a_new_version_is_the_same_run(
    demo: Rubricate, judge: fake.FakeModel
) -> None:
    runs = demo.evaluation_runs
    first = runs.start(metric=METRIC, evaluation=EVALUATION, model="fake:judge", run_id="r-2")
    v1 = demo.metrics.version(METRIC)
    demo.metrics.add_version(METRIC, prompt=v1.prompt, guidelines="- New.")
    again = runs.start(metric=METRIC, evaluation=EVALUATION, model="fake:judge", run_id="r-2")
    assert again.id == first.id and again.metric_version_id == v1.id
    assert len(runs.list(EVALUATION)) == 1
