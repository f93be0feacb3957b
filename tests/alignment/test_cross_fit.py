"""Small data: cross-fitting over input groups. Which rows each fold distills from and is
checked on; no row is ever scored with a guideline distilled from its own input group; the
run says so, stays within its plan and the preview's upper bound."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from tests.alignment.alignment_support import (
    EVALUATION,
    METRIC,
    human_score,
    is_long,
    judge_score,
    lenient_rows,
    load,
)

from rubricate import Rubricate
from rubricate.alignment import cross_fit
from rubricate.alignment.collecting import Collected, KeptRow
from rubricate.alignment.cross_fit import FoldOutcome, combined_guidelines, fold_of, fold_view
from rubricate.alignment.loading import RowCounts, SourceRow
from rubricate.alignment.split import Part, group_key, part_of
from rubricate.alignment.trace_format import parse_blocks
from rubricate.domain.alignment import GuidelineDecision, GuidelineItem, Verification
from rubricate.domain.alignment_runs import Budget
from rubricate.domain.traces import Direction, Trace
from rubricate.models import fake

GUIDELINE = "Do not reward length: a long answer is not better for being long."
ANSWER = re.compile(r"Answer (\d+)\.")
TAG = re.compile(r"\[tag (\d+)\]")


def _kept(i: int, *, seed: int, disagrees: bool, question: str | None = None) -> KeptRow:
    text = question or f"question {i}"
    judge, human = (5.0, 2.0) if disagrees else (3.0, 3.0)
    source = SourceRow(
        i, f"r{i}", 1, text, "answer", None, None, {}, judge, None, None, None, 1, human
    )
    group = group_key(text)
    return KeptRow(
        source, Trace(i, f"r{i}", text, "answer", judge, human), group, part_of(group, seed)
    )


def _found(seed: int, disagreements: int = 30, agreeing: int = 90) -> Collected:
    found = Collected(RowCounts(disagreements + agreeing, disagreements + agreeing, 0, 0))

    # Every third row repeats an earlier question: an input group of two rows.
    def question(i: int) -> str:
        return f"question {i - 1 if i % 3 == 2 else i}"

    found.disagreements = [
        _kept(i, seed=seed, disagrees=True, question=question(i)) for i in range(disagreements)
    ]
    found.agreeing = [
        _kept(i, seed=seed, disagrees=False, question=question(i))
        for i in range(disagreements, disagreements + agreeing)
    ]
    found.agreeing_count = agreeing
    return found


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_each_fold_distills_the_other_folds_and_checks_its_own(seed: int) -> None:
    found = _found(seed)
    assert cross_fit.cross_fits(found, verifying=True)
    assert not cross_fit.cross_fits(found, verifying=False)  # no judge: all rows distilled
    distilled_in: Counter[int] = Counter()
    checked_in: Counter[int] = Counter()
    for fold in range(cross_fit.FOLDS):
        view = fold_view(found, seed, fold)
        rows = [*view.disagreements, *view.agreeing]
        assert [k.source.row_id for k in rows] == [
            k.source.row_id for k in [*found.disagreements, *found.agreeing]
        ]
        for kept in rows:
            own = fold_of(kept.group, seed) == fold
            assert (kept.part is Part.DISTILL) is not own
            if own:
                checked_in[kept.source.row_id] += 1
                assert kept.part is cross_fit.checking_part(kept.group, seed)
        for kept in view.disagreements:
            if kept.part is Part.DISTILL:
                distilled_in[kept.source.row_id] += 1
        # An input group is never on both sides of one fold.
        sides: dict[str, set[bool]] = {}
        for kept in rows:
            sides.setdefault(kept.group, set()).add(kept.part is Part.DISTILL)
        assert all(len(s) == 1 for s in sides.values())
    everything = [*found.disagreements, *found.agreeing]
    # Every row is checked in exactly one fold; every disagreement distilled in the others.
    assert all(checked_in[k.source.row_id] == 1 for k in everything)
    assert all(distilled_in[k.source.row_id] == cross_fit.FOLDS - 1 for k in found.disagreements)
    # The folds and the parts within a fold are not degenerate.
    folds = Counter(fold_of(k.group, seed) for k in everything)
    assert set(folds) == set(range(cross_fit.FOLDS)) and min(folds.values()) >= 20
    parts = Counter(cross_fit.checking_part(k.group, seed) for k in everything)
    assert min(parts.values()) >= 30


def test_cross_fitting_starts_below_twenty_distilled_disagreements() -> None:
    many = _found(0, disagreements=80)
    distilled = sum(k.part is Part.DISTILL for k in many.disagreements)
    assert distilled >= cross_fit.CROSS_FIT_BELOW and not cross_fit.cross_fits(many, True)
    assert not cross_fit.cross_fits(_found(0, disagreements=0), True)


def _item(
    gid: int, text: str, *, verified: bool = True, dropped: str | None = None
) -> GuidelineItem:
    return GuidelineItem(
        id=gid,
        text=text,
        direction=Direction.TOO_LENIENT,
        row_ids=[gid],
        verified=verified,
        dropped_reason=dropped,
    )


def _decided(gid: int, improved: int, regressed: int) -> GuidelineDecision:
    outcome: Literal["kept", "dropped"] = "kept" if improved >= 5 * max(regressed, 1) else "dropped"
    return GuidelineDecision(
        guideline_id=gid, outcome=outcome, improved=improved, regressed=regressed
    )


def test_paraphrases_across_folds_are_decided_on_their_pooled_counts() -> None:
    length = "Score long answers lower: length is not quality."
    length_again = "Score long answers lower, since length is not quality."
    stricter = "Be stricter overall with every answer."
    folds = [
        # Fold 1 kept the length rule (6 to 0); fold 2's paraphrase had too few rows to
        # decide alone (4 to 0), fold 3 kept the vague one on 5 to 0, fold 2 saw it hurt.
        FoldOutcome(
            [_item(1, length)], [_item(1, length)], Verification(decisions=[_decided(1, 6, 0)])
        ),
        FoldOutcome(
            [],
            [_item(2, length_again, verified=False), _item(3, stricter, verified=False)],
            Verification(decisions=[_decided(2, 4, 0), _decided(3, 1, 6)]),
        ),
        FoldOutcome(
            [_item(4, stricter)], [_item(4, stricter)], Verification(decisions=[_decided(4, 5, 0)])
        ),
    ]
    chosen, proposed = combined_guidelines(folds)
    assert [g.text for g in proposed] == [length, stricter]
    assert [g.text for g in chosen] == [length]  # 10 to 0 passes; 6 to 6 does not
    assert chosen[0].verified and chosen[0].row_ids == [1, 2]
    reason = proposed[1].dropped_reason or ""
    assert "raised agreement on 6 and lowered it on 6" in reason and not proposed[1].verified
    # Too few test rows: everything goes forward unverified, but what hurt.
    chosen, _ = combined_guidelines(folds, harmful={3})
    assert [g.text for g in chosen] == [length] and not chosen[0].verified


# -- end to end, on small data ------------------------------------------------------------


@pytest.fixture
def tagged_reflect() -> Iterator[dict[int, set[str]]]:
    """Each reflection call proposes the length guideline with its own tag; the rows (by
    their user id) each tag was distilled from."""
    shown: dict[int, set[str]] = {}

    def respond(call: fake.FakeCall) -> fake.FakeReply:
        blocks = parse_blocks(call.user)
        tag = len(shown)
        shown[tag] = {f"r{ANSWER.search(b.output).group(1)}" for b in blocks}  # type: ignore[union-attr]
        ids = lenient_rows(call.user)
        text = f"{GUIDELINE} [tag {tag}]"
        return {"guidelines": [{"text": text, "direction": "too_lenient", "row_ids": ids}]}

    with fake.registered("tagged", respond):
        yield shown


@pytest.fixture
def scored() -> Iterator[list[tuple[str, frozenset[int]]]]:
    """The judge: the human score when a length guideline is in its prompt; every call's
    row and the tags in its prompt."""
    calls: list[tuple[str, frozenset[int]]] = []

    def respond(call: fake.FakeCall) -> fake.FakeReply:
        i = int(ANSWER.search(call.user).group(1))  # type: ignore[union-attr]
        calls.append((f"r{i}", frozenset(int(t) for t in TAG.findall(call.system))))
        score = human_score(i) if GUIDELINE in call.system else judge_score(i)
        return {"score": score, "rationale": "fake"}

    with fake.registered("judge", respond):
        yield calls


def test_small_data_cross_fits_and_no_row_is_scored_with_its_own_guideline(
    rb: Rubricate,
    tmp_path: Path,
    tagged_reflect: dict[int, set[str]],
    scored: list[tuple[str, frozenset[int]]],
) -> None:
    load(rb, tmp_path, rows=120)
    options = {
        "metric": METRIC,
        "evaluations": [EVALUATION],
        "delta": 1,
        "reflection_lm": "fake:tagged",
        "judge_model": "fake:judge",
        "seed": 3,
    }
    preview = rb.alignment_runs.preview(**options)  # type: ignore[arg-type]
    run = rb.alignment_runs.align(**options)  # type: ignore[arg-type]
    result = run.result
    assert result is not None
    v = result.verification
    disagreements = {f"r{i}" for i in range(120) if judge_score(i) != human_score(i)}
    assert result.disagreements == len(disagreements) == preview.disagreements
    questions = {f"r{i}": f"Topic {i}: how does item {i} work?" for i in range(120)}
    groups = {e: group_key(q) for e, q in questions.items()}
    # Without folds, distillation would have seen fewer than 20 of them.
    assert sum(part_of(groups[e], 3) is Part.DISTILL for e in disagreements) < 20
    assert v.cross_fit_folds == cross_fit.FOLDS
    assert "cross-fitted over 3 folds" in result.notes[0] and "cross-fitted" in v.message
    # Each distillation saw most disagreements (the other folds'), and together all.
    reflections = [rows for rows in tagged_reflect.values() if rows]
    assert len(reflections) == cross_fit.FOLDS
    for rows in reflections:  # disagreements and agreeing rows beside them
        assert len(rows & disagreements) >= len(disagreements) / 2
        assert len({fold_of(groups[e], 3) for e in rows}) == cross_fit.FOLDS - 1
    assert set().union(*reflections) >= disagreements
    # No row is scored with a guideline distilled from its own input group.
    assert scored and any(tags for _, tags in scored)
    for external_id, tags in scored:
        for tag in tags:
            assert external_id not in tagged_reflect[tag]
            assert all(groups[e] != groups[external_id] for e in tagged_reflect[tag])
    # Test rows of every fold, pooled; the guideline kept; within plan and preview.
    assert v.status == "verified", v.message
    assert v.test_rows == len(v.rows) >= 30
    assert {fold_of(groups[r.external_id], 3) for r in v.rows} == set(range(cross_fit.FOLDS))
    assert v.raised and v.before is not None and v.after is not None
    assert len(result.guidelines) == 1 and result.guidelines[0].verified
    assert GUIDELINE in result.guidelines[0].text
    assert result.usage.judge_calls == len(scored) <= v.planned_calls <= preview.judge_calls
    assert result.usage.reflection_calls <= preview.reflection_calls
    assert result.usage.calls <= Budget().max_calls
    assert all(is_long(int(e[1:])) for e in disagreements)
