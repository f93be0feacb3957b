"""Two versions of a metric side by side on one evaluation (hand-built judge results): the
figures are the evaluation page's, on the rows both versions scored; the version that
agrees better with the resolved human scores shows higher figures; and the evaluation run
that re-scores takes a budget cap."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.service.comparison_support import METRIC, V2_OFF, V2_ROWS, add_v2_results

from rubricate import Rubricate
from rubricate.alignment.figures import agreement
from rubricate.demo import EVALUATION
from rubricate.domain.errors import InvalidInput, NotFound
from rubricate.domain.evaluation_runs import EvaluationRunStatus
from rubricate.models import fake


def test_the_version_that_agrees_better_shows_higher_figures_on_the_same_rows(
    demo: Rubricate,
) -> None:
    v1_points = demo.evaluation_reads.points(EVALUATION, METRIC)  # the page's, before v2
    v2 = add_v2_results(demo)
    found = demo.version_comparison.compare(METRIC, EVALUATION, 1, v2)
    # v1 scored all 48 rows (46 with a human score); v2 the first 40 (a failed call beside)
    assert (found.a.scored, found.a.with_human) == (48, len(v1_points)) == (48, 46)
    assert found.b.scored == V2_ROWS and found.b.with_human <= V2_ROWS
    assert found.rows == found.b.with_human == found.a.figures.rows == found.b.figures.rows
    assert 0 < found.rows < len(v1_points)
    # v2 is off by one on V2_OFF rows only: exact agreement is the rest
    exact_b = found.b.figures.exact.value
    assert exact_b is not None and exact_b == pytest.approx(1 - V2_OFF / found.rows, abs=1e-4)
    for figure in ("exact", "within_delta", "kappa", "spearman"):
        a = getattr(found.a.figures, figure).value
        b = getattr(found.b.figures, figure).value
        assert a is not None and b is not None and b > a, figure
    assert found.b.figures.mae.value < found.a.figures.mae.value  # type: ignore[operator]
    difference = found.kappa_difference
    assert difference.value is not None and difference.value > 0
    assert difference.low is not None and difference.low > 0  # clearly better, paired
    assert not found.scale_changed and found.delta == 1.0


def test_side_a_is_the_evaluation_pages_figures_on_the_shared_rows(demo: Rubricate) -> None:
    v1_points = demo.evaluation_reads.points(EVALUATION, METRIC)  # the page's, before v2
    v2 = add_v2_results(demo)
    found = demo.version_comparison.compare(METRIC, EVALUATION, 1, v2, intervals=False)
    v2_rows = {p.row for p in demo.evaluation_reads.points(EVALUATION, METRIC)}  # v2's now
    shared = [p for p in v1_points if p.row in v2_rows]
    expected = agreement(
        [p.judge for p in shared],
        [p.human for p in shared],
        [p.row for p in shared],
        scale=demo.metrics.version(f"{METRIC}@1").scale,
        delta=1.0,
        seed=0,
        intervals=False,
    )
    assert found.a.figures == expected and found.rows == len(shared)
    swapped = demo.version_comparison.compare(METRIC, EVALUATION, v2, 1, intervals=False)
    assert swapped.a.figures == found.b.figures and swapped.b.figures == found.a.figures


def test_scored_versions_and_refusals(demo: Rubricate) -> None:
    v2 = add_v2_results(demo)
    scored = demo.version_comparison.scored_versions(METRIC, EVALUATION)
    assert [(v.number, v.rows) for v in scored] == [(1, 48), (v2, V2_ROWS)]
    with pytest.raises(InvalidInput, match="two different versions"):
        demo.version_comparison.compare(METRIC, EVALUATION, 1, 1)
    with pytest.raises(NotFound, match="no version 9"):
        demo.version_comparison.compare(METRIC, EVALUATION, 1, 9)
    with pytest.raises(NotFound, match="no evaluation"):
        demo.version_comparison.compare(METRIC, "nope", 1, v2)


def test_a_version_never_scored_compares_on_no_rows(demo: Rubricate) -> None:
    v1 = demo.metrics.version(f"{METRIC}@1")
    v2 = demo.metrics.add_version(METRIC, prompt=v1.prompt, guidelines="- x")
    found = demo.version_comparison.compare(METRIC, EVALUATION, 1, v2.number)
    assert found.rows == 0 and found.b.scored == 0 and found.a.scored == 48
    assert found.a.figures.exact.value is None and found.kappa_difference.value is None


# -- re-scoring: the evaluation run, with its estimate and a budget cap --------------------


@pytest.fixture
def judge() -> Iterator[fake.FakeModel]:
    with fake.registered("judge", lambda call: {"score": 3, "rationale": "fine"}) as model:
        yield model


def test_the_estimate_counts_one_call_a_row(demo: Rubricate) -> None:
    estimate = demo.evaluation_runs.estimate(
        metric=f"{METRIC}@1", evaluation=EVALUATION, model="fake:judge"
    )
    assert estimate.calls == estimate.rows == 48 and estimate.input_tokens > 0


def test_a_call_cap_stops_the_run_and_keeps_what_it_scored(
    demo: Rubricate, judge: fake.FakeModel
) -> None:
    started = demo.evaluation_runs.start(
        metric=f"{METRIC}@1", evaluation=EVALUATION, model="fake:judge", max_calls=5
    )
    assert started.params["max_calls"] == 5 and "max_cost_usd" not in started.params
    with pytest.raises(Exception, match="budget of 5 model calls is used up"):
        demo.evaluation_runs.run(started.id, concurrency=1, cache=False)
    stopped = demo.evaluation_runs.get(started.id)
    assert stopped.status is EvaluationRunStatus.ERROR
    assert stopped.calls == 5 == len(judge.calls) and stopped.rows_scored == 5
    assert "budget of 5 model calls" in (stopped.error or "")
    # a retry keeps the cap: the calls already made count, so nothing more is called
    demo.evaluation_runs.retry(started.id)
    with pytest.raises(Exception, match="budget"):
        demo.evaluation_runs.run(started.id, concurrency=1, cache=False)
    assert len(judge.calls) == 5


def test_caps_are_checked_before_anything_is_written(
    demo: Rubricate, judge: fake.FakeModel
) -> None:
    with pytest.raises(InvalidInput, match="price of fake:judge is unknown"):
        demo.evaluation_runs.start(
            metric=METRIC, evaluation=EVALUATION, model="fake:judge", max_cost_usd=1.0
        )
    with pytest.raises(InvalidInput, match="max_calls must be at least 1"):
        demo.evaluation_runs.start(
            metric=METRIC, evaluation=EVALUATION, model="fake:judge", max_calls=0
        )
    assert demo.evaluation_runs.list() == []
