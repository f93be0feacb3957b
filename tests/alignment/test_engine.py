"""The alignment engine end to end in-process, with fake reflection and judge models:
counts, guidelines, verification on held-out rows (test rows never sway the choice), a
budget, and merging. A run's life (cancel, keys, history, refusals, preview) is in
test_engine_runs.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.alignment.alignment_support import (
    EVALUATION,
    FAKES,
    GUIDELINE,
    METRIC,
    align,
    answer_number,
    expected_disagreements,
    human_score,
    judge_score,
    load,
)
from tests.alignment.engine_support import judge as judge  # the fixtures, as pytest finds them
from tests.alignment.engine_support import reflect as reflect
from tests.alignment.engine_support import workspace as workspace

from rubricate import Rubricate
from rubricate.alignment.split import Part, group_key, part_of
from rubricate.alignment.trace_format import parse_blocks
from rubricate.domain.alignment_runs import Budget, Phase, RunStatus
from rubricate.models import fake


@pytest.mark.parametrize("delta", [1, 2, 3])
def test_counts_match_the_data_at_each_delta(workspace: Rubricate, delta: int) -> None:
    run = workspace.alignment_runs.align(metric=METRIC, evaluations=[EVALUATION], delta=delta)
    assert run.status is RunStatus.ALIGNED
    result = run.result
    assert result is not None
    assert result.disagreements == run.disagreements == expected_disagreements(120, delta)
    assert result.agreeing_skipped == 120 - result.disagreements
    assert result.rows_used == 120 and result.missing_judge == result.missing_human == 0
    assert result.low_confidence is (result.disagreements < 10)
    assert result.reviewer_alpha == 1.0  # the three reviewers always agree
    assert result.engine == "builtin:offline"


def test_rows_missing_a_judge_result_or_a_resolution_are_counted(
    rb: Rubricate, tmp_path: Path
) -> None:
    load(rb, tmp_path, rows=60, judged_until=45)
    _unresolve(rb, "r0")
    run = align(rb)
    assert run.result is not None
    assert run.result.missing_judge == 15
    assert run.result.missing_human == 1
    assert run.result.rows_used == 44
    assert run.missing_skipped == 16


def test_the_offline_engine_names_the_reviewers_phrase(workspace: Rubricate) -> None:
    run = align(workspace)
    assert run.result is not None
    (guideline, *_) = run.result.guidelines
    assert "rambles and pads the answer" in guideline.text or "long" in guideline.text.lower()
    long_lenient = {f"r{i}" for i in range(120) if judge_score(i) > human_score(i)}
    externals = _external_ids(workspace, guideline.row_ids)
    assert externals <= long_lenient and len(externals) >= 3


def test_a_reflection_lm_proposes_guidelines_with_valid_row_ids(
    workspace: Rubricate, reflect: fake.FakeModel
) -> None:
    run = align(workspace, reflection_lm="fake:reflect")
    assert run.result is not None
    assert [g.text for g in run.result.guidelines] == [GUIDELINE]
    assert len(run.result.guidelines[0].row_ids) == 32
    assert run.result.usage.reflection_calls == len(reflect.calls) >= 1
    assert run.phase is Phase.FINALIZING


def test_verification_chooses_on_selection_rows_and_reports_test_rows(
    rb: Rubricate, tmp_path: Path, reflect: fake.FakeModel, judge: fake.FakeModel
) -> None:
    load(rb, tmp_path, rows=400)
    run = align(rb, **FAKES, budget=Budget(max_calls=1000), seed=3)
    result = run.result
    assert result is not None
    v = result.verification
    questions = {f"r{i}": f"Topic {i}: how does item {i} work?" for i in range(400)}
    parts = {e: part_of(group_key(q), 3) for e, q in questions.items()}
    # The reflection model saw distillation rows only.
    seen = {block.row_id for call in reflect.calls for block in parse_blocks(call.user)}
    assert seen and {parts[e] for e in _external_ids(rb, seen)} == {Part.DISTILL}
    assert v.status == "verified", v.message
    assert v.test_rows == len(v.rows) >= 30
    assert {parts[r.external_id] for r in v.rows} == {Part.TEST}
    assert v.after is not None and v.before is not None
    assert (v.after.kappa.value or 0) > (v.before.kappa.value or 0)
    low, high = v.after.kappa.low, v.after.kappa.high
    assert low is not None and high is not None and low <= (v.after.kappa.value or 0) <= high
    assert [g.text for g in result.guidelines] == [GUIDELINE]
    assert all(r.after == human_score(int(r.external_id[1:])) for r in v.rows)
    assert v.proposals[0].guideline_ids == []  # proposal 0: the current prompt


def test_too_few_test_rows_are_reported_as_unverified(
    rb: Rubricate, tmp_path: Path, reflect: fake.FakeModel, judge: fake.FakeModel
) -> None:
    load(rb, tmp_path, rows=30)
    run = align(rb, **FAKES)
    assert run.result is not None
    assert run.result.verification.status == "unverified: too few rows"
    assert run.result.verification.test_rows < 30


def test_nothing_beating_the_current_prompt_is_said_plainly(
    workspace: Rubricate, reflect: fake.FakeModel
) -> None:
    with fake.registered("stubborn", lambda call: {"score": 1, "rationale": "always 1"}):
        run = align(workspace, reflection_lm="fake:reflect", judge_model="fake:stubborn")
    assert run.result is not None
    assert run.result.verification.status == "nothing beat the current prompt"
    assert run.result.guidelines == []
    assert [g.text for g in run.result.proposed] == [GUIDELINE]


def test_a_budget_caps_the_calls(
    workspace: Rubricate, reflect: fake.FakeModel, judge: fake.FakeModel
) -> None:
    run = align(workspace, **FAKES, budget=Budget(max_calls=5))
    assert run.result is not None
    assert run.result.verification.status == "unverified: budget exhausted"
    assert len(reflect.calls) + len(judge.calls) <= 5


def _external_ids(rb: Rubricate, row_ids: object) -> set[str]:
    from sqlalchemy import select

    from rubricate.store.tables import RowRecord

    with rb.db.read() as session:
        query = select(RowRecord.external_id).where(RowRecord.id.in_(list(row_ids)))  # type: ignore[call-overload]
        return set(session.scalars(query))


def _unresolve(rb: Rubricate, external_id: str) -> None:
    from sqlalchemy import delete, select

    from rubricate.store.tables import ResolutionRecord, RowRecord

    row = select(RowRecord.id).where(RowRecord.external_id == external_id).scalar_subquery()
    with rb.db.write() as session:
        session.execute(delete(ResolutionRecord).where(ResolutionRecord.row_id == row))


def test_test_rows_never_influence_the_choice(
    rb: Rubricate, tmp_path: Path, reflect: fake.FakeModel
) -> None:
    """Two judges that differ on test rows only choose the same proposal."""
    load(rb, tmp_path, rows=400)
    test_rows = {
        i
        for i in range(400)
        if part_of(group_key(f"Topic {i}: how does item {i} work?"), 5) is Part.TEST
    }

    def judge_with(spoil_test_rows: bool) -> fake.Responder:
        def respond(call: fake.FakeCall) -> fake.FakeReply:
            i = answer_number(call)
            fixed = GUIDELINE in call.system
            score = human_score(i) if fixed else judge_score(i)
            if spoil_test_rows and i in test_rows and fixed:
                score = 1 if human_score(i) > 2 else 5
            return {"score": score, "rationale": "fake"}

        return respond

    results = []
    for name, spoil in (("fair", False), ("spoiler", True)):
        with fake.registered(name, judge_with(spoil)):
            run = align(
                rb, reflection_lm="fake:reflect", judge_model=f"fake:{name}", seed=5, cache=False
            )
        assert run.result is not None
        results.append(run.result)
    fair, spoiled = results
    assert [p.guideline_ids for p in fair.verification.proposals] == [
        p.guideline_ids for p in spoiled.verification.proposals
    ]
    assert [p.selection for p in fair.verification.proposals] == [
        p.selection for p in spoiled.verification.proposals
    ]
    assert [g.text for g in fair.guidelines] == [g.text for g in spoiled.guidelines] == [GUIDELINE]
    # ...while the test figures, which only report, differ.
    assert fair.verification.after != spoiled.verification.after


def test_guidelines_quoting_different_phrases_are_not_merged() -> None:
    from rubricate.alignment.merging import merge_guidelines
    from rubricate.domain.traces import Direction, Guideline

    lenient = Direction.TOO_LENIENT
    proposals = [
        Guideline(
            'Score lower when reviewers would say "against policy" about the output: the '
            "judge gave 4 (Good) where reviewers gave 1 (Harmful) on 5 of 9 rows "
            "(judge too lenient).",
            lenient,
            (1, 2, 3),
        ),
        Guideline(
            'Score lower when reviewers would say "too long" about the output: the judge '
            "gave 4 (Good) where reviewers gave 3 (Adequate) on all 6 rows (judge too "
            "lenient).",
            lenient,
            (4, 5, 6),
        ),
        Guideline(
            'Score lower when reviewers would say "too long" about the output: the judge '
            "gave 5 (Excellent) where reviewers gave 3 (Adequate) on 2 of 3 rows (judge "
            "too lenient).",
            lenient,
            (7,),
        ),
    ]
    items, _ = merge_guidelines(proposals, prompt="Rate the answer.")
    assert [set(i.row_ids) for i in items] == [{4, 5, 6, 7}, {1, 2, 3}]
