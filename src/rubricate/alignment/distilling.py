"""Phase 3's reflection calls: which rows the reflection engine reads, the proposals of
the run's engine (offline or a reflection LM), and, on small data, one distillation per
fold of a cross-fitted run (``cross_fit.py``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rubricate.alignment import cross_fit
from rubricate.alignment.collecting import Collected, KeptRow
from rubricate.alignment.merging import merge_guidelines
from rubricate.alignment.reflection import distill_rows, run_setting
from rubricate.alignment.split import Part
from rubricate.domain.alignment import GuidelineItem
from rubricate.domain.alignment_runs import AlignmentRun
from rubricate.domain.metrics import MetricVersion
from rubricate.domain.traces import Guideline
from rubricate.models.client import ModelClient
from rubricate.models.names import OFFLINE_ENGINE
from rubricate.models.offline import distill_offline


def contrast_from(found: Collected, verifying: bool) -> list[KeptRow]:
    """The agreeing rows shown beside the disagreements: of the distillation part, like
    them, when the guidelines will be verified."""
    return [k for k in found.agreeing if not verifying or k.part is Part.DISTILL]


def distilled_from(found: Collected, verifying: bool) -> list[KeptRow]:
    """The disagreements the reflection engine reads: the distillation part's when the
    guidelines will be verified (selection and test rows never reach it), else all."""
    return [k for k in found.disagreements if not verifying or k.part is Part.DISTILL]


def audit_notes(found: Collected, verifying: bool) -> list[str]:
    """What the run says when the sampler chose rows and only the audit slice verifies."""
    if not (found.audited and verifying):
        return []
    checked = sum(k.part is not Part.DISTILL for k in (*found.disagreements, *found.agreeing))
    return [
        "The label sampler chose some of the reviewed rows, so they are not a random sample "
        f"of the evaluation: verification reads only the audit slice ({checked} rows, "
        "reviewed at random), and distillation reads the rest."
    ]


async def distill(
    run: AlignmentRun,
    client: ModelClient,
    found: Collected,
    disagreements: Sequence[KeptRow],
    agreeing: Sequence[KeptRow],
    base: MetricVersion,
    existing: list[str],
) -> tuple[list[Guideline], list[str]]:
    """The proposals of the run's reflection engine from ``disagreements``, with
    ``agreeing`` rows (of the same part) for contrast."""
    engine, params = run.params.reflection_lm, run.params
    traces = [k.trace for k in disagreements]
    if not traces:
        return [], ["There are no disagreements at this threshold: nothing to distill."]
    if engine == OFFLINE_ENGINE:
        distilled = distill_offline(
            traces, [k.trace for k in agreeing], scale=base.scale, existing=existing
        )
        return list(distilled.guidelines), list(distilled.notes)
    setting = run_setting(found, disagreements, base, params.delta)
    return await distill_rows(client, engine, disagreements, agreeing, setting, seed=params.seed)


async def distill_folds(
    run: AlignmentRun,
    client: ModelClient,
    found: Collected,
    base: MetricVersion,
    existing: list[str],
    on_fold: Callable[[int], None],
) -> tuple[list[list[GuidelineItem]], list[str]]:
    """Small data: each fold's merged guidelines, distilled from the other folds'
    disagreements (ids unique across folds), and the notes. ``on_fold(done)`` after each
    fold (progress; raises to stop a cancelled run)."""
    seed, folds = run.params.seed, cross_fit.FOLDS
    distilled = sum(k.part is Part.DISTILL for k in found.disagreements)
    notes = [
        f"Only {distilled} of the {len(found.disagreements)} disagreements would have been "
        f"distilled (fewer than {cross_fit.CROSS_FIT_BELOW}), so the run cross-fitted over "
        f"{folds} folds of input groups: each fold's guidelines come from the other folds' "
        "disagreements and are checked on this fold's rows only."
    ]
    merged: list[list[GuidelineItem]] = []
    for fold in range(folds):
        view = cross_fit.fold_view(found, seed, fold)
        proposals, fold_notes = await distill(
            run,
            client,
            found,
            distilled_from(view, True),
            contrast_from(view, True),
            base,
            existing,
        )
        items, merge_notes = merge_guidelines(proposals, prompt=base.prompt, existing=existing)
        merged.append(items)
        notes += [f"Fold {fold + 1}: {note}" for note in [*fold_notes, *merge_notes]]
        on_fold(fold + 1)
    return cross_fit.renumbered(merged), notes
