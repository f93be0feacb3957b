"""The audit slice (split.py, label_sampling.py): when the sampler chooses the rows to
review, a share of each proposal is drawn at random from a fixed random share of the input
groups and the rest is targeted outside it, so the slice's reviewed rows stay a random
sample of the evaluation however the targeted rows were picked, and verification reads
only them."""

from __future__ import annotations

import random
import statistics

from rubricate.alignment.label_sampling import AUDIT_REASON, Candidate, propose
from rubricate.alignment.split import (
    SLICE_SELECTION,
    SLICE_SHARE,
    Part,
    audited_part,
    group_key,
    in_audit_slice,
)
from rubricate.domain.scale import Scale

SCALE = Scale(type="ordinal", min=1, max=5)
WORDS = [f"w{n}" for n in range(400)]


def sliced(row: Candidate) -> bool:
    return in_audit_slice(group_key(row.input))


def test_the_slice_is_a_fixed_share_of_input_groups_checked_half_and_half() -> None:
    groups = [group_key(f"question {i}") for i in range(4000)]
    inside = [g for g in groups if in_audit_slice(g)]
    assert abs(len(inside) / len(groups) - SLICE_SHARE) < 0.03
    assert in_audit_slice(group_key("  Question 7 ")) == in_audit_slice(group_key("question 7"))
    for seed in (0, 1):
        parts = [audited_part(g, seed) for g in groups]
        assert all(p is Part.DISTILL for g, p in zip(groups, parts, strict=True) if g not in inside)
        selection = sum(audited_part(g, seed) is Part.SELECTION for g in inside)
        assert abs(selection / len(inside) - SLICE_SELECTION) < 0.05
        assert all(audited_part(g, seed) is not Part.DISTILL for g in inside)
    assert [audited_part(g, 0) for g in inside] != [audited_part(g, 1) for g in inside]


def population(n: int, seed: int) -> list[Candidate]:
    """``n`` rows with an input each; a fifth mention "refund", where the judge gives 5
    (and 3 when asked again) and reviewers 2 (a blind spot), the others are judged right
    (3 and 3)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        blind = i % 5 == 0
        words = " ".join(rng.sample(WORDS, 20) + (["refund"] if blind else []))
        judge, second = (5.0, 3.0) if blind else (3.0, None)
        rows.append(Candidate(i, f"question {i}", words, judge=judge, second=second))
    return rows


HUMAN = {5.0: 2.0, 3.0: 3.0}  # what reviewers give, by the judge's score


def reviewed(row: Candidate) -> Candidate:
    assert row.judge is not None
    return Candidate(
        row.row_id, row.input, row.output, row.judge, reviewed=True, human=HUMAN[row.judge]
    )


def test_a_share_of_each_proposal_is_drawn_from_the_slice_the_rest_outside_it() -> None:
    rows = population(300, seed=1)
    picks = propose(rows, scale=SCALE, delta=1.0, budget=20, seed=4, audit=0.3)
    by_id = {r.row_id: r for r in rows}
    audits = [p for p in picks if p.audit]
    assert len(picks) == 20 and len(audits) == 6
    assert all(sliced(by_id[p.row_id]) for p in audits)
    assert not any(sliced(by_id[p.row_id]) for p in picks if not p.audit)
    assert all(p.reason == AUDIT_REASON for p in audits)
    positions = [i for i, p in enumerate(picks) if p.audit]
    assert positions[0] < 5 and positions[-1] > 14  # spread over the queue, not bunched
    assert picks == propose(rows, scale=SCALE, delta=1.0, budget=20, seed=4, audit=0.3)
    no_audit = propose(rows, scale=SCALE, delta=1.0, budget=20, seed=4)
    assert not any(p.audit for p in no_audit)


def test_when_nothing_is_left_to_target_the_rest_is_drawn_from_the_slice() -> None:
    rows = population(60, seed=2)
    picks = propose(rows, scale=SCALE, delta=1.0, budget=60, seed=0, audit=0.3)
    assert sorted(p.row_id for p in picks) == list(range(60))
    assert {p.row_id for p in picks if p.audit} == {r.row_id for r in rows if sliced(r)}


def test_the_slices_reviewed_rows_estimate_the_evaluation_where_the_targeted_do_not() -> None:
    """Three rounds of 40 reviews: the targeted rows hold far more of the blind spot than
    the evaluation (the judge doubts itself there), while the audit rows' share, over
    seeds, is the slice's (a random share of the evaluation's groups, so near the
    evaluation's own 20%)."""
    rows = population(400, seed=3)
    slice_rate = statistics.fmean(r.judge == 5.0 for r in rows if sliced(r))
    audit_rates, targeted_rates = [], []
    for seed in range(12):
        done: dict[int, Candidate] = {}
        audited: list[Candidate] = []
        targeted: list[Candidate] = []
        for _ in range(3):
            pool = [done.get(r.row_id, r) for r in rows]
            for pick in propose(pool, scale=SCALE, delta=1.0, budget=40, seed=seed, audit=0.3):
                row = rows[pick.row_id]
                done[row.row_id] = reviewed(row)
                (audited if pick.audit else targeted).append(row)
        audit_rates.append(statistics.fmean(r.judge == 5.0 for r in audited))
        targeted_rates.append(statistics.fmean(r.judge == 5.0 for r in targeted))
    assert abs(statistics.fmean(audit_rates) - slice_rate) < 0.04
    assert abs(slice_rate - 0.2) < 0.06
    assert statistics.fmean(targeted_rates) > 0.3  # what verification must not read
