"""The ablation on a synthetic selection part: a judge too lenient on long outputs, a
guideline that fixes it (and a paraphrase of it), a harmful "be stricter" rule and one
that acts on nothing; decided within the default plan's allowance."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence

import pytest

from rubricate.alignment.ablation import Ablation, ablate
from rubricate.alignment.plan import ABLATION_CALLS, ABLATION_ROWS, SELECTION_ROWS, plan
from rubricate.domain.alignment import GuidelineItem
from rubricate.domain.alignment_runs import Budget

FIX, STRICT, PARAPHRASE, IDLE = 1, 2, 3, 4
ITEMS = [
    GuidelineItem(id=FIX, text="Do not reward length.", row_ids=list(range(30))),
    GuidelineItem(id=STRICT, text="Be stricter overall.", row_ids=[1, 2]),
    GuidelineItem(id=PARAPHRASE, text="Long is not better.", row_ids=list(range(12))),
    GuidelineItem(id=IDLE, text="Mind the tone.", row_ids=[5, 6, 7]),
]


class World:
    """Human scores 1-5; long rows get +2 from the judge unless a length guideline is in
    the prompt (cancelled on 85% of them); "be stricter" lowers 30% of rows by 1; noise
    flips 10% of calls by one point, fresh on every call."""

    def __init__(self, seed: int, n: int = SELECTION_ROWS) -> None:
        rng = random.Random(seed)
        self.human = [float(rng.randint(1, 5)) for _ in range(n)]
        self.long = [rng.random() < 0.5 for _ in range(n)]
        self.cancel = [rng.random() < 0.85 for _ in range(n)]
        self.strict = [rng.random() < 0.3 for _ in range(n)]
        self.noise = random.Random(seed + 1)
        self.calls = 0

    def score(self, i: int, active: frozenset[int]) -> tuple[float, frozenset[int]]:
        self.calls += 1
        value, used = self.human[i], set[int]()
        if self.long[i]:
            fixers = active & {FIX, PARAPHRASE}
            if fixers and self.cancel[i]:
                used |= fixers
            else:
                value += 2
        if STRICT in active and self.strict[i]:
            value -= 1
            used.add(STRICT)
        if self.noise.random() < 0.1:
            value += self.noise.choice([-1, 1])
        return min(5.0, max(1.0, value)), frozenset(used)


def run(world: World, active: frozenset[int], allowance: int, hints: bool = True) -> Ablation:
    n = len(world.human)
    before = [world.score(i, frozenset())[0] for i in range(n)]
    judged = [world.score(i, active) for i in range(n)]

    async def score(rows: Sequence[int], left_out: frozenset[int]) -> list[float | None]:
        return [world.score(i, active - left_out)[0] for i in rows]

    return asyncio.run(
        ablate(
            [item for item in ITEMS if item.id in active],
            human=world.human,
            before=before,
            full=[s for s, _ in judged],
            applied=[used if hints else None for _, used in judged],
            score=score,
            allowance=allowance,
            seed=0,
        )
    )


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("hints", [True, False])
def test_a_harmful_guideline_is_dropped_at_the_default_budget(seed: int, hints: bool) -> None:
    default = plan(Budget().max_calls, SELECTION_ROWS, 1000)
    assert default.selection == SELECTION_ROWS and default.ablation == ABLATION_CALLS
    world = World(seed)
    result = run(world, frozenset({FIX, STRICT, IDLE}), default.ablation, hints)
    outcome = {d.guideline_id: d.outcome for d in result.decisions}
    assert outcome == {FIX: "kept", STRICT: "dropped", IDLE: "dropped"}
    assert result.calls <= default.ablation
    strict = next(d for d in result.decisions if d.guideline_id == STRICT)
    assert strict.rows <= ABLATION_ROWS and strict.reason
    idle = next(d for d in result.decisions if d.guideline_id == IDLE)
    if hints:  # named on no changed row: nothing to try
        assert idle.rows == 0 and idle.reason == "changed no score on the selection rows"


@pytest.mark.parametrize("seed", range(3))
def test_of_two_paraphrases_one_is_kept(seed: int) -> None:
    """Left out alone, either paraphrase changes nothing (the other still acts); the one
    tried first goes, and then the other is needed."""
    result = run(World(seed), frozenset({FIX, PARAPHRASE, STRICT}), ABLATION_CALLS)
    outcome = {d.guideline_id: d.outcome for d in result.decisions}
    assert outcome[STRICT] == "dropped"
    assert sorted([outcome[FIX], outcome[PARAPHRASE]]) == ["dropped", "kept"]


@pytest.mark.parametrize("seed", range(3))
def test_after_a_drop_the_next_guideline_is_compared_with_fresh_scores_of_the_set(
    seed: int,
) -> None:
    """ "Be stricter" (least supported, tried first) is dropped; "do not reward length" is
    then compared with the prompt as it stands without "be stricter", scored for its rows,
    never with scores taken while "be stricter" was still in."""
    world, asked = World(seed), list[tuple[int, frozenset[int]]]()
    active = frozenset({FIX, STRICT})
    n = len(world.human)
    before = [world.score(i, frozenset())[0] for i in range(n)]
    judged = [world.score(i, active) for i in range(n)]

    async def score(rows: Sequence[int], left_out: frozenset[int]) -> list[float | None]:
        asked.extend((i, left_out) for i in rows)
        return [world.score(i, active - left_out)[0] for i in rows]

    items = [item for item in ITEMS if item.id in active]
    result = asyncio.run(
        ablate(
            items,
            human=world.human,
            before=before,
            full=[s for s, _ in judged],
            applied=[used for _, used in judged],
            score=score,
            allowance=ABLATION_CALLS,
            seed=0,
        )
    )
    outcome = {d.guideline_id: d.outcome for d in result.decisions}
    assert outcome == {FIX: "kept", STRICT: "dropped"}
    assert [d.guideline_id for d in result.decisions] == [STRICT, FIX]  # the order tried
    fix = next(d for d in result.decisions if d.guideline_id == FIX)
    fresh = {i for i, left_out in asked if left_out == frozenset({STRICT})}
    without = {i for i, left_out in asked if left_out == frozenset({STRICT, FIX})}
    assert len(without) == fix.rows and without <= fresh  # each compared on the same set
    assert len(asked) == len(set(asked)) == result.calls <= ABLATION_CALLS  # scored once


def test_a_budget_cut_names_the_guidelines_left_unchecked() -> None:
    result = run(World(0), frozenset({FIX, STRICT, IDLE}), allowance=15)
    assert result.calls <= 15
    assert result.ids("unchecked")  # the most supported, tried last
    assert "kept" not in [d.outcome for d in result.decisions if d.guideline_id != FIX]
    unchecked = [d for d in result.decisions if d.outcome == "unchecked"]
    assert all(d.reason.startswith("not checked") for d in unchecked)
