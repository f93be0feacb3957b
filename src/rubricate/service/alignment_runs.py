"""Alignment runs as records: starting one (every parameter checked before anything is
written), reading them back, the run history of a metric, cancel. The engine that carries
a run out lives in rubricate.alignment."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Sequence
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from rubricate.alignment.engine import AlignmentEngine, Progress
from rubricate.alignment.estimate import AlignmentPreview, estimate
from rubricate.domain.errors import Conflict, InvalidInput
from rubricate.domain.metrics import MetricVersion, active_version
from rubricate.domain.runs import (
    AlignmentParams,
    AlignmentRun,
    Budget,
    RunStatus,
    check_transition,
)
from rubricate.domain.scale import Scale
from rubricate.models.names import OFFLINE_ENGINE, parse_model_name
from rubricate.models.providers import resolve_model
from rubricate.service.evaluating import claim_run_id
from rubricate.service.evaluations import find_evaluation, scoring_in_progress
from rubricate.service.metrics import find_metric, load_versions
from rubricate.settings import Settings
from rubricate.store.database import Database
from rubricate.store.mapping import to_metric
from rubricate.store.runs import find_run as find_run  # re-exported for the use cases
from rubricate.store.runs import load_run as load_run
from rubricate.store.runs import load_runs
from rubricate.store.tables import (
    AlignmentRunEvaluationRecord,
    AlignmentRunRecord,
    EvaluationRecord,
    EvaluationRunRecord,
    JudgeResultRecord,
    MetricRecord,
    MetricVersionRecord,
    ResolutionRecord,
    RowRecord,
    utcnow,
)


class AlignmentRunService:
    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._settings = settings

    def start(
        self,
        *,
        metric: str,
        evaluations: Sequence[str],
        delta: float,
        reflection_lm: str | None = None,
        judge_model: str | None = None,
        budget: Budget | None = None,
        seed: int = 0,
        run_id: str | None = None,
    ) -> AlignmentRun:
        """Record a Pending run. A repeated start with the same ``run_id`` (the
        idempotency key) returns the first one, whatever its sources are doing now (one may
        be being scored again); every refusal changes nothing."""
        with self._db.write() as session:
            metric_record, base, sources, params = self._checked(
                session, metric, evaluations, delta, reflection_lm, judge_model, budget, seed
            )
            if run_id is not None:
                claim_run_id(session, run_id, other_kind=EvaluationRunRecord)
                if existing := session.get(AlignmentRunRecord, run_id):
                    return _same_start(session, existing, metric_record, params)
            check_sources(session, metric_record, sources)
            record = AlignmentRunRecord(
                id=run_id or uuid.uuid4().hex,
                metric_id=metric_record.id,
                base_version_id=base.id,
                status=RunStatus.PENDING.value,
                params=params.to_json(),
                progress_done=0,
                progress_total=0,
                low_confidence=False,
                result={},
                created_at=utcnow(),
            )
            session.add(record)
            session.flush()
            for source in sources:
                session.add(AlignmentRunEvaluationRecord(run_id=record.id, evaluation_id=source.id))
            session.flush()
            return load_run(session, record)

    def preview(
        self,
        *,
        metric: str,
        evaluations: Sequence[str],
        delta: float,
        reflection_lm: str | None = None,
        judge_model: str | None = None,
        budget: Budget | None = None,
        seed: int = 0,
    ) -> AlignmentPreview:
        """What a run with these parameters would find and cost, before it starts:
        disagreements at the threshold, reviewer agreement, the low-confidence flag and the
        estimated calls, tokens and money. No model is called and nothing is written."""
        with self._db.read() as session:
            metric_record, base, sources, params = self._checked(
                session, metric, evaluations, delta, reflection_lm, judge_model, budget, seed
            )
            check_sources(session, metric_record, sources)
            return estimate(session, metric_record.id, base, params, self._settings)

    def _checked(
        self,
        session: Session,
        metric: str,
        evaluations: Sequence[str],
        delta: float,
        reflection_lm: str | None,
        judge_model: str | None,
        budget: Budget | None,
        seed: int,
    ) -> tuple[MetricRecord, MetricVersion, builtins.list[EvaluationRecord], AlignmentParams]:
        """The parameters checked and normalized, and the source evaluations found (not yet
        checked for use: a repeated start must not depend on what they are doing now)."""
        reflection = self._reflection_lm(reflection_lm)
        judge = self._judge_model(judge_model)
        chosen_budget = check_budget(budget or Budget())
        metric_record = find_metric(session, metric, lock=True)
        base = active_version(to_metric(metric_record), load_versions(session, metric_record.id))
        check_delta(delta, base.scale)
        sources = find_sources(session, evaluations)
        params = AlignmentParams(
            evaluation_ids=tuple(e.id for e in sources),
            delta=float(delta),
            reflection_lm=reflection,
            judge_model=judge,
            budget=chosen_budget,
            seed=seed,
        )
        return metric_record, base, sources, params

    def run(
        self, run_id: str, *, cache: bool | None = None, progress: Progress | None = None
    ) -> AlignmentRun:
        """Carry a run out in this process (its phases in order); a finished run is
        returned as it is."""
        engine = AlignmentEngine(self._db, self._settings, cache=cache, progress=progress)
        return engine.run(run_id)

    def align(
        self,
        *,
        metric: str,
        evaluations: Sequence[str],
        delta: float,
        reflection_lm: str | None = None,
        judge_model: str | None = None,
        budget: Budget | None = None,
        seed: int = 0,
        run_id: str | None = None,
        cache: bool | None = None,
        progress: Progress | None = None,
    ) -> AlignmentRun:
        """Start a run and carry it out here."""
        run = self.start(
            metric=metric,
            evaluations=evaluations,
            delta=delta,
            reflection_lm=reflection_lm,
            judge_model=judge_model,
            budget=budget,
            seed=seed,
            run_id=run_id,
        )
        return self.run(run.id, cache=cache, progress=progress)

    def get(self, run_id: str) -> AlignmentRun:
        with self._db.read() as session:
            return load_run(session, find_run(session, run_id))

    def list(self, metric: str) -> builtins.list[AlignmentRun]:
        """Every run of ``metric``, newest first."""
        with self._db.read() as session:
            record = find_metric(session, metric)
            runs = session.scalars(
                select(AlignmentRunRecord)
                .where(AlignmentRunRecord.metric_id == record.id)
                .order_by(AlignmentRunRecord.created_at.desc(), AlignmentRunRecord.id.desc())
            ).all()
            return load_runs(session, runs)

    def history(self, metric: str) -> builtins.list[AlignmentRun]:
        """Every run of ``metric``, newest first, without results (their summaries stay):
        a result grows with the data, and a list of runs shows little of it."""
        with self._db.read() as session:
            record = find_metric(session, metric)
            # Plain rows of every column but the result: no ORM objects to build either.
            columns = [c for c in AlignmentRunRecord.__table__.c if c.name != "result"]
            rows = session.execute(
                select(*columns)
                .where(AlignmentRunRecord.metric_id == record.id)
                .order_by(AlignmentRunRecord.created_at.desc(), AlignmentRunRecord.id.desc())
            ).all()
            runs = cast("list[AlignmentRunRecord]", rows)  # the same attributes, read-only
            return load_runs(session, runs, with_results=False)

    def cancel(self, run_id: str) -> AlignmentRun:
        """Cancel a run in flight (it stops at its next step); a finished run is left as
        it is, and cancelling it again succeeds."""
        with self._db.write() as session:
            record = find_run(session, run_id)
            if not RunStatus(record.status).finished:
                record.status = RunStatus.CANCELLED.value
                record.finished_at = utcnow()
            return load_run(session, record)

    def retry(self, run_id: str) -> AlignmentRun:
        """Make an Error run Pending again, to be carried out anew: its journaled model
        calls are replayed, not paid again."""
        with self._db.write() as session:
            record = find_run(session, run_id, lock=True)
            check_transition(RunStatus(record.status), RunStatus.PENDING)
            record.status = RunStatus.PENDING.value
            record.error = None
            record.finished_at = None
            return load_run(session, record)

    def _reflection_lm(self, name: str | None) -> str:
        chosen = (name or "").strip() or self._settings.reflection_lm or OFFLINE_ENGINE
        parsed = str(parse_model_name(chosen, self._settings, field="reflection_lm"))
        if parsed != OFFLINE_ENGINE:
            resolve_model(parsed, self._settings, field="reflection_lm")  # keys checked now
        return parsed

    def _judge_model(self, name: str | None) -> str | None:
        if not (name or "").strip():
            return None
        parsed = str(parse_model_name(name or "", self._settings, field="judge_model"))
        if parsed == OFFLINE_ENGINE:
            raise InvalidInput(f"{OFFLINE_ENGINE} cannot judge rows", field="judge_model")
        resolve_model(parsed, self._settings, field="judge_model")
        return parsed


def check_delta(delta: float, scale: Scale) -> None:
    if not delta > 0 or delta > scale.span:
        raise InvalidInput(
            f"delta threshold must be above 0 and at most {scale.span:g} (the width of the "
            f"scale {scale.describe()}), not {delta:g}",
            field="delta",
        )


def check_budget(budget: Budget) -> Budget:
    if budget.max_calls < 1:
        raise InvalidInput("max_calls must be at least 1", field="budget.max_calls")
    if budget.max_tokens < 1:
        raise InvalidInput("max_tokens must be at least 1", field="budget.max_tokens")
    if budget.max_cost_usd is not None and budget.max_cost_usd <= 0:
        raise InvalidInput("max_cost_usd must be above 0", field="budget.max_cost_usd")
    return budget


Version = MetricVersionRecord


def find_sources(session: Session, names: Sequence[str]) -> builtins.list[EvaluationRecord]:
    """The source evaluations named, each once."""
    if not names:
        raise InvalidInput("give at least one source evaluation", field="evaluations")
    return [find_evaluation(session, name) for name in dict.fromkeys(names)]


def check_sources(
    session: Session, metric: MetricRecord, sources: Sequence[EvaluationRecord]
) -> None:
    """Each source evaluation is completed and holds resolved annotations and judge results
    for ``metric``; the first that is not says why."""
    for evaluation in sources:
        name = evaluation.name
        if scoring_in_progress(session, evaluation.id).get(evaluation.id):
            raise InvalidInput(
                f"evaluation {name!r} is not completed: scoring is still under way",
                field="evaluations",
            )
        in_evaluation = RowRecord.evaluation_id == evaluation.id
        resolved = session.scalar(
            select(ResolutionRecord.id)
            .join(RowRecord, RowRecord.id == ResolutionRecord.row_id)
            .where(ResolutionRecord.metric_id == metric.id, in_evaluation)
            .limit(1)
        )
        if not resolved:
            raise InvalidInput(
                f"evaluation {name!r} has no resolved annotations for metric {metric.name!r}: "
                "resolve them first (rubricate annotations resolve)",
                field="evaluations",
            )
        judged = session.scalar(
            select(JudgeResultRecord.id)
            .join(RowRecord, RowRecord.id == JudgeResultRecord.row_id)
            .join(
                MetricVersionRecord, JudgeResultRecord.metric_version_id == MetricVersionRecord.id
            )
            .where(in_evaluation, MetricVersionRecord.metric_id == metric.id)
            .limit(1)
        )
        if not judged:
            raise InvalidInput(
                f"evaluation {name!r} has no judge results for metric {metric.name!r}: "
                "score it first (rubricate evaluate)",
                field="evaluations",
            )


def _same_start(
    session: Session,
    existing: AlignmentRunRecord,
    metric: MetricRecord,
    params: AlignmentParams,
) -> AlignmentRun:
    if existing.metric_id != metric.id or existing.params != params.to_json():
        raise Conflict(f"run {existing.id!r} already exists with other parameters")
    return load_run(session, existing)
