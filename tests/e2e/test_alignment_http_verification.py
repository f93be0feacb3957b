"""Alignment runs over HTTP on writingprompts' ``relevant`` (see alignment_http_support):
verification with a judge model on held-out rows (distillation, selection and test parts,
weighted figures, the calls it makes), and the response cache for a repeated alignment."""

from __future__ import annotations

import pytest
from tests.e2e.alignment_data import LENGTH_GUIDELINE, MODEL_GUIDELINE, expected
from tests.e2e.alignment_http_support import JUDGE, MANY, Real, output_of, traces_in
from tests.e2e.alignment_http_support import data as data  # the fixtures, as pytest finds them
from tests.e2e.alignment_http_support import real as real

from rubricate.alignment.plan import SELECTION_ROWS, TEST_ROWS
from rubricate.alignment.split import Part, group_key, part_of
from rubricate.domain.alignment import AgreementFigures
from rubricate.domain.alignment_runs import RunStatus

pytestmark = pytest.mark.slow


# --- verification with a judge model ---------------------------------------------------


def figures_ok(figures: AgreementFigures | None, rows: int) -> AgreementFigures:
    assert figures is not None and figures.rows == rows
    for figure in (figures.exact, figures.within_delta, figures.mae, figures.kappa):
        assert figure.value is not None and figure.low is not None and figure.high is not None
        assert figure.low <= figure.value <= figure.high
    return figures


def test_verification_reports_test_rows_only_and_distills_from_distillation_rows(
    real: Real,
) -> None:
    seed = 7
    run = real.align(1, judge_model=JUDGE, budget=MANY, seed=seed)
    result = run.result
    assert result is not None and run.status is RunStatus.ALIGNED, run.error
    v = result.verification
    assert v.status == "verified", v.message
    want = expected(real.data, 1)
    by_external = real.data.by_external()

    def part(external: str) -> Part:
        return part_of(group_key(by_external[external].input), seed)

    usable = [r for r in real.data.rows if r.usable]
    disagreeing = want.lenient | want.harsh

    # The reflection model saw every disagreement of the distillation part, and no other row.
    seen = real.externals({row_id for row_id, _ in real.reflected()})
    assert seen == {e for e in disagreeing if part(e) is Part.DISTILL}
    for request in real.requests("fake-reflect"):
        for row_id, _ in traces_in(request):
            assert part(real.ids[row_id]) is Part.DISTILL
    assert v.distill_rows == len(seen)

    # Test rows: a seeded draw of the test part (all of it when it is small), each row
    # weighted by how many rows of the whole evaluation it stands for.
    in_part = {r.external_id for r in usable if part(r.external_id) is Part.TEST}
    verdicts = {r.external_id: r for r in v.rows}
    assert len(verdicts) == len(v.rows) == v.test_rows == min(TEST_ROWS, len(in_part)) >= 30
    assert set(verdicts) <= in_part
    assert sum(r.weight for r in v.rows) == pytest.approx(len(in_part), rel=1e-3)
    assert v.test_design in ("random", "stratified")

    # Selection rows were scored by the judge; distillation rows never were.
    rows_by_output = real.data.by_output()
    judged = [rows_by_output[output_of(r)].external_id for r in real.requests("fake-judge")]
    judged_parts = {part(e) for e in judged}
    assert judged_parts == {Part.SELECTION, Part.TEST}
    sel_usable = {r.external_id for r in usable if part(r.external_id) is Part.SELECTION}
    assert v.selection_rows == min(SELECTION_ROWS, len(sel_usable))
    assert v.selection_design == "random"

    # Both guidelines beat the current prompt; the verdicts are the fake judge's rule,
    # the current prompt scored fresh (this fake judge repeats the stored judge's rule).
    assert [g.text for g in result.guidelines] == [LENGTH_GUIDELINE, MODEL_GUIDELINE]
    assert all(g.verified for g in result.guidelines)
    chosen = result.guidelines_text()
    for external, verdict in verdicts.items():
        row = by_external[external]
        assert verdict.human == row.human
        assert verdict.before == row.judge
        assert verdict.after == row.judged_with(chosen)

    # The figures are weighted estimates for the whole evaluation.
    before = figures_ok(v.before, len(verdicts))
    after = figures_ok(v.after, len(verdicts))
    weights = [verdicts[e].weight for e in verdicts]
    rows = [by_external[e] for e in verdicts]

    def weighted(values: list[float]) -> float:
        return sum(w * x for w, x in zip(weights, values, strict=True)) / sum(weights)

    exact_before = weighted([1.0 if r.judge == r.human else 0.0 for r in rows])
    exact_after = weighted([1.0 if r.judged_with(chosen) == r.human else 0.0 for r in rows])
    mae_before = weighted([abs(r.gap()) for r in rows])
    assert before.exact.value == pytest.approx(exact_before, abs=5e-5)
    assert after.exact.value == pytest.approx(exact_after, abs=5e-5)
    assert before.mae.value == pytest.approx(mae_before, abs=5e-5)
    assert exact_after > exact_before
    assert (after.kappa.value or 0.0) > (before.kappa.value or 0.0)
    d = v.difference
    assert d is not None and d.value is not None and d.low is not None and d.high is not None
    assert d.value == pytest.approx((after.kappa.value or 0) - (before.kappa.value or 0), abs=2e-4)
    assert v.raised is (d.low > 0) and not v.test_drop

    # Proposals: the current prompt and every guideline on the selection rows; then each
    # guideline left out on the rows it acted on, and the test rows twice; none twice alike.
    assert [p.guideline_ids for p in v.proposals] == [[], [1, 2]]
    assert {d.guideline_id: d.outcome for d in v.decisions} == {1: "kept", 2: "kept"}
    ablated = sum(d.rows for d in v.decisions)
    assert result.usage.judge_calls == 2 * v.selection_rows + 2 * v.test_rows + ablated
    assert result.usage.judge_calls <= v.planned_calls
    assert real.fake.duplicate_requests == 0
    # The usage the run reports is what the server saw.
    assert result.usage.reflection_calls == len(real.requests("fake-reflect"))
    assert result.usage.judge_calls == len(real.requests("fake-judge"))
    assert real.fake.requests_total == result.usage.calls


