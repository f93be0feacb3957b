"""Carries out one alignment run, phase by phase, writing phase and progress to the run
record as it goes. A cancel is seen at the next page or batch boundary: the run stops
there, makes no further model call, and keeps the counts it had."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rubricate.alignment import collecting
from rubricate.alignment.collecting import Collected, KeptRow
from rubricate.alignment.merging import merge_guidelines
from rubricate.alignment.reflection import distill_with_model
from rubricate.alignment.split import Part
from rubricate.alignment.verification import Judge, verify
from rubricate.domain.alignment import (
    AlignmentResult,
    GuidelineItem,
    Usage,
    Verification,
    parse_guidelines_text,
)
from rubricate.domain.errors import NotFound, RubricateError
from rubricate.domain.metrics import MetricVersion
from rubricate.domain.runs import (
    LOW_CONFIDENCE_DISAGREEMENTS,
    AlignmentRun,
    Phase,
    RunStatus,
    check_transition,
)
from rubricate.domain.traces import Guideline
from rubricate.models.cache import ResponseCache
from rubricate.models.client import ModelClient, Spending
from rubricate.models.cost import Tally
from rubricate.models.journal import RunJournal
from rubricate.models.names import OFFLINE_ENGINE
from rubricate.models.offline import distill_offline
from rubricate.models.secrets import redact
from rubricate.settings import Settings
from rubricate.store.database import Database
from rubricate.store.mapping import to_version
from rubricate.store.runs import find_run, load_run, store_result
from rubricate.store.tables import MetricVersionRecord, utcnow
from rubricate.util import run_coroutine

# Rows scored per proposal (selection) and at the end (test): enough for the choice and
# for intervals a few points wide, bounded so that a large evaluation costs no more.
PART_ROWS = {Part.SELECTION: 150, Part.TEST: 300}

STAGES = ("prepare", "distill", "verify", "finish")
_ORDER = {phase: index for index, phase in enumerate(Phase)}

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
        carried: dict[str, Any] = {}
        for stage in STAGES:
            carried = self.run_stage(run_id, stage, carried)
            if carried.get("stopped"):
                break
        return self._get(run_id)

    def run_stage(self, run_id: str, stage: str, carried: dict[str, Any]) -> dict[str, Any]:
        """One stage of the run, as a durable step: what the earlier stages returned goes
        in (``carried``, plain JSON), and this stage's output is added to it. Every stage
        can be run again: it reads what it needs from the database (the row pass is
        deterministic), its model calls are journaled, and its writes are idempotent.
        ``stopped`` in the output means the run ended (cancelled, failed or finished)."""
        run = self._get(run_id)
        if run.status.finished:
            return carried | {"stopped": True}
        if run.status is RunStatus.PENDING:
            self._update(run_id, status=RunStatus.RUNNING, started=True, check=False)
        budget = run.params.budget
        spent = Tally(**carried.get("spent", {})) if carried.get("spent") else Tally()
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
            return carried | {"stopped": True}
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
        output["usage"] = _add_usage(carried.get("usage"), *clients)
        output["spent"] = spending.spent.as_dict()
        return carried | output

    async def _closing(
        self,
        stage: str,
        run: AlignmentRun,
        carried: dict[str, Any],
        reflection: ModelClient,
        judge: ModelClient,
    ) -> dict[str, Any]:
        try:
            if stage == "prepare":
                return self._prepare(run)
            if stage == "distill":
                return await self._distill_stage(run, reflection)
            if stage == "verify":
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

    def _prepare(self, run: AlignmentRun) -> dict[str, Any]:
        found = self._collected(run, report=True)
        self._update(
            run.id,
            disagreements=len(found.disagreements),
            agreeing=found.agreeing_count,
            low_confidence=len(found.disagreements) < LOW_CONFIDENCE_DISAGREEMENTS,
        )
        return {"prepared": True}

    async def _distill_stage(self, run: AlignmentRun, reflection: ModelClient) -> dict[str, Any]:
        """Phase 3: distill from the distillation part (all rows when nothing is verified),
        then merge."""
        params = run.params
        base = self._version(run.base_version_id)
        found = self._collected(run, report=False)
        verifying = params.judge_model is not None
        distill_part = distilled_from(found, verifying)
        contrast = [k for k in found.agreeing if not verifying or k.part is Part.DISTILL]
        existing = parse_guidelines_text(base.guidelines)
        self._update(run.id, phase=Phase.DISTILLING, done=0, total=1)
        self._update(run.id)  # the last boundary before the reflection calls
        proposals, notes = await self._distill(
            params.reflection_lm, reflection, distill_part, contrast, base, existing
        )
        items, merge_notes = merge_guidelines(proposals, prompt=base.prompt, existing=existing)
        self._update(run.id, phase=Phase.DISTILLING, done=1)
        return {
            "items": [item.model_dump(mode="json") for item in items],
            "notes": [*notes, *merge_notes],
        }

    async def _verify_stage(
        self, run: AlignmentRun, carried: dict[str, Any], judge: ModelClient
    ) -> dict[str, Any]:
        """Phase 4: verification on held-out rows, when a judge model is given."""
        params = run.params
        found = self._collected(run, report=False)
        items = [GuidelineItem.model_validate(item) for item in carried["items"]]
        distill_rows = len(distilled_from(found, params.judge_model is not None))
        if params.judge_model is None:
            report = Verification(
                distill_rows=distill_rows,
                message="No judge model was given, so the guidelines are not verified.",
            )
            return {"chosen": carried["items"], "report": report.model_dump(mode="json")}
        base = self._version(run.base_version_id)
        selection = agreeing_for(found, Part.SELECTION)
        test = agreeing_for(found, Part.TEST)
        planned = len(selection) * 4 + len(test) * 2
        self._update(run.id, phase=Phase.VERIFYING, done=0, total=planned)
        spending = judge.spending

        def calls_left() -> int | None:
            cap = spending.max_calls
            return None if cap is None else cap - spending.spent.calls

        checker = Judge(
            judge,
            params.judge_model,
            base,
            lambda calls: self._update(run.id, phase=Phase.VERIFYING, done=min(calls, planned)),
            calls_left,
        )
        chosen, report = await verify(
            checker,
            items,
            selection=selection,
            test=test,
            distill_rows=distill_rows,
            delta=params.delta,
            seed=params.seed,
        )
        return {
            "chosen": [item.model_dump(mode="json") for item in chosen],
            "report": report.model_dump(mode="json"),
            "reused": checker.reused,
        }

    def _finish_stage(self, run: AlignmentRun, carried: dict[str, Any]) -> dict[str, Any]:
        found = self._collected(run, report=False)
        base = self._version(run.base_version_id)
        counts = found.counts
        self._update(run.id, phase=Phase.FINALIZING, done=0, total=1)
        usage = Usage.model_validate(carried.get("usage") or {})
        usage.reused_judge_results = int(carried.get("reused", 0))
        result = AlignmentResult(
            engine=run.params.reflection_lm,
            guidelines=[GuidelineItem.model_validate(i) for i in carried["chosen"]],
            proposed=[GuidelineItem.model_validate(i) for i in carried["items"]],
            notes=list(carried.get("notes", [])),
            rows_used=counts.usable,
            disagreements=len(found.disagreements),
            agreeing_skipped=found.agreeing_count,
            missing_judge=counts.missing_judge,
            missing_human=counts.missing_human,
            reviewer_alpha=found.reviewer_alpha(base.scale),
            low_confidence=len(found.disagreements) < LOW_CONFIDENCE_DISAGREEMENTS,
            verification=Verification.model_validate(carried["report"]),
            usage=usage,
        )
        self._finish(run.id, result)
        return {"stopped": True}

    async def _distill(
        self,
        engine: str,
        client: ModelClient,
        disagreements: Sequence[KeptRow],
        agreeing: Sequence[KeptRow],
        base: MetricVersion,
        existing: list[str],
    ) -> tuple[list[Guideline], list[str]]:
        traces = [k.trace for k in disagreements]
        if not traces:
            return [], ["There are no disagreements at this threshold: nothing to distill."]
        if engine == OFFLINE_ENGINE:
            distilled = distill_offline(
                traces, [k.trace for k in agreeing], scale=base.scale, existing=existing
            )
            return list(distilled.guidelines), list(distilled.notes)
        found, notes = await distill_with_model(
            client, engine, traces, prompt=base.prompt, guidelines=existing, scale=base.scale
        )
        return found, [f"Distilled by {engine} from {len(traces)} disagreement traces.", *notes]

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
            if phase is not None and stored is not None and _ORDER[phase] < _ORDER[stored]:
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


def distilled_from(found: Collected, verifying: bool) -> list[KeptRow]:
    """The disagreements the reflection engine reads: the distillation part's when the
    guidelines will be verified (selection and test rows never reach it), else all."""
    return [k for k in found.disagreements if not verifying or k.part is Part.DISTILL]


def agreeing_for(found: Collected, part: Part) -> list[KeptRow]:
    """A part's disagreements and as many of its sampled agreeing rows (at least 10, when
    there are that many), so that a guideline which breaks what worked shows up. Each
    side is capped (a seeded sample), so that verification's cost stays bounded whatever
    the number of rows."""
    cap = PART_ROWS[part] // 2
    disagreements = _sample([k for k in found.disagreements if k.part is part], cap)
    agreeing = _sample([k for k in found.agreeing if k.part is part], cap)
    agreeing = agreeing[: max(len(disagreements), 10)]
    return sorted([*disagreements, *agreeing], key=lambda k: k.source.row_id)


def _sample(rows: list[KeptRow], cap: int) -> list[KeptRow]:
    """At most ``cap`` rows, chosen by a hash of their group (stable, seeded by the split)."""
    if len(rows) <= cap:
        return rows
    return sorted(rows, key=lambda k: (k.group, k.source.row_id))[:cap]


def _add_usage(
    before: dict[str, Any] | None, reflection: ModelClient, judge: ModelClient
) -> dict[str, Any]:
    """The usage so far plus this stage's calls (an unknown cost stays unknown)."""
    usage = Usage.model_validate(before or {})
    r, j = reflection.spent, judge.spent
    usage.reflection_calls += r.calls
    usage.judge_calls += j.calls
    usage.cache_hits += r.cache_hits + j.cache_hits
    usage.input_tokens += r.input_tokens + j.input_tokens
    usage.output_tokens += r.output_tokens + j.output_tokens
    if usage.cost_usd is None or r.cost_usd is None or j.cost_usd is None:
        usage.cost_usd = None
    else:
        usage.cost_usd += r.cost_usd + j.cost_usd
    return usage.model_dump(mode="json")
