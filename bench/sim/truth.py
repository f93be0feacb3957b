"""Ground truth: fake calls are free, so every row of the data set is scored with a prompt
(issue 11, item 1):

    The bench scores every row of the data set with the final prompt and reports the true
    whole-evaluation weighted kappa before and after (the same noise draws for both,
    averaged over several draws), the oracle's (both blind spots cancelled, nothing else),
    and each kept guideline's true marginal effect (the kept set with and without it). A
    wrong guideline is one whose true marginal effect is below -0.005.

The prompts are rendered by the product (``render_prompt`` with the metric version's
template and the guidelines as the engine writes them), and scored by the same fake judge
the run used, at draws 0..D-1 of every row: draw k of a row is the same noise under every
prompt, so before, after, oracle and each ablation differ only by the guidelines.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from rubricate import GuidelineItem, MetricVersion, stats
from rubricate.scoring.render import render_prompt
from sim.judge import FakeJudge, guidelines_of

WRONG = -0.005  # a kept guideline whose true marginal effect is below this is wrong


def guidelines_text(items: Sequence[GuidelineItem]) -> str:
    """The guidelines as the engine puts them in the judge's prompt (its own function)."""
    from rubricate.alignment import verification

    return str(verification.guidelines_text(items))


@dataclass(frozen=True)
class Row:
    input: str
    output: str
    human: float


class Truth:
    """Every row's user message rendered once (it holds the data, not the guidelines)."""

    def __init__(
        self, judge: FakeJudge, version: MetricVersion, rows: Sequence[Row], draws: int
    ) -> None:
        self.judge = judge
        self.version = version
        self.rows = list(rows)
        self.draws = draws
        self.points = [float(p) for p in version.scale.points or ()]
        self.users = [self._render(r, "").user for r in self.rows]
        self.humans = [r.human for r in self.rows]

    def _render(self, row: Row, guidelines: str) -> object:
        return render_prompt(
            self.version.prompt,
            input=row.input,
            output=row.output,
            guidelines=guidelines,
            scale=self.version.scale,
        )

    def kappa(self, items: Sequence[GuidelineItem], *, oracle: bool = False) -> float:
        """Mean over the draws of the whole-evaluation weighted kappa under ``items``."""
        system = self._render(self.rows[0], guidelines_text(items)).system  # type: ignore[attr-defined]
        shown = guidelines_of(system)
        if len(shown) != len(items):
            raise RuntimeError(f"{len(items)} guidelines written, the judge reads {len(shown)}")
        values = []
        for draw in range(self.draws):
            scores = [
                self.judge.score(shown, user, draw, oracle=oracle).score for user in self.users
            ]
            values.append(stats.weighted_kappa(scores, self.humans, categories=self.points))
        return statistics.fmean(values)


@dataclass(frozen=True)
class TrueFigures:
    before: float
    after: float
    oracle: float
    marginal: dict[int, float]  # guideline id -> kappa(kept) - kappa(kept without it)

    @property
    def gain(self) -> float:
        return self.after - self.before

    @property
    def oracle_gain(self) -> float:
        return self.oracle - self.before

    def wrong(self) -> list[int]:
        return [g for g, effect in self.marginal.items() if effect < WRONG]


def measure(
    truth: Truth, existing: Sequence[GuidelineItem], kept: Sequence[GuidelineItem]
) -> TrueFigures:
    """Before (the base version's guidelines), after (the kept ones), the oracle, and each
    new kept guideline's marginal effect."""
    before = truth.kappa(existing)
    after = truth.kappa(kept) if list(kept) != list(existing) else before
    oracle = truth.kappa(existing, oracle=True)
    marginal = {}
    for item in kept:
        if item.existing:
            continue
        without = [other for other in kept if other is not item]
        marginal[item.id] = after - truth.kappa(without)
    return TrueFigures(before, after, oracle, marginal)