# --- the response cache ------------------------------------------------------------------


def test_a_repeated_alignment_is_answered_from_the_cache(real: Real) -> None:
    """Reflection is answered from the cache; verification's judge calls never are (a
    stored answer would not be a fresh score), so they are asked again."""
    first = real.align(2, judge_model=JUDGE, budget=MANY, cache=True)
    assert first.result is not None and first.status is RunStatus.ALIGNED
    assert first.result.verification.status == "verified", first.result.verification.message
    calls = real.fake.requests_total
    usage = first.result.usage
    assert calls == usage.calls > 0
    # The only repeats are within the run (leaving out the only guideline asks the
    # current prompt again): the run's journal answers them, not the server.
    assert real.fake.duplicate_requests == 0

    second = real.align(2, judge_model=JUDGE, budget=MANY, cache=True)
    assert second.id != first.id and second.result is not None
    again = second.result.usage
    assert again.reflection_calls == 0 and again.judge_calls == usage.judge_calls
    assert again.cache_hits == usage.cache_hits + usage.reflection_calls
    assert real.fake.requests_total == calls + usage.judge_calls
    assert second.result.guidelines == first.result.guidelines
    assert second.result.verification.rows == first.result.verification.rows
    assert second.result.verification.after == first.result.verification.after

    # Without the cache the same alignment is asked again, reflection too.
    third = real.align(2, judge_model=JUDGE, budget=MANY, cache=False)
    assert third.result is not None
    assert real.fake.requests_total == 2 * calls + usage.judge_calls
