"""Verification with a judge model: which new guidelines to put forward, and what they do
to agreement with the reviewers on the whole evaluation.

1. Selection rows (a random sample of the selection part) are scored fresh with the
   current prompt and with every new guideline. Stored judge results are never the
   "before" arm: they picked the disagreements, so any re-score would look better on them
   (regression to the mean). The response cache is not read either, for the same reason.
2. The ablation (``ablation.py``) decides each new guideline on the selection rows only.
3. Test rows (a stratified sample of the test part, weighted back to the whole
   evaluation) are scored fresh with the current prompt and with the chosen guidelines.
   They only report: the paired difference in weighted kappa with a bootstrap interval
   over input groups; "raised" only when the interval excludes 0; a drop is said plainly.

The judge calls are planned up front (``plan.py``) and never exceed the plan."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rubricate.alignment import sampling
from rubricate.alignment.ablation import ablate, changed_rows
from rubricate.alignment.collecting import Collected, KeptRow
from rubricate.alignment.figures import agreement, paired_difference
from rubricate.alignment.judging import Judged, judge_rows, numbered
from rubricate.alignment.plan import Plan, plan
from rubricate.alignment.split import Part
from rubricate.domain.acceptance import format_difference
from rubricate.domain.alignment import (
    MIN_TEST_ROWS,
    AgreementFigures,
    GuidelineItem,
    Proposal,
    RowVerdict,
    Verification,
)
from rubricate.domain.metrics import MetricVersion
from rubricate.models.client import BudgetExhausted, ModelClient

CHUNK = 64  # rows scored between two checks for a cancel
MIN_SELECTION_ROWS = 5  # fewer: no guideline could pass (5 of 5 improved: p = 0.03)

Checkpoint = Callable[[int], None]  # judge calls made so far; raises to stop


@dataclass
class Judge:
    """Fresh judge calls, at most ``limit`` of them (set from the plan)."""

    client: ModelClient
    model: str
    version: MetricVersion
    checkpoint: Checkpoint
    calls_left: Callable[[], int | None]
    limit: int | None = None
    made: int = 0  # requests sent (a journaled reply after a crash counts, and is free)
    reused: int = 0  # kept for the usage report: stored results no longer stand in

    def __post_init__(self) -> None:
        # Fresh scores: the response cache is not read (the run's journal still replays
        # calls finished before a crash).
        self.client.cache = None

    def cap(self, calls: int) -> None:
        """Never more than ``calls`` requests from now on, retries included."""
        self.limit = self.made + calls
        spending = self.client.spending
        ceiling = spending.spent.calls + calls
        spending.max_calls = (
            ceiling if spending.max_calls is None else min(spending.max_calls, ceiling)
        )

    async def judge(self, rows: Sequence[KeptRow], guidelines: Sequence[str]) -> list[Judged]:
        text = numbered(guidelines)
        found: list[Judged] = []
        for start in range(0, len(rows), CHUNK):
            self.checkpoint(self.client.spent.calls)  # a cancel stops before the next chunk
            chunk = [kept.source for kept in rows[start : start + CHUNK]]
            if self.limit is not None and self.made + len(chunk) > self.limit:
                raise BudgetExhausted("verification's planned judge calls are used up")
            self.made += len(chunk)
            found += await judge_rows(self.client, self.model, self.version, text, chunk)
        return found


def guidelines_text(items: Sequence[GuidelineItem]) -> str:
    """The guidelines section as verification puts it in the judge's prompt (numbered)."""
    return numbered([item.text for item in items])


def verification_plan(
    found: Collected, calls_left: int | None, items: Sequence[GuidelineItem]
) -> Plan:
    return plan(
        calls_left,
        sampling.available(found, Part.SELECTION),
        sampling.available(found, Part.TEST),
        guidelines=sum(1 for item in items if not item.existing),
    )


def _figures(
    rows: Sequence[KeptRow],
    weights: Sequence[float],
    scores: Sequence[float | None],
    **options: object,
) -> AgreementFigures:
    kept = [i for i, s in enumerate(scores) if s is not None]
    return agreement(
        [scores[i] for i in kept],  # type: ignore[misc]
        [rows[i].source.human for i in kept],
        [rows[i].group for i in kept],
        weights=[weights[i] for i in kept],
        **options,  # type: ignore[arg-type]
    )


