"""Before a run starts: what it would find (phases 1 and 2 read the database only) and
what it would cost, from rendered prompts and offline token estimates. No model is
called. Verification's cost depends on how many guidelines come out, so it is estimated
for a typical run: the current and the full proposal, two revision trials, the test rows
twice."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from rubricate.alignment import collecting
from rubricate.alignment.engine import agreeing_for, distilled_from
from rubricate.alignment.judging import judge_request, reusable
from rubricate.alignment.reflection import batches, reflection_request
from rubricate.alignment.split import Part
from rubricate.domain.alignment import parse_guidelines_text
from rubricate.domain.metrics import MetricVersion
from rubricate.domain.runs import LOW_CONFIDENCE_DISAGREEMENTS, AlignmentParams
from rubricate.models import cost
from rubricate.models.names import OFFLINE_ENGINE, parse_model_name
from rubricate.models.providers import price_provider_of
from rubricate.settings import Settings

REFLECTION_ANSWER_TOKENS = 600
PROPOSALS_TRIED = 4  # current, all guidelines, two revision trials
SAMPLE_GUIDELINES = "- " + "A typical guideline of about this length. " * 3


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

    if params.reflection_lm != OFFLINE_ENGINE:
        traces = [k.trace for k in distilled_from(found, verifying)]
        existing = parse_guidelines_text(base.guidelines)
        for batch in batches(traces):
            request = reflection_request(
                batch, prompt=base.prompt, guidelines=existing, scale=base.scale
            )
            reflection_calls += 1
            tokens = cost.estimate_tokens(request.system + request.user)
            tokens_in += tokens
            tokens_out += REFLECTION_ANSWER_TOKENS
            money = _add(money, params.reflection_lm, tokens, REFLECTION_ANSWER_TOKENS, settings)

    if params.judge_model is not None:
        model = params.judge_model
        selection = agreeing_for(found, Part.SELECTION)
        test = agreeing_for(found, Part.TEST)
        for rows, tries in ((selection, PROPOSALS_TRIED), (test, 2)):
            for kept in rows:
                request = judge_request(base, SAMPLE_GUIDELINES, kept.source)
                tokens = cost.estimate_tokens(request.system + request.user)
                calls = tries - (1 if reusable(kept.source, model, base) else 0)
                judge_calls += calls
                tokens_in += tokens * calls
                tokens_out += cost.ANSWER_TOKENS * calls
                money = _add(money, model, tokens * calls, cost.ANSWER_TOKENS * calls, settings)

    return AlignmentPreview(
        rows_used=counts.usable,
        disagreements=len(found.disagreements),
        agreeing=found.agreeing_count,
        missing_judge=counts.missing_judge,
        missing_human=counts.missing_human,
        reviewer_alpha=found.reviewer_alpha(base.scale),
        low_confidence=len(found.disagreements) < LOW_CONFIDENCE_DISAGREEMENTS,
        reflection_lm=params.reflection_lm,
        judge_model=params.judge_model,
        reflection_calls=reflection_calls,
        judge_calls=judge_calls,
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cost_usd=money,
    )


def _add(
    total: float | None, model: str, tokens_in: int, tokens_out: int, settings: Settings
) -> float | None:
    name = parse_model_name(model, settings)
    price = cost.price(price_provider_of(name), name.model, tokens_in, tokens_out)
    return None if total is None or price is None else total + price
