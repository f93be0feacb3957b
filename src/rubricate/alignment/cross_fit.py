"""Small data: cross-fitting over input groups.

With a judge model, the held-out split gives distillation half of the input groups, so a
run with few disagreements distills from a handful (the demo: 7 of 23). When the
distillation part would hold fewer than ``CROSS_FIT_BELOW`` disagreements, the run
cross-fits instead:

- every input group goes to one of ``FOLDS`` folds by a seeded hash (as the split does:
  a row's fold never depends on which other rows are present);
- for each fold, the reflection engine distills from the disagreements of the *other*
  folds (two thirds of them), and that fold's guidelines are checked on this fold's rows
  only, half of its groups choosing (selection) and half reporting (test). No row is
  ever scored with a guideline distilled from its own input group;
- the folds' test rows are pooled into one paired difference (each row scored before
  and with the guidelines its fold kept; a fold that kept none counts with its rows
  unchanged), which estimates what this way of distilling does on rows it never saw;
- a guideline (with its paraphrases from other folds) is put forward when the folds'
  ablation counts, added up over their disjoint selection rows, pass a one-sided sign
  test with Holm's correction across the guidelines.

The judge calls are planned up front: each fold gets an equal share of the calls left
after ``REFLECTION_RESERVE`` (what the plan leaves reflection), so ``estimate.py`` can
state an upper bound the run never exceeds."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rubricate import stats
from rubricate.alignment import sampling
from rubricate.alignment.ablation import ALPHA
from rubricate.alignment.collecting import Collected, KeptRow
from rubricate.alignment.merging import about_other_things, content_words, similar
from rubricate.alignment.plan import Plan, plan
from rubricate.alignment.split import Part
from rubricate.alignment.verification import Judge, report_test, verify
from rubricate.domain.alignment import MIN_TEST_ROWS, GuidelineItem, Verification
from rubricate.domain.scale import Scale
from rubricate.models.client import Spending

CROSS_FIT_BELOW = 20  # disagreements in the distillation part under which a run cross-fits
FOLDS = 3  # each distillation sees about two thirds of the disagreements
REFLECTION_RESERVE = 80  # calls kept for reflection before the folds share the rest


def fold_of(group: str, seed: int, folds: int = FOLDS) -> int:
    digest = hashlib.sha256(f"{seed}:fold:{group}".encode()).digest()
    return int.from_bytes(digest[:8], "big") * folds // 2**64


def checking_part(group: str, seed: int) -> Part:
    """Within its fold, an input group chooses (selection) or reports (test)."""
    digest = hashlib.sha256(f"{seed}:fold-part:{group}".encode()).digest()
    return Part.SELECTION if digest[0] < 128 else Part.TEST


def cross_fits(found: Collected, verifying: bool) -> bool:
    """Whether a run cross-fits: verified, and too few disagreements to distill from;
    never when the sampler chose rows (its targeted rows may only be distilled from)."""
    distilled = sum(1 for k in found.disagreements if k.part is Part.DISTILL)
    small = bool(found.disagreements) and distilled < CROSS_FIT_BELOW
    return verifying and small and not found.audited


def fold_view(found: Collected, seed: int, fold: int) -> Collected:
    """The rows as fold ``fold`` sees them: its own groups are checked (selection or
    test), every other group is distilled from."""

    def reparted(kept: KeptRow) -> KeptRow:
        part = (
            checking_part(kept.group, seed) if fold_of(kept.group, seed) == fold else Part.DISTILL
        )
        return dataclasses.replace(kept, part=part)

    return Collected(
        counts=found.counts,
        disagreements=[reparted(k) for k in found.disagreements],
        agreeing=[reparted(k) for k in found.agreeing],
        agreeing_count=found.agreeing_count,
        reviewer_units=found.reviewer_units,
    )


def fold_plans(
    views: Sequence[Collected], calls_left: int | None, items: Sequence[Sequence[GuidelineItem]]
) -> list[Plan]:
    """Each fold's judge calls, fixed before the first: an equal share of what is left
    after the reflection reserve (``items``: each fold's guidelines; empty lists plan for
    the most a fold can propose)."""
    share = None if calls_left is None else max(calls_left - REFLECTION_RESERVE, 0) // len(views)
    plans = []
    for view, fold_items in zip(views, items, strict=True):
        new = sum(1 for item in fold_items if not item.existing)
        extra = {} if not fold_items else {"guidelines": new}
        plans.append(
            plan(
                share,
                sampling.available(view, Part.SELECTION),
                sampling.available(view, Part.TEST),
                **extra,
            )
        )
    return plans


def renumbered(folds: Sequence[Sequence[GuidelineItem]]) -> list[list[GuidelineItem]]:
    """Each fold's merged list with ids unique across folds: the existing guidelines keep
    theirs (the same in every fold), new ones are numbered on from the last."""
    next_id = 1 + max((i.id for f in folds for i in f if i.existing), default=0)
    out: list[list[GuidelineItem]] = []
    for items in folds:
        fold: list[GuidelineItem] = []
        for item in items:
            if not item.existing:
                item = item.model_copy(update={"id": next_id})
                next_id += 1
            fold.append(item)
        out.append(fold)
    return out


def flattened(folds: Sequence[Sequence[GuidelineItem]]) -> list[GuidelineItem]:
    """Every fold's guidelines in one list, existing ones once."""
    seen: set[int] = set()
    flat: list[GuidelineItem] = []
    for items in folds:
        for item in items:
            if item.id not in seen:
                seen.add(item.id)
                flat.append(item)
    return flat


