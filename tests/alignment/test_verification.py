"""Verification end to end with in-process fake models: a guideline that hurts is dropped
at the default budget and stays in ``proposed`` with its reason; the current prompt is
scored fresh (never the stored results, never the response cache); the judge's calls stay
within the plan and the preview's upper bound; a drop on the test rows is said plainly."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.alignment.alignment_support import (
    FAKES,
    GUIDELINE,
    answer_number,
    human_score,
    is_long,
    load,
    run_options,
)

from rubricate import Rubricate
from rubricate.alignment.split import Part, group_key, part_of
from rubricate.domain.alignment_runs import AlignmentRun, Budget
from rubricate.models import fake

LENGTH = GUIDELINE
STRICT = "Be stricter overall."
NUMBERED = re.compile(r"^(\d+)\. (.+)$", re.MULTILINE)
ROWS = 900


@pytest.fixture
def reflect() -> Iterator[fake.FakeModel]:
    row = re.compile(r"### Row (\d+) \(judge too lenient\)")

    def respond(call: fake.FakeCall) -> fake.FakeReply:
        ids = [int(i) for i in row.findall(call.user)]
        return {
            "guidelines": [
                {"text": LENGTH, "direction": "too_lenient", "row_ids": ids},
                {"text": STRICT, "direction": "too_lenient", "row_ids": ids[:3]},
            ]
        }

    with fake.registered("reflect", respond) as model:
        yield model


def judge_with(
    shift: Callable[[int, bool], int] = lambda i, fixed: 0,
) -> fake.Responder:
    """+2 on long outputs unless the length guideline is in the prompt; "be stricter"
    takes 1 off a third of the rows; it names the guidelines that moved the score."""

    def respond(call: fake.FakeCall) -> fake.FakeReply:
        text = call.system + "\n" + call.user
        i = answer_number(call)
        numbers = {body.strip(): int(n) for n, body in NUMBERED.findall(text)}
        score, applied = human_score(i), []
        if is_long(i):
            if LENGTH in numbers:
                applied.append(numbers[LENGTH])
            else:
                score += 2
        if STRICT in numbers and i % 3 != 0 and i % 2 == 0:
            score -= 1
            applied.append(numbers[STRICT])
        score += shift(i, LENGTH in numbers)
        return {"rationale": "fake", "score": max(1, min(5, score)), "applied": applied}

    return respond


@pytest.fixture
def workspace(rb: Rubricate, tmp_path: Path) -> Rubricate:
    load(rb, tmp_path, rows=ROWS)
    return rb


def align(rb: Rubricate, judge: str, **options: object) -> AlignmentRun:
    return rb.alignment_runs.align(
        **run_options(reflection_lm="fake:reflect", judge_model=f"fake:{judge}", **options)
    )


def test_a_harmful_guideline_is_dropped_at_the_default_budget(
    workspace: Rubricate, reflect: fake.FakeModel
) -> None:
    with fake.registered("judge", judge_with()) as judge:
        preview = workspace.alignment_runs.preview(**run_options(**FAKES))
        run = align(workspace, "judge")
    result = run.result
    assert result is not None
    v = result.verification
    assert v.status == "verified", v.message
    assert [g.text for g in result.guidelines] == [LENGTH]
    assert result.guidelines[0].verified
    dropped = [g for g in result.proposed if g.text == STRICT]
    assert len(dropped) == 1 and not dropped[0].verified
    assert dropped[0].dropped_reason and "lowered agreement" in dropped[0].dropped_reason
    assert {d.outcome for d in v.decisions} == {"kept", "dropped"} and v.unchecked == []
    # Within the plan, the preview's upper bound and the default budget.
    assert len(judge.calls) == result.usage.judge_calls <= v.planned_calls
    assert result.usage.judge_calls <= preview.judge_calls
    assert result.usage.calls <= Budget().max_calls
    assert v.raised and not v.test_drop and v.warning == ""
    assert v.difference is not None and (v.difference.low or 0) > 0


def test_the_current_prompt_is_scored_fresh_and_never_from_the_cache(
    workspace: Rubricate, reflect: fake.FakeModel
) -> None:
    """The stored judge results are +2 on long outputs; today's judge is +1 there. The
    "before" figures are today's judge, and a second run asks the judge again."""
    today = judge_with(lambda i, fixed: -1 if is_long(i) and not fixed else 0)
    with fake.registered("today", today) as judge:
        first = align(workspace, "today", cache=True)
        calls = len(judge.calls)
        second = align(workspace, "today", cache=True)
    assert first.result is not None and second.result is not None
    rows = first.result.verification.rows
    assert rows and all(
        r.before == min(5, human_score(int(r.external_id[1:])) + 1)
        for r in rows
        if is_long(int(r.external_id[1:]))
    )
    assert len(judge.calls) == 2 * calls  # fresh again: the cache was not read
    used = first.result.usage  # reflection is answered from the cache the second time
    assert second.result.usage.cache_hits == used.cache_hits + used.reflection_calls


def test_a_drop_on_the_test_rows_is_said_plainly(
    workspace: Rubricate, reflect: fake.FakeModel
) -> None:
    """The length guideline helps on selection rows but wrecks the test rows."""
    seed = 4
    test_rows = {
        i
        for i in range(ROWS)
        if part_of(group_key(f"Topic {i}: how does item {i} work?"), seed) is Part.TEST
    }

    def spoil(i: int, fixed: bool) -> int:
        return -3 if fixed and i in test_rows and human_score(i) > 3 else 0

    with fake.registered("spoiler", judge_with(spoil)):
        run = align(workspace, "spoiler", seed=seed)
    assert run.result is not None
    v = run.result.verification
    assert LENGTH in [g.text for g in run.result.guidelines]
    assert v.test_drop and not v.raised
    assert "LOWERED" in v.warning and "confirmation" in v.warning


@pytest.mark.parametrize("max_calls", [20, 300, 800])
def test_a_smaller_budget_shrinks_the_plan_and_the_bound_holds(
    workspace: Rubricate, reflect: fake.FakeModel, max_calls: int
) -> None:
    with fake.registered("judge", judge_with()):
        preview = workspace.alignment_runs.preview(
            **run_options(**FAKES, budget=Budget(max_calls=max_calls))
        )
        run = align(workspace, "judge", budget=Budget(max_calls=max_calls))
    assert run.result is not None
    v, usage = run.result.verification, run.result.usage
    assert usage.calls <= max_calls
    assert usage.judge_calls <= preview.judge_calls <= max_calls
    assert usage.judge_calls <= v.planned_calls <= max_calls - usage.reflection_calls
    if max_calls == 20:  # too few calls to decide anything: said so, nothing scored
        assert v.status == "unverified: budget exhausted" and usage.judge_calls == 0
        assert not any(g.verified for g in run.result.guidelines)
    elif max_calls == 300:  # shrunk to fit
        assert v.status == "verified" and v.selection_rows < 150
    else:  # two guidelines: 2 x 150 + 2 x 150 + 2 x 2 x 40 calls fit (two trials each)
        assert v.selection_rows == 150 and v.planned_calls == 760
