"""Carries out one alignment run, phase by phase, writing phase and progress to the run
record as it goes. A cancel is seen at the next page or batch boundary: the run stops
there, makes no further model call, and keeps the counts it had."""

from __future__ import annotations

from collections.abc import Callable

from rubricate.alignment import collecting, cross_fit
from rubricate.alignment.collecting import Collected
from rubricate.alignment.distilling import (
    audit_notes,
    contrast_from,
    distill,
    distill_folds,
    distilled_from,
)
from rubricate.alignment.merging import merge_guidelines
from rubricate.alignment.plan import PART_ROWS as PART_ROWS  # sizes live with the plan
from rubricate.alignment.stages import STAGES, Carried, Stage, earlier
from rubricate.alignment.verification import Judge, verification_plan, verify
from rubricate.domain.alignment import (
    AlignmentResult,
    Verification,
    parse_guidelines_text,
)
from rubricate.domain.alignment_runs import (
    AlignmentRun,
    Phase,
    RunStatus,
    check_transition,
)
from rubricate.domain.errors import NotFound, RubricateError
from rubricate.domain.metrics import MetricVersion
from rubricate.models.cache import ResponseCache
from rubricate.models.client import ModelClient, Spending
from rubricate.models.journal import RunJournal
from rubricate.models.secrets import redact
from rubricate.settings import Settings
from rubricate.store.database import Database
from rubricate.store.mapping import to_version
from rubricate.store.runs import find_run, load_run, store_result
from rubricate.store.tables import MetricVersionRecord, utcnow
from rubricate.util import run_coroutine

Progress = Callable[[Phase | None, int, int], None]  # phase, done, total: for a progress bar


class Cancelled(Exception):
    """The run was cancelled; raised at a boundary to unwind the work."""