@dataclass(frozen=True, slots=True)
class FoldOutcome:
    chosen: list[GuidelineItem]
    proposed: list[GuidelineItem]
    report: Verification


def _groups(outcomes: Sequence[FoldOutcome]) -> list[list[tuple[int, GuidelineItem, bool]]]:
    """The folds' new guidelines, paraphrases together: (fold, item, chosen there)."""
    groups: list[list[tuple[int, GuidelineItem, bool]]] = []
    for fold, outcome in enumerate(outcomes):
        chosen = {item.id for item in outcome.chosen}
        for item in outcome.proposed:
            if item.existing:
                continue
            words = content_words(item.text)
            twin = next(
                (
                    g
                    for g in groups
                    if g[0][1].direction == item.direction
                    and similar(words, content_words(g[0][1].text))
                    and not about_other_things(item.text, g[0][1].text)
                ),
                None,
            )
            member = (fold, item, item.id in chosen)
            if twin is None:
                groups.append([member])
            else:
                twin.append(member)
    return groups


def combined_guidelines(
    outcomes: Sequence[FoldOutcome], harmful: set[int] | None = None
) -> tuple[list[GuidelineItem], list[GuidelineItem]]:
    """What the run puts forward and everything proposed: one guideline per group of
    paraphrases. Each fold's ablation counted, on its own selection rows, how often a
    guideline improved and worsened the judge; the folds' rows are disjoint, so a group's
    counts add up, and it is put forward when a one-sided sign test on the sum passes
    Holm's correction across the groups (a fold on its own rarely has the rows to decide).
    With ``harmful`` (too few test rows to verify anything), every group is put forward
    unverified unless a member is one of those ids (it made more selection rows worse
    than better)."""
    existing = [item for item in outcomes[0].proposed if item.existing] if outcomes else []
    decided = {d.guideline_id: d for o in outcomes for d in o.report.decisions}
    groups = _groups(outcomes)
    counts = [
        (
            sum(decided[i.id].improved for _, i, _ in g if i.id in decided),
            sum(decided[i.id].regressed for _, i, _ in g if i.id in decided),
        )
        for g in groups
    ]
    adjusted = stats.holm([stats.sign_test(up, down) for up, down in counts])
    chosen, proposed = list(existing), list(existing)
    for members, (up, down), p_value in zip(groups, counts, adjusted, strict=True):
        _, best, _ = max(members, key=lambda m: (len(m[1].row_ids), -m[1].id))
        folds = ", ".join(str(f + 1) for f in sorted({f for f, _, _ in members}))
        tally = (
            f"across the folds it raised agreement on {up} and lowered it on {down} of the "
            f"selection rows it acted on (p = {p_value:.2g} after Holm's correction)"
        )
        if harmful is not None:
            keep, verified = not any(i.id in harmful for _, i, _ in members), False
            reason = None if keep else f"lowered agreement: {tally}"
        else:
            keep = p_value <= ALPHA
            verified = keep  # by the pooled test rows, which the run reports
            reason = None if keep else f"not enough to show that it helps: {tally}"
        item = best.model_copy(
            update={
                "row_ids": sorted({r for _, i, _ in members for r in i.row_ids}),
                "verified": verified,
                "dropped_reason": reason,
                "evidence": " ".join(
                    part
                    for part in (best.evidence, f"(Cross-fitted: proposed in fold(s) {folds}.)")
                    if part
                ),
            }
        )
        proposed.append(item)
        if keep:
            chosen.append(item)
    return chosen, proposed


def pooled_sample(
    found: Collected, reports: Sequence[Verification]
) -> tuple[sampling.PartSample, list[float | None], list[float | None]]:
    """The folds' test rows as one sample, with their scores before and after."""
    by_id = {k.source.row_id: k for k in [*found.disagreements, *found.agreeing]}
    verdicts = [v for report in reports for v in report.rows if v.row_id in by_id]
    designs = {report.test_design for report in reports if report.rows}
    sample = sampling.PartSample(
        rows=[by_id[v.row_id] for v in verdicts],
        weights=[v.weight for v in verdicts],
        design="stratified" if "stratified" in designs else "random",
        population=sum(v.weight for v in verdicts),
    )
    return sample, [v.before for v in verdicts], [v.after for v in verdicts]


