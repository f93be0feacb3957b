"""Verification with a judge model. The distilled guidelines are proposals; the selection
rows choose among them and the test rows are used for nothing but the reported figures.

- Proposal 0 is the current prompt; proposal 1 adds every new guideline.
- A revision round looks at what still fails on the selection rows with the best proposal
  so far and tries it without each of its new guidelines in turn (a guideline that breaks
  rows which worked shows up here); the best replaces it when it ranks higher. Rounds stop
  when nothing improves, after ``MAX_ROUNDS``, or when the budget cannot pay for another.
- A proposal is kept only if it ranks strictly above the current prompt on the selection
  rows; otherwise the result says plainly that nothing beat it.
- The test rows are scored with the current and the chosen prompt once, at the end.
Stored judge results stand in for the current prompt wherever model, version and
temperature match, so that they are not paid for again."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rubricate.alignment.collecting import KeptRow
from rubricate.alignment.figures import agreement, selection_rank
from rubricate.alignment.judging import reusable, score_rows
from rubricate.domain.alignment import (
    MIN_TEST_ROWS,
    AgreementFigures,
    Figure,
    GuidelineItem,
    Proposal,
    RowVerdict,
    Verification,
)
from rubricate.domain.metrics import MetricVersion
from rubricate.models.client import BudgetExhausted, ModelClient

MAX_ROUNDS = 3
_NONE = Figure(value=None)
CHUNK = 64  # rows scored between two checks for a cancel

Checkpoint = Callable[[int], None]  # judge calls made so far; raises to stop


@dataclass
class Judge:
    client: ModelClient
    model: str
    version: MetricVersion
    checkpoint: Checkpoint
    calls_left: Callable[[], int | None]
    reused: int = 0  # stored judge results that stood in for a call

    async def scores(self, rows: Sequence[KeptRow], guidelines: str) -> list[float | None]:
        found: list[float | None] = []
        for start in range(0, len(rows), CHUNK):
            self.checkpoint(self.client.spent.calls)  # a cancel stops before the next chunk
            chunk = [kept.source for kept in rows[start : start + CHUNK]]
            found += await score_rows(self.client, self.model, self.version, guidelines, chunk)
        return found

    async def current(self, rows: Sequence[KeptRow], guidelines: str) -> list[float | None]:
        """The current prompt's scores: stored ones where they match, the rest scored."""
        missing = [kept for kept in rows if not reusable(kept.source, self.model, self.version)]
        self.reused += len(rows) - len(missing)
        scored = iter(await self.scores(missing, guidelines))
        return [
            kept.source.judge_score
            if reusable(kept.source, self.model, self.version)
            else next(scored)
            for kept in rows
        ]


def guidelines_text(items: Sequence[GuidelineItem]) -> str:
    return "\n".join(f"- {item.text}" for item in items)


def _figures(
    rows: Sequence[KeptRow], scores: Sequence[float | None], **options: object
) -> AgreementFigures:
    paired = [(s, kept) for s, kept in zip(scores, rows, strict=True) if s is not None]
    return agreement(
        [s for s, _ in paired],
        [kept.source.human for _, kept in paired],
        [kept.group for _, kept in paired],
        **options,  # type: ignore[arg-type]
    )


