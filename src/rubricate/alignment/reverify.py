"""Verify again: the guidelines of an Aligned run as a person left them (edited, struck)
checked anew, the way the run checked its own: the run's judge model, fresh scores (no
response cache), the same plan rules and budget, on the run's held-out selection and test
rows (its seed gives the same parts, which distillation never read).

The run stays Aligned. What it puts forward becomes the guidelines verification kept (an
edit is now part of the text, so a later edit marks it unverified again); every guideline
tried stays in ``proposed`` with its verdict."""

from __future__ import annotations

from rubricate.alignment import collecting
from rubricate.alignment.verification import Judge, verification_plan, verify
from rubricate.domain.alignment import AlignmentResult, GuidelineItem, Verification
from rubricate.domain.alignment_runs import AlignmentRun, RunStatus
from rubricate.domain.errors import Conflict, InvalidInput, NotFound
from rubricate.models.client import ModelClient, Spending
from rubricate.settings import Settings
from rubricate.store.database import Database
from rubricate.store.mapping import to_version
from rubricate.store.runs import find_run, load_run, store_result
from rubricate.store.tables import MetricVersionRecord, utcnow
from rubricate.util import run_coroutine


def checked_result(run_id: str, status: str, result: dict[str, object] | None) -> AlignmentResult:
    """The result of a run that can be verified again, or why it cannot."""
    if RunStatus(status) is not RunStatus.ALIGNED or not result:
        raise Conflict(f"run {run_id!r} is not Aligned: only an Aligned run can be verified again")
    found = AlignmentResult.model_validate(result)
    if found.review.decision is not None:
        raise Conflict(
            f"run {run_id!r} was {found.review.decision} already: its guidelines cannot change"
        )
    if not found.effective_guidelines():
        raise Conflict(f"run {run_id!r} has no guidelines to verify (none, or every one struck)")
    return found


def verify_again(db: Database, settings: Settings, run_id: str) -> AlignmentRun:
    """Carry out one re-verification of ``run_id`` here and store its result."""
    with db.read() as session:
        record = find_run(session, run_id)
        run = load_run(session, record)
        result = checked_result(run_id, record.status, record.result)
        version = session.get(MetricVersionRecord, run.base_version_id)
        if version is None:
            raise NotFound(f"the base version of run {run_id!r} does not exist")
        base = to_version(version)
        counts = collecting.count(session, run.metric_id, run.params.evaluation_ids)
        found = collecting.collect(
            session,
            run.metric_id,
            run.params.evaluation_ids,
            delta=run.params.delta,
            seed=run.params.seed,
            counts=counts,
        )
    params = run.params
    if params.judge_model is None:
        raise InvalidInput(
            f"run {run_id!r} was started without a judge model, so it cannot be verified: "
            "start a run with a judge model",
            field="judge_model",
        )
    edits = len(result.review.edits)
    items = result.effective_guidelines()
    budget = params.budget
    spending = Spending(budget.max_calls, budget.max_tokens, budget.max_cost_usd)
    client = ModelClient(settings, cache=None, spending=spending, db=db)

    def calls_left() -> int | None:
        cap = spending.max_calls
        return None if cap is None else cap - spending.spent.calls

    the_plan = verification_plan(found, calls_left(), items)
    judge = Judge(client, params.judge_model, base, lambda _: None, calls_left)

    async def checking() -> tuple[list[GuidelineItem], list[GuidelineItem], Verification]:
        try:
            return await verify(
                judge,
                items,
                found=found,
                the_plan=the_plan,
                distill_rows=result.verification.distill_rows,
                delta=params.delta,
                seed=params.seed,
            )
        finally:
            await client.aclose()

    chosen, proposed, report = run_coroutine(checking())
    edited = sum(1 for g in items if not g.existing and g.id in _edited(result))
    report.message = (
        f"Verified again at {utcnow():%Y-%m-%d %H:%M} UTC, after {edited} guideline edit(s) "
        f"by a person. {report.message}"
    )
    if result.verification.cross_fit_folds:
        report.message += (
            " This run was cross-fitted on small data: verifying again uses its held-out "
            "selection and test parts, which other folds' distillation had read."
        )
    with db.write() as session:
        record = find_run(session, run_id, lock=True)
        current = checked_result(run_id, record.status, record.result)
        if len(current.review.edits) != edits:
            raise Conflict(
                f"run {run_id!r} was edited while it was verified again: verify it again"
            )
        usage = current.usage.model_copy()
        usage.judge_calls += client.spent.calls
        usage.input_tokens += client.spent.input_tokens
        usage.output_tokens += client.spent.output_tokens
        if usage.cost_usd is not None and client.spent.cost_usd is not None:
            usage.cost_usd += client.spent.cost_usd
        else:
            usage.cost_usd = None
        updated = current.model_copy(
            update={
                "guidelines": chosen,
                "proposed": proposed,
                "verification": report,
                "usage": usage,
            }
        )
        store_result(record, updated)
        session.flush()
        return load_run(session, record)


def _edited(result: AlignmentResult) -> set[int]:
    return {e.guideline_id for e in result.review.edits if e.action == "edit"}