def enough_test_rows(reports: Sequence[Verification]) -> bool:
    return sum(len(report.rows) for report in reports) >= MIN_TEST_ROWS


async def verify_folds(
    make_judge: Callable[[], Judge],
    spending: Spending,
    folds: Sequence[Sequence[GuidelineItem]],
    *,
    found: Collected,
    views: Sequence[Collected],
    plans: Sequence[Plan],
    scale: Scale,
    delta: float,
    seed: int,
) -> tuple[list[GuidelineItem], list[GuidelineItem], Verification]:
    """Verify each fold's guidelines on its own rows, then combine the folds."""
    original = spending.max_calls  # each fold's judge caps it to its plan: undone here
    outcomes: list[FoldOutcome] = []
    try:
        for items, view, the_plan in zip(folds, views, plans, strict=True):
            spending.max_calls = original
            distilled = sum(1 for k in view.disagreements if k.part is Part.DISTILL)
            chosen, proposed, report = await verify(
                make_judge(),
                items,
                found=view,
                the_plan=the_plan,
                distill_rows=distilled,
                delta=delta,
                seed=seed,
                fold=True,
            )
            outcomes.append(FoldOutcome(chosen, proposed, report))
    finally:
        spending.max_calls = original
    return combine(outcomes, found, scale=scale, delta=delta, seed=seed)


def combine(
    outcomes: Sequence[FoldOutcome], found: Collected, *, scale: Scale, delta: float, seed: int
) -> tuple[list[GuidelineItem], list[GuidelineItem], Verification]:
    """One report for the run from the folds': their test rows pooled."""
    reports = [o.report for o in outcomes]
    report = Verification(
        cross_fit_folds=len(outcomes),
        distill_rows=len(found.disagreements),  # each one reached the other folds'
        selection_rows=sum(r.selection_rows for r in reports),
        test_rows=sum(len(r.rows) for r in reports),
        selection_design=next((r.selection_design for r in reports if r.selection_design), None),
        proposals=[p for r in reports for p in r.proposals],
        decisions=[d for r in reports for d in r.decisions],
        unchecked=[i for r in reports for i in r.unchecked],
        planned_calls=sum(r.planned_calls for r in reports),
    )
    intro = (
        f"Small data: cross-fitted over {len(outcomes)} folds of input groups. Each fold's "
        f"guidelines were distilled from the other folds' disagreements (about "
        f"{(len(outcomes) - 1) * 100 // len(outcomes)}% of the {len(found.disagreements)}) "
        "and checked on this fold's rows only, so no row was scored with a guideline "
        "distilled from its own input."
    )
    per_fold = " ".join(f"Fold {k + 1}: {r.message}" for k, r in enumerate(reports) if r.message)
    statuses = [r.status for r in reports]
    harmful = {
        d.guideline_id
        for d in report.decisions
        if d.outcome == "dropped" and d.regressed > d.improved
    }
    if any(s.startswith("unverified") for s in statuses) or not enough_test_rows(reports):
        why = (
            "not every fold could be verified"
            if any(s.startswith("unverified") for s in statuses)
            else f"only {report.test_rows} test rows in all (at least {MIN_TEST_ROWS} are needed)"
        )
        chosen, proposed = combined_guidelines(outcomes, harmful)
        report.status = (
            "unverified: budget exhausted"
            if "unverified: budget exhausted" in statuses
            else "unverified: too few rows"
        )
        report.message = (
            f"{intro} But {why}: the guidelines are put forward unverified, except any that "
            f"lowered agreement on more selection rows than it raised. {per_fold}"
        )
        report.rows = []  # no figures: what was scored does not make an estimate
        return chosen, proposed, report
    chosen, proposed = combined_guidelines(outcomes)
    sample, before, after = pooled_sample(found, reports)
    report_test(report, sample, before, after, {"scale": scale, "delta": delta, "seed": seed})
    if any(not item.existing for item in chosen):
        report.status = "verified"
        pooled = (
            " The figures pool every fold's test rows, each scored with the guidelines its "
            "fold kept: they estimate what guidelines distilled this way do on rows they "
            "were not distilled from."
        )
    else:
        report.status = "nothing beat the current prompt"
        report.raised = report.test_drop = False
        report.warning = ""
        pooled = (
            " No new guideline passed the sign test on the folds' selection rows taken "
            "together, so none is put forward."
        )
    report.message = f"{intro} {report.message}{pooled} {per_fold}"
    return chosen, proposed, report
