"""Before a run starts: what it would find (phases 1 and 2 read the database only) and
what it would cost, from rendered prompts and offline token estimates. No model is
called.

Judge calls are an upper bound the run never exceeds: verification plans its calls before
it starts (``plan.py``: the selection and test rows twice each, and the ablation's
allowance for the most guidelines a run proposes) and stops at the plan. The tokens and
the cost of those calls are estimated for that same bound, with guidelines of a typical
length. A run that cross-fits on small data (``cross_fit.py``) is estimated fold by fold:
each fold's reflection requests, and each fold's plan on its equal share of the budget
less the reflection reserve, the most the run can give it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from rubricate.alignment import collecting, cross_fit, sampling
from rubricate.alignment.distilling import contrast_from, distilled_from
from rubricate.alignment.judging import judge_request, numbered
from rubricate.alignment.loading import SourceRow
from rubricate.alignment.merging import MAX_NEW
from rubricate.alignment.plan import plan
from rubricate.alignment.reflection import planned_requests, run_setting
from rubricate.alignment.split import Part
from rubricate.domain.alignment_runs import AlignmentParams
from rubricate.domain.calibration import ReviewerWarning
from rubricate.domain.metrics import MetricVersion
from rubricate.models import cost
from rubricate.models.names import OFFLINE_ENGINE, parse_model_name
from rubricate.models.providers import price_provider_of
from rubricate.settings import Settings

REFLECTION_ANSWER_TOKENS = 600
SAMPLE_GUIDELINES = numbered(["A typical guideline of about this length. " * 3] * MAX_NEW)


@dataclass(frozen=True, slots=True)
class AlignmentPreview:
    rows_used: int
    disagreements: int
    agreeing: int
    missing_judge: int
    missing_human: int
    reviewer_alpha: float | None
    low_confidence: bool
    reflection_lm: str
    judge_model: str | None
    reflection_calls: int
    judge_calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None  # None: a model's price is unknown
    max_calls: int | None = None  # the budget's cap on all calls (None: no cap)
    # Why the run could not start as given although the estimate could be made (a model's
    # key is missing): a dry run calls no model, so it needs no key, but it says so.
    cannot_start: str | None = None
    # Reviewers agree too little on the rows the run would use (their alpha below the
    # setting), and who pulls it down: the run may start, but the user is told first.
    reviewer_warning: ReviewerWarning | None = None


def estimate(
    session: Session,
    metric_id: int,
    base: MetricVersion,
    params: AlignmentParams,
    settings: Settings,
) -> AlignmentPreview:
    counts = collecting.count(session, metric_id, params.evaluation_ids)
    found = collecting.collect(
        session,
        metric_id,
        params.evaluation_ids,
        delta=params.delta,
        seed=params.seed,
        counts=counts,
    )
    verifying = params.judge_model is not None
    money: float | None = 0.0
    tokens_in = tokens_out = reflection_calls = judge_calls = 0

    folded = cross_fit.cross_fits(found, verifying)  # small data: one distillation a fold
    views = (
        [cross_fit.fold_view(found, params.seed, k) for k in range(cross_fit.FOLDS)]
        if folded
        else [found]
    )
    if params.reflection_lm != OFFLINE_ENGINE:
        # The very requests the run would send (its sample, batches and contrast rows),
        # and the consolidation call at its largest.
        for view in views:
            disagreements = distilled_from(view, verifying)
            setting = run_setting(found, disagreements, base, params.delta)
            contrast = contrast_from(view, verifying)
            for request in planned_requests(setting, disagreements, contrast, seed=params.seed):
                reflection_calls += 1
                tokens = cost.estimate_tokens(request.system + request.user)
                tokens_in += tokens
                tokens_out += REFLECTION_ANSWER_TOKENS
                money = _add(
                    money, params.reflection_lm, tokens, REFLECTION_ANSWER_TOKENS, settings
                )

    if params.judge_model is not None:
        model = params.judge_model
        cap = params.budget.max_calls
        # The most the judge can be given: the budget left after reflection's estimate
        # (the plan never exceeds the calls left, nor its full size); when cross-fitting,
        # each fold's equal share of the whole budget less the reflection reserve.
        plans = (
            cross_fit.fold_plans(views, cap, [[] for _ in views])
            if folded
            else [
                plan(
                    None if cap is None else max(cap - reflection_calls, 0),
                    sampling.available(found, Part.SELECTION),
                    sampling.available(found, Part.TEST),
                )
            ]
        )
        for view, the_plan in zip(views, plans, strict=True):
            selection = sampling.draw(
                view, Part.SELECTION, the_plan.selection, params.seed, stratify=False
            ).rows
            test = sampling.draw(view, Part.TEST, the_plan.test, params.seed, stratify=True).rows
            sizes = [_tokens(base, kept.source) for kept in selection]
            widest = max(sizes, default=0)
            for tokens, calls in [
                *((t, 2) for t in sizes),
                *((_tokens(base, kept.source), 2) for kept in test),
                (widest, the_plan.ablation),  # rows left out of: the longest selection row
            ]:
                judge_calls += calls
                tokens_in += tokens * calls
                tokens_out += cost.ANSWER_TOKENS * calls
                money = _add(money, model, tokens * calls, cost.ANSWER_TOKENS * calls, settings)

    return AlignmentPreview(
        **found.figures(base.scale),
        agreeing=found.agreeing_count,
        reflection_lm=params.reflection_lm,
        judge_model=params.judge_model,
        reflection_calls=reflection_calls,
        judge_calls=judge_calls,
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cost_usd=money,
        max_calls=params.budget.max_calls,
    )


def _tokens(base: MetricVersion, row: SourceRow) -> int:
    request = judge_request(base, SAMPLE_GUIDELINES, row)
    return cost.estimate_tokens(request.system + request.user)


def _add(
    total: float | None, model: str, tokens_in: int, tokens_out: int, settings: Settings
) -> float | None:
    name = parse_model_name(model, settings)
    price = cost.price(price_provider_of(name), name.model, tokens_in, tokens_out)
    return None if total is None or price is None else total + price