class AlignmentEngine:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        cache: bool | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.use_cache = settings.response_cache if cache is None else cache
        self.progress = progress
        self._memo: dict[tuple[str, bool], Collected] = {}

    def run(self, run_id: str) -> AlignmentRun:
        """Carry the run out in this process, its stages in order. A finished run is
        returned as it is."""
        carried = Carried()
        for stage in STAGES:
            carried = self.run_stage(run_id, stage, carried)
            if carried.stopped:
                break
        return self._get(run_id)

    def run_stage(self, run_id: str, stage: Stage, carried: Carried) -> Carried:
        """One stage of the run, as a durable step: ``carried`` comes out with this stage's
        output added (``stopped``: the run ended). Every stage can run again: it reads what
        it needs from the database (the row pass is deterministic), its model calls are
        journaled, and its writes are idempotent."""
        run = self._get(run_id)
        if run.status.finished:
            return carried.stop()
        if run.status is RunStatus.PENDING:
            self._update(run_id, status=RunStatus.RUNNING, started=True, check=False)
        budget = run.params.budget
        spent = carried.budget_spent()
        spending = Spending(budget.max_calls, budget.max_tokens, budget.max_cost_usd, spent)
        cache = ResponseCache(self.db) if self.use_cache else None
        journal = RunJournal(self.db, run_id)  # finished calls survive a crash
        clients = tuple(  # the reflection LM's and the judge's
            ModelClient(self.settings, cache=cache, journal=journal, spending=spending, db=self.db)
            for _ in range(2)
        )
        try:
            output = run_coroutine(self._closing(stage, run, carried, clients[0], clients[1]))
        except Cancelled:
            return carried.stop()
        except RubricateError as error:
            self._fail(run_id, str(error))
            raise
        except BaseException:
            self._fail(run_id, "interrupted before it finished")
            raise
        finally:
            journal.flush()
            if cache is not None:
                cache.flush()
        return output.counting(clients[0], clients[1], spending.spent)

    async def _closing(
        self,
        stage: Stage,
        run: AlignmentRun,
        carried: Carried,
        reflection: ModelClient,
        judge: ModelClient,
    ) -> Carried:
        try:
            if stage is Stage.PREPARE:
                return self._prepare(run, carried)
            if stage is Stage.DISTILL:
                return await self._distill_stage(run, carried, reflection)
            if stage is Stage.VERIFY:
                return await self._verify_stage(run, carried, judge)
            return self._finish_stage(run, carried)
        finally:  # on this loop, before asyncio.run closes it
            await reflection.aclose()
            await judge.aclose()

    def _collected(self, run: AlignmentRun, *, report: bool) -> Collected:
        """Phases 1 and 2 (the row pass); with ``report``, written to the run as they go."""
        params = run.params
        evaluation_ids = params.evaluation_ids
        key = (run.id, report)
        if key in self._memo:
            return self._memo[key]
        if report:
            total = len(evaluation_ids)
            self._update(run.id, phase=Phase.LOADING_ANNOTATIONS, done=0, total=total)
        with self.db.read() as session:
            counts = collecting.count(session, run.metric_id, evaluation_ids)
        if report:
            missing = counts.missing_judge + counts.missing_human
            loading = Phase.LOADING_ANNOTATIONS
            self._update(run.id, phase=loading, done=len(evaluation_ids), missing=missing)
            self._update(run.id, phase=Phase.BUILDING_TRACES, done=0, total=counts.usable)
        with self.db.read() as session:
            found = collecting.collect(
                session,
                run.metric_id,
                evaluation_ids,
                delta=params.delta,
                seed=params.seed,
                counts=counts,
                on_page=self._reporter(run.id, Phase.BUILDING_TRACES) if report else None,
            )
        self._memo = {(run.id, False): found}  # one run's rows at a time
        return found

    def _prepare(self, run: AlignmentRun, carried: Carried) -> Carried:
        found = self._collected(run, report=True)
        self._update(
            run.id,
            disagreements=found.disagreements_total,
            agreeing=found.agreeing_count,
            low_confidence=found.low_confidence,
        )
        return carried.model_copy(update={"prepared": True})

    async def _distill_stage(
        self, run: AlignmentRun, carried: Carried, reflection: ModelClient
    ) -> Carried:
        """Phase 3: distill from the distillation part (all rows when nothing is verified),
        then merge."""
        params = run.params
        base = self._version(run.base_version_id)
        found = self._collected(run, report=False)
        verifying = params.judge_model is not None
        distill_part = distilled_from(found, verifying)
        contrast = contrast_from(found, verifying)
        existing = parse_guidelines_text(base.guidelines)
        if cross_fit.cross_fits(found, verifying):
            self._update(run.id, phase=Phase.DISTILLING, done=0, total=cross_fit.FOLDS)
            folded, notes = await distill_folds(
                run,
                reflection,
                found,
                base,
                existing,
                lambda done: self._update(run.id, phase=Phase.DISTILLING, done=done),
            )
            update = {"proposed": cross_fit.flattened(folded), "fold_proposed": folded}
            return carried.model_copy(update=update | {"notes": notes})
        self._update(run.id, phase=Phase.DISTILLING, done=0, total=1)
        self._update(run.id)  # the last boundary before the reflection calls
        proposals, notes = await distill(
            run, reflection, found, distill_part, contrast, base, existing
        )
        items, merge_notes = merge_guidelines(proposals, prompt=base.prompt, existing=existing)
        self._update(run.id, phase=Phase.DISTILLING, done=1)
        notes = [*notes, *merge_notes, *audit_notes(found, verifying)]
        return carried.model_copy(update={"proposed": items, "notes": notes})

    async def _verify_stage(
        self, run: AlignmentRun, carried: Carried, judge: ModelClient
    ) -> Carried:
        """Phase 4: verification on held-out rows, when a judge model is given."""
        params = run.params
        found = self._collected(run, report=False)
        items = carried.proposed or []
        distill_rows = len(distilled_from(found, params.judge_model is not None))
        if params.judge_model is None:
            report = Verification(
                distill_rows=distill_rows,
                message="No judge model was given, so the guidelines are not verified.",
            )
            return carried.model_copy(update={"chosen": items, "verification": report})
        base = self._version(run.base_version_id)
        spending = judge.spending

        def calls_left() -> int | None:
            cap = spending.max_calls
            return None if cap is None else cap - spending.spent.calls

        folds = carried.fold_proposed
        views = [cross_fit.fold_view(found, params.seed, k) for k in range(len(folds or []))]
        plans = [] if folds is None else cross_fit.fold_plans(views, calls_left(), folds)
        the_plan = verification_plan(found, calls_left(), items)
        planned = the_plan.calls if folds is None else sum(p.calls for p in plans)
        self._update(run.id, phase=Phase.VERIFYING, done=0, total=planned)
        model = params.judge_model

        def checker() -> Judge:
            def checkpoint(calls: int) -> None:
                self._update(run.id, phase=Phase.VERIFYING, done=min(calls, planned))

            return Judge(judge, model, base, checkpoint, calls_left)

        if folds is not None:
            checked = await cross_fit.verify_folds(
                checker,
                spending,
                folds,
                found=found,
                views=views,
                plans=plans,
                scale=base.scale,
                delta=params.delta,
                seed=params.seed,
            )
        else:
            checked = await verify(
                checker(),
                items,
                found=found,
                the_plan=the_plan,
                distill_rows=distill_rows,
                delta=params.delta,
                seed=params.seed,
            )
        # ``proposed`` comes back with each guideline's verdict (verified, or why dropped).
        chosen, proposed, report = checked
        update = {"chosen": chosen, "proposed": proposed, "verification": report}
        return carried.model_copy(update=update)

    def _finish_stage(self, run: AlignmentRun, carried: Carried) -> Carried:
        found = self._collected(run, report=False)
        base = self._version(run.base_version_id)
        self._update(run.id, phase=Phase.FINALIZING, done=0, total=1)
        if carried.chosen is None or carried.proposed is None or carried.verification is None:
            raise RubricateError(f"run {run.id} reached its last stage without its earlier ones")
        usage = carried.usage.model_copy(
            update={"reused_judge_results": carried.reused_judge_results}
        )
        result = AlignmentResult(
            engine=run.params.reflection_lm,
            guidelines=carried.chosen,
            proposed=carried.proposed,
            notes=list(carried.notes),
            **found.figures(base.scale),
            agreeing_skipped=found.agreeing_count,
            verification=carried.verification,
            usage=usage,
        )
        self._finish(run.id, result)
        return carried.stop()

    # -- the run record ----------------------------------------------------------------

    def _get(self, run_id: str) -> AlignmentRun:
        with self.db.read() as session:
            return load_run(session, find_run(session, run_id))

    def _version(self, version_id: int) -> MetricVersion:
        with self.db.read() as session:
            record = session.get(MetricVersionRecord, version_id)
            if record is None:
                raise NotFound(f"metric version {version_id} is gone")
            return to_version(record)

    def _reporter(self, run_id: str, phase: Phase) -> Callable[[int], None]:
        """Progress within ``phase``: ignored when the run is past it already (replayed)."""
        return lambda done: self._update(run_id, phase=phase, done=done)

    def _update(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        started: bool = False,
        phase: Phase | None = None,
        done: int | None = None,
        total: int | None = None,
        missing: int | None = None,
        disagreements: int | None = None,
        agreeing: int | None = None,
        low_confidence: bool | None = None,
        check: bool = True,
    ) -> None:
        """Write progress, and stop here (raise Cancelled) if the run was cancelled
        meanwhile; ``check=False`` only for the status change that starts the run."""
        with self.db.write() as session:
            record = find_run(session, run_id, lock=True)
            if check and record.status == RunStatus.CANCELLED.value:
                raise Cancelled
            if status is not None:
                check_transition(RunStatus(record.status), status)
                record.status = status.value
            if started:
                record.started_at = utcnow()
            stored = Phase(record.phase) if record.phase else None
            if phase is not None and stored is not None and earlier(phase, stored):
                # A resumed run replays earlier phases: its progress stays where it was.
                phase = done = total = None
            elif phase is not None and phase is not stored:
                record.phase = phase.value
                record.progress_done = 0
            if total is not None:
                record.progress_total = total
            if done is not None:  # progress never goes backwards within a phase
                record.progress_done = max(done, record.progress_done)
            if missing is not None:
                record.missing_skipped = missing
            if disagreements is not None:
                record.disagreements = disagreements
            if agreeing is not None:
                record.agreeing_skipped = agreeing
            if low_confidence is not None:
                record.low_confidence = low_confidence
            shown = (record.phase, record.progress_done, record.progress_total)
        if self.progress is not None and shown[0] is not None:
            self.progress(Phase(shown[0]), shown[1], shown[2])

    def _finish(self, run_id: str, result: AlignmentResult) -> None:
        with self.db.write() as session:
            record = find_run(session, run_id, lock=True)
            if record.status != RunStatus.RUNNING.value:
                return  # cancelled at the very end: the cancel stands
            store_result(record, result)
            record.status = RunStatus.ALIGNED.value
            record.progress_done = record.progress_total
            record.finished_at = utcnow()

    def _fail(self, run_id: str, message: str) -> None:
        with self.db.write() as session:
            record = find_run(session, run_id, lock=True)
            if RunStatus(record.status).finished:
                return
            record.status = RunStatus.ERROR.value
            record.error = redact(message, self.settings)
            record.finished_at = utcnow()