async def verify(
    judge: Judge,
    items: Sequence[GuidelineItem],
    *,
    selection: Sequence[KeptRow],
    test: Sequence[KeptRow],
    distill_rows: int,
    delta: float,
    seed: int,
) -> tuple[list[GuidelineItem], Verification]:
    """The guidelines to put forward (the chosen proposal's) and the report."""
    scale = judge.version.scale
    report = Verification(
        distill_rows=distill_rows, selection_rows=len(selection), test_rows=len(test)
    )
    existing = [item for item in items if item.existing]
    new = [item for item in items if not item.existing]
    if not new:
        report.message = "No new guidelines were distilled, so there is nothing to verify."
        return list(items), report

    def rank_on_selection(scores: Sequence[float | None]) -> AgreementFigures:
        return _figures(selection, scores, scale=scale, delta=delta, seed=seed, intervals=False)

    def affordable() -> bool:
        """Room for one more trial and, after it, the test rows scored twice."""
        left = judge.calls_left()
        return left is None or left >= len(selection) + 2 * len(test)

    unknown = AgreementFigures(
        rows=0, exact=_NONE, within_delta=_NONE, mae=_NONE, kappa=_NONE, spearman=_NONE
    )
    current = best = unknown
    proposals: list[Proposal] = []
    best_new = list(new)
    try:
        current = rank_on_selection(await judge.current(selection, guidelines_text(existing)))
        proposals.append(Proposal(guideline_ids=[i.id for i in existing], selection=current))
        best = rank_on_selection(await judge.scores(selection, guidelines_text(items)))
        proposals.append(Proposal(guideline_ids=[i.id for i in items], selection=best))
        for _ in range(MAX_ROUNDS):
            if len(best_new) < 2:
                break
            round_best: tuple[AgreementFigures, list[GuidelineItem]] | None = None
            for dropped in best_new:
                if not affordable():
                    report.message = "The budget allowed no further revision round."
                    break
                trial = [i for i in best_new if i is not dropped]
                figures = rank_on_selection(
                    await judge.scores(selection, guidelines_text([*existing, *trial]))
                )
                proposals.append(
                    Proposal(
                        guideline_ids=[i.id for i in [*existing, *trial]],
                        selection=figures,
                        note=f"without guideline {dropped.id}",
                    )
                )
                if round_best is None or selection_rank(figures) > selection_rank(round_best[0]):
                    round_best = (figures, trial)
            if round_best is None or selection_rank(round_best[0]) <= selection_rank(best):
                break
            best, best_new = round_best
    except BudgetExhausted as exhausted:
        report.status = "unverified: budget exhausted"
        report.proposals = proposals
        if selection_rank(best) <= selection_rank(current):
            report.message = (
                f"Verification stopped ({exhausted}); no proposal had beaten the current "
                "prompt on the selection rows, so no guideline is put forward."
            )
            return [], report
        report.message = (
            f"Verification stopped ({exhausted}); the best proposal so far is put forward "
            "without figures on held-out rows."
        )
        return [*existing, *best_new], report
    report.proposals = proposals

    if selection_rank(best) <= selection_rank(current):
        report.status = "nothing beat the current prompt"
        report.message = (
            "No proposal agreed with the reviewers better than the current prompt on the "
            "selection rows, so no guideline is put forward; the test rows were not used."
        )
        return [], report
    chosen = [*existing, *best_new]
    if len(test) < MIN_TEST_ROWS:
        report.status = "unverified: too few rows"
        report.message = (
            f"Only {len(test)} test rows (at least {MIN_TEST_ROWS} are needed): the chosen "
            "guidelines are not verified on held-out rows."
        )
        return chosen, report
    try:
        before = await judge.current(test, guidelines_text(existing))
        after = await judge.scores(test, guidelines_text(chosen))
    except BudgetExhausted as exhausted:
        report.status = "unverified: budget exhausted"
        report.message = f"The test rows could not be scored: {exhausted}."
        return chosen, report
    both = [(b, a, kept) for b, a, kept in zip(before, after, test, strict=True)]
    paired = [(b, a, kept) for b, a, kept in both if b is not None and a is not None]
    rows = [kept for _, _, kept in paired]
    options = {"scale": scale, "delta": delta, "seed": seed}
    report.before = _figures(rows, [b for b, _, _ in paired], **options)
    report.after = _figures(rows, [a for _, a, _ in paired], **options)
    report.rows = [
        RowVerdict(
            row_id=kept.source.row_id,
            external_id=kept.source.external_id,
            human=kept.source.human,
            before=b,
            after=a,
        )
        for b, a, kept in both
    ]
    report.status = "verified"
    report.message = _summary(report.before, report.after)
    return chosen, report


def _summary(before: AgreementFigures, after: AgreementFigures) -> str:
    old, new = before.kappa.value, after.kappa.value
    if old is None or new is None:
        return f"Scored {after.rows} held-out test rows before and after."
    change = "raised" if new > old else "did not raise"
    return (
        f"On {after.rows} held-out test rows the chosen guidelines {change} weighted kappa: "
        f"{old:.3f} before, {new:.3f} after."
    )
