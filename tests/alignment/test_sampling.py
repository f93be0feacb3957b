"""Rows drawn for verification and their weights: a stratified test sample, weighted, estimates
the whole evaluation (not just its disagreements); the selection sample is self-weighting;
the plan fits the default budget."""

from __future__ import annotations

import random

import numpy as np
import pytest

from rubricate import stats
from rubricate.alignment.collecting import Collected, KeptRow
from rubricate.alignment.loading import RowCounts, SourceRow
from rubricate.alignment.plan import SELECTION_ROWS, TEST_ROWS, plan
from rubricate.alignment.sampling import draw
from rubricate.alignment.split import Part, group_key, part_of
from rubricate.domain.alignment_runs import Budget
from rubricate.domain.traces import Trace


def _collected(seed: int, n: int = 3000, reservoir: int = 1000) -> tuple[Collected, list[float]]:
    """Stored judge scores off on ~12% of rows; all disagreements kept, a uniform sample of
    the agreeing ones, like the row pass. Returns the population's |judge - human|, too."""
    rng = random.Random(99)
    found = Collected(RowCounts(n, n, 0, 0))
    gaps: list[float] = []
    agreeing: list[KeptRow] = []
    for i in range(n):
        human = float(rng.randint(1, 5))
        judge = min(5.0, human + 2) if rng.random() < 0.12 else human
        gaps.append(abs(judge - human))
        text = f"question {i}"
        source = SourceRow(
            i, f"r{i}", 1, text, "answer", None, None, {}, judge, None, None, None, 1, human
        )
        trace = Trace(i, f"r{i}", text, "answer", judge, human)
        group = group_key(text)
        kept = KeptRow(source, trace, group, part_of(group, seed))
        if judge != human:
            found.disagreements.append(kept)
        else:
            agreeing.append(kept)
    found.agreeing_count = len(agreeing)
    found.agreeing = sorted(rng.sample(agreeing, reservoir), key=lambda k: k.source.row_id)
    return found, gaps


@pytest.mark.parametrize("stratify", [True, False])
def test_weighted_sample_estimates_the_whole_evaluation(stratify: bool) -> None:
    estimates, naive = [], []
    truth = 0.0
    for seed in range(30):
        found, gaps = _collected(seed)
        truth = float(np.mean(gaps))
        sample = draw(found, Part.TEST, TEST_ROWS, seed, stratify=stratify)
        judge = [k.source.judge_score for k in sample.rows]
        human = [k.source.human for k in sample.rows]
        estimates.append(stats.mean_absolute_error(judge, human, row_weights=sample.weights))
        naive.append(stats.mean_absolute_error(judge, human))
        assert len(sample.rows) == TEST_ROWS
        assert sum(sample.weights) == pytest.approx(sample.population)
        assert sample.design == ("stratified" if stratify else "random")
    assert np.mean(estimates) == pytest.approx(truth, abs=0.02)
    if stratify:  # disagreements drawn about twice as often as their share
        assert np.mean(naive) > truth + 0.1


def test_the_draw_is_seeded_and_stays_in_its_part() -> None:
    found, _ = _collected(3)
    first = draw(found, Part.SELECTION, SELECTION_ROWS, 3, stratify=False)
    again = draw(found, Part.SELECTION, SELECTION_ROWS, 3, stratify=False)
    assert [k.source.row_id for k in first.rows] == [k.source.row_id for k in again.rows]
    assert {k.part for k in first.rows} == {Part.SELECTION}
    assert max(first.weights) / min(first.weights) <= 1.05  # self-weighting


def test_a_small_part_is_taken_whole() -> None:
    found, _ = _collected(1, n=200, reservoir=150)
    sample = draw(found, Part.TEST, TEST_ROWS, 1, stratify=True)
    in_part = [k for k in [*found.disagreements, *found.agreeing] if k.part is Part.TEST]
    assert len(sample.rows) == len(in_part) < TEST_ROWS


def test_the_default_budget_covers_the_usual_run() -> None:
    full = plan(Budget().max_calls, 10_000, 10_000)
    assert full.calls <= Budget().max_calls - 60  # room left for the reflection model
    smaller = plan(400, 10_000, 10_000)
    assert smaller.calls == 400 and smaller.selection < full.selection
    assert plan(None, 30, 40).calls == 2 * 30 + 2 * 40 + 8 * 30  # 30 rows to leave out of
    assert plan(None, 300, 300, guidelines=2).ablation == 2 * 2 * 40  # two trials each
