"""The label sampler on its own (alignment/label_sampling.py): which rows it proposes, in
what order, and within what bounds."""

from __future__ import annotations

import random
import statistics

import pytest

from rubricate.alignment.label_sampling import Candidate, Pick, propose
from rubricate.domain.scale import Scale

SCALE = Scale(type="ordinal", min=1, max=5)
WORDS = [f"w{n}" for n in range(400)]


def text(seed: int, *extra: str, words: int = 30) -> str:
    """A sentence of its own: few words in common with another seed's."""
    rng = random.Random(seed)
    return " ".join([*rng.sample(WORDS, words), *extra])


def fresh(n: int, start: int = 0) -> list[Candidate]:
    return [Candidate(i, f"question {i}", text(i), judge=3.0) for i in range(start, start + n)]


def ids(picks: list[Pick]) -> list[int]:
    return [p.row_id for p in picks]


def test_rows_where_the_judge_disagrees_with_itself_come_first() -> None:
    rows = fresh(30)
    rows[7] = Candidate(7, "question 7", text(7), judge=4.0, second=2.0)
    rows[12] = Candidate(12, "question 12", text(12), judge=1.0, second=3.0)
    rows[20] = Candidate(20, "question 20", text(20), judge=2.0, uncertainty=0.9)
    picks = propose(rows, scale=SCALE, delta=1.0, budget=5)
    assert set(ids(picks[:3])) == {7, 12, 20}
    assert "disagrees with itself (4 vs 2)" in picks[ids(picks).index(7)].reason
    assert "uncertainty 0.90" in picks[ids(picks).index(20)].reason
    assert picks[0].doubt == 1.0 and picks[3].doubt == 0.0


def causes(pool_judged: dict[str, float]) -> list[Candidate]:
    """60 reviewed rows: 6 that mention "refund", judged 5 for a human 3 (too lenient), 6
    that mention "cancel", judged 1 (too harsh), the others judged right; then 40 rows to
    review, a tenth mentioning each word, judged as ``pool_judged`` says."""

    def word(i: int) -> str:
        return {1: "refund", 2: "cancel"}.get(i % 10, "")

    judged = {"refund": 5.0, "cancel": 1.0}
    reviewed = [
        Candidate(
            100 + i, f"q {i}", text(100 + i, word(i)), judge=judged.get(word(i), 3.0),
            reviewed=True, human=3.0,
        )
        for i in range(60)
    ]  # fmt: skip
    pool = [
        Candidate(i, f"q {i}", text(i, word(i)), judge=pool_judged.get(word(i), 3.0))
        for i in range(40)
    ]
    return [*pool, *reviewed]


def test_rows_like_the_reviewed_disagreements_come_first_both_ways() -> None:
    """Judged 4 and 2 where the reviewed ones were 5 and 1: like them, not the same."""
    picks = propose(causes({"refund": 4.0, "cancel": 2.0}), scale=SCALE, delta=1.0, budget=40)
    assert all(p.row_id % 10 in (1, 2) for p in picks[:4])  # the rows mentioning a word
    assert {p.row_id % 10 for p in picks[:2]} == {1, 2}  # both directions first
    assert min(p.doubt for p in picks[:2]) > 0.5
    assert max(p.doubt for p in picks if p.row_id % 10 not in (1, 2)) < 0.2
    lenient = next(p for p in picks if p.row_id % 10 == 1)
    assert "judge too lenient" in lenient.reason and "apart" in lenient.reason
    assert "judge too harsh" in next(p for p in picks if p.row_id % 10 == 2).reason


def test_rows_whose_error_the_reviewed_rows_explain_give_way() -> None:
    """Judged 5 and 1 as the reviewed ones were: what explains their errors is shown by
    six reviewed rows each, so rows unlike any reviewed come first."""
    picks = propose(causes({"refund": 5.0, "cancel": 1.0}), scale=SCALE, delta=1.0, budget=40)
    explained = [p for p in picks if p.row_id % 10 in (1, 2)]
    assert all(p.novelty < 0.35 for p in explained)
    assert statistics.fmean(p.doubt for p in explained) > 0.5
    assert sum(p in explained for p in picks[:10]) <= 1


def test_picks_spread_over_dissimilar_texts() -> None:
    same = "Refunds go to your account as credit within two days of the report."
    copies = [Candidate(i, "refund?", f"{same} ({i})", judge=3.0) for i in range(10)]
    others = fresh(10, start=10)
    picks = propose([*copies, *others], scale=SCALE, delta=1.0, budget=8)
    assert sum(p.row_id < 10 for p in picks) <= 1  # one of the near-copies at most
    reviewed = Candidate(99, "refund?", same, judge=3.0, reviewed=True, human=3.0)
    picks = propose([*copies, *others, reviewed], scale=SCALE, delta=1.0, budget=8)
    assert not any(p.row_id < 10 for p in picks)  # like a reviewed row: last
    assert all(p.novelty < 0.5 for p in propose(copies, scale=SCALE, delta=1.0, budget=5)[1:])


def test_the_budget_reviewed_and_unscored_rows() -> None:
    rows = fresh(12)
    rows[0] = Candidate(0, "q", text(0), judge=3.0, reviewed=True, human=3.0)
    rows[1] = Candidate(1, "q", text(1), judge=None)  # never scored: nothing to align
    rows[2] = Candidate(2, "q", text(2), judge=3.0, reviewed=True)  # waiting in a queue
    picks = propose(rows, scale=SCALE, delta=1.0, budget=4)
    assert len(picks) == 4 and len(set(ids(picks))) == 4
    assert not {0, 1, 2} & set(ids(picks))
    everything = propose(rows, scale=SCALE, delta=1.0, budget=100)
    assert sorted(ids(everything)) == list(range(3, 12))
    assert all(p.reason for p in everything)
    assert propose(rows[:3], scale=SCALE, delta=1.0, budget=5) == []


def test_the_same_seed_gives_the_same_order_and_others_may_not() -> None:
    rows = fresh(40)
    first = propose(rows, scale=SCALE, delta=1.0, budget=10, seed=3)
    assert first == propose(rows, scale=SCALE, delta=1.0, budget=10, seed=3)
    orders = {
        tuple(ids(propose(rows, scale=SCALE, delta=1.0, budget=10, seed=s))) for s in range(4)
    }
    assert len(orders) > 1  # ties are broken by the seed


def test_a_budget_below_one_or_no_delta_is_refused() -> None:
    with pytest.raises(ValueError, match="budget"):
        propose(fresh(3), scale=SCALE, delta=1.0, budget=0)
    with pytest.raises(ValueError, match="delta"):
        propose(fresh(3), scale=SCALE, delta=0.0, budget=3)