async def verify(
    judge: Judge,
    items: Sequence[GuidelineItem],
    *,
    found: Collected,
    the_plan: Plan,
    distill_rows: int,
    delta: float,
    seed: int,
    fold: bool = False,
) -> tuple[list[GuidelineItem], list[GuidelineItem], Verification]:
    """The guidelines to put forward, every proposed guideline (with the reason where it
    was not chosen), and the report. ``fold``: one fold of a cross-fitted run
    (``cross_fit.py``), whose test rows are pooled with the other folds': they are scored
    whatever their number, and with the current prompt alone when nothing was kept."""
    scale = judge.version.scale
    existing = [item for item in items if item.existing]
    new = [item for item in items if not item.existing]
    report = Verification(distill_rows=distill_rows, planned_calls=the_plan.calls)
    if not new:
        report.message = "No new guidelines were distilled, so there is nothing to verify."
        return list(items), list(items), report
    if sampling.available(found, Part.SELECTION) < MIN_SELECTION_ROWS:
        report.status = "unverified: too few rows"
        report.message = (
            f"Only {sampling.available(found, Part.SELECTION)} selection rows (at least "
            f"{MIN_SELECTION_ROWS} are needed to decide): the guidelines are put forward "
            "unverified."
        )
        return list(items), list(items), report
    if the_plan.selection < MIN_SELECTION_ROWS:
        report.status = "unverified: budget exhausted"
        report.message = (
            f"The budget leaves too few judge calls to verify ({the_plan.calls} could be "
            "planned): the guidelines are put forward unverified."
        )
        return list(items), list(items), report
    judge.cap(the_plan.calls)
    selection = sampling.draw(found, Part.SELECTION, the_plan.selection, seed, stratify=False)
    test = sampling.draw(found, Part.TEST, the_plan.test, seed, stratify=True)
    report.selection_rows, report.selection_design = len(selection.rows), selection.design
    report.test_rows, report.test_design = len(test.rows), test.design

    def texts(left_out: frozenset[int] = frozenset()) -> list[str]:
        return [item.text for item in items if item.id not in left_out]

    options = {"scale": scale, "delta": delta, "seed": seed}
    quick = options | {"intervals": False}  # selection figures only rank, no intervals
    try:
        before = await judge.judge(selection.rows, [i.text for i in existing])
        full = await judge.judge(selection.rows, texts())
    except BudgetExhausted as exhausted:
        report.status = "unverified: budget exhausted"
        report.message = f"Verification stopped ({exhausted}) before any guideline was decided."
        return list(items), list(items), report
    before_scores = [j.score for j in before]
    full_scores = [j.score for j in full]
    report.proposals = [
        Proposal(
            guideline_ids=[i.id for i in existing],
            selection=_figures(selection.rows, selection.weights, before_scores, **quick),
            note="the current prompt, scored fresh",
        ),
        Proposal(
            guideline_ids=[i.id for i in items],
            selection=_figures(selection.rows, selection.weights, full_scores, **quick),
            note="every new guideline",
        ),
    ]
    ids = {number: item.id for number, item in enumerate(items, start=1)}  # as numbered
    applied = [
        None if j.applied is None else frozenset(ids[n] for n in j.applied if n in ids)
        for j in full
    ]

    async def without(rows: Sequence[int], left_out: frozenset[int]) -> list[float | None]:
        judged = await judge.judge([selection.rows[i] for i in rows], texts(left_out))
        return [j.score for j in judged]

    try:
        ablation = await ablate(
            new,
            human=[k.source.human for k in selection.rows],
            before=before_scores,
            full=full_scores,
            applied=applied,
            score=without,
            allowance=the_plan.ablation,
            seed=seed,
        )
    except BudgetExhausted as exhausted:
        report.status = "unverified: budget exhausted"
        report.message = f"Verification stopped ({exhausted}) while leaving guidelines out."
        return list(items), list(items), report
    report.decisions = ablation.decisions
    report.unchecked = ablation.ids("unchecked")
    decided = {d.guideline_id: d for d in ablation.decisions}
    kept = set(ablation.ids("kept"))
    proposed = [
        item.model_copy(
            update={
                "verified": item.id in kept,
                "dropped_reason": None
                if item.existing or decided[item.id].outcome != "dropped"
                else decided[item.id].reason,
            }
        )
        for item in items
    ]
    chosen = [
        item
        for item in proposed
        if item.existing or decided[item.id].outcome in ("kept", "unchecked")
    ]
    if len(test.rows) < MIN_TEST_ROWS and not fold:
        return _too_few_test_rows(report, items, proposed, len(test.rows))
    changed = len(changed_rows(before_scores, full_scores))
    if not any(decided[i.id].outcome == "kept" for i in new) and not report.unchecked:
        report.status = "nothing beat the current prompt"
        report.message = (
            f"No new guideline raised agreement on the selection rows it acted on ({changed} "
            f"of {len(selection.rows)} rows changed score), so none is put forward; the test "
            "rows were not used."
        )
        if fold:  # pooled with the other folds' rows: unchanged here, scored once
            message = report.message.replace(
                "the test rows were not used", "the test rows count unchanged"
            )
            try:
                scores = [j.score for j in await judge.judge(test.rows, [i.text for i in existing])]
            except BudgetExhausted as exhausted:
                report.status = "unverified: budget exhausted"
                report.message = f"The test rows could not be scored: {exhausted}."
                return existing, proposed, report
            report_test(report, test, scores, scores, options)
            report.message, report.warning = message, ""
        return existing, proposed, report
    try:
        test_before = await judge.judge(test.rows, [i.text for i in existing])
        test_after = await judge.judge(test.rows, [i.text for i in chosen])
    except BudgetExhausted as exhausted:
        report.status = "unverified: budget exhausted"
        report.message = f"The test rows could not be scored: {exhausted}."
        return _unverified(chosen), _unverified(proposed), report
    report_test(
        report, test, [j.score for j in test_before], [j.score for j in test_after], options
    )
    if report.unchecked:
        report.status = "unverified: budget exhausted"
        named = ", ".join(str(i) for i in report.unchecked)
        report.message = (
            f"The budget cut the search short: guideline(s) {named} were not checked and are "
            f"put forward unverified. {report.message}"
        )
    else:
        report.status = "verified"
    return chosen, proposed, report


def _too_few_test_rows(
    report: Verification,
    items: Sequence[GuidelineItem],
    proposed: Sequence[GuidelineItem],
    test_rows: int,
) -> tuple[list[GuidelineItem], list[GuidelineItem], Verification]:
    """Small data: the ablation's counts are shown, but nothing can be verified, so every
    guideline is put forward unverified (as without a judge), except one that made more
    selection rows worse than better."""
    harmful = {
        d.guideline_id
        for d in report.decisions
        if d.outcome == "dropped" and d.regressed > d.improved
    }
    report.status = "unverified: too few rows"
    report.message = (
        f"Only {test_rows} test rows (at least {MIN_TEST_ROWS} are needed): the guidelines "
        "are put forward unverified"
        + (
            f", except {', '.join(str(i) for i in sorted(harmful))}, which lowered agreement "
            "on the selection rows."
            if harmful
            else "."
        )
    )
    kept = [
        item.model_copy(update={"verified": False, "dropped_reason": None})
        for item in items
        if item.id not in harmful
    ]
    return (
        kept,
        [
            item.model_copy(
                update={
                    "verified": False,
                    "dropped_reason": item.dropped_reason if item.id in harmful else None,
                }
            )
            for item in proposed
        ],
        report,
    )


def _unverified(items: Sequence[GuidelineItem]) -> list[GuidelineItem]:
    return [item.model_copy(update={"verified": False}) for item in items]


def report_test(
    report: Verification,
    test: sampling.PartSample,
    before: Sequence[float | None],
    after: Sequence[float | None],
    options: dict[str, object],
) -> None:
    both = [i for i in range(len(test.rows)) if before[i] is not None and after[i] is not None]
    rows = [test.rows[i] for i in both]
    weights = [test.weights[i] for i in both]
    report.before = _figures(rows, weights, [before[i] for i in both], **options)
    report.after = _figures(rows, weights, [after[i] for i in both], **options)
    report.difference = paired_difference(
        [before[i] for i in both],  # type: ignore[misc]
        [after[i] for i in both],  # type: ignore[misc]
        [k.source.human for k in rows],
        [k.group for k in rows],
        weights=weights,
        **options,  # type: ignore[arg-type]
    )
    report.rows = [
        RowVerdict(
            row_id=kept.source.row_id,
            external_id=kept.source.external_id,
            human=kept.source.human,
            before=before[i],
            after=after[i],
            weight=round(test.weights[i], 4),
        )
        for i, kept in enumerate(test.rows)
    ]
    d = report.difference
    report.raised = d.low is not None and d.low > 0
    report.test_drop = d.value is not None and d.value < 0
    report.message = _summary(report)
    if report.test_drop:
        report.warning = (
            f"The chosen guidelines LOWERED agreement on the held-out test rows "
            f"({_interval(report)}). Accepting them asks for confirmation."
        )


def _interval(report: Verification) -> str:
    return format_difference(report.difference, after_minus_before=False)


def _summary(report: Verification) -> str:
    before, after = report.before, report.after
    old = None if before is None else before.kappa.value
    new = None if after is None else after.kappa.value
    rows = 0 if after is None else after.rows
    design = (
        "a stratified sample, weighted" if report.test_design == "stratified" else "a random sample"
    )
    if old is None or new is None:
        return f"Scored {rows} held-out test rows ({design}) before and after."
    verdict = (
        "raised" if report.raised else ("lowered" if report.test_drop else "did not clearly change")
    )
    return (
        f"Estimated for the whole evaluation from {rows} held-out test rows ({design}): the "
        f"chosen guidelines {verdict} weighted kappa, {old:.3f} before and {new:.3f} after "
        f"({_interval(report)}, paired on the same rows)."
    )
