"""Alignment runs as records: starting one (every parameter checked before anything is
written), reading them back, the run history of a metric, cancel. The engine that carries
a run out lives in rubricate.alignment."""

from __future__ import annotations

import builtins
import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import TypedDict, Unpack

from sqlalchemy.orm import Session

from rubricate.alignment.engine import AlignmentEngine, Progress
from rubricate.alignment.estimate import AlignmentPreview, estimate
from rubricate.domain.alignment import AlignmentResult
from rubricate.domain.alignment_runs import (
    AlignmentParams,
    AlignmentRun,
    Budget,
    RunStatus,
    check_transition,
)
from rubricate.domain.calibration import ReviewerWarning
from rubricate.domain.errors import Conflict, InvalidInput, Unavailable
from rubricate.domain.metrics import MetricVersion, active_version
from rubricate.domain.row_refs import RowRef
from rubricate.domain.scale import Scale
from rubricate.domain.users import User
from rubricate.models.names import OFFLINE_ENGINE, parse_model_name
from rubricate.models.providers import resolve_model
from rubricate.service.base import ConfiguredService
from rubricate.service.calibration import alignment_warning
from rubricate.service.evaluations import find_evaluation, scoring_in_progress
from rubricate.service.metrics import find_metric, load_versions
from rubricate.service.run_rows import result_rows
from rubricate.store.alignment_runs import (
    has_judge_results,
    has_resolutions,
    run_history,
    runs_of_metric,
)
from rubricate.store.mapping import to_metric
from rubricate.store.queues import withheld_among
from rubricate.store.run_ids import claim_run_id
from rubricate.store.runs import find_run as find_run  # re-exported for the use cases
from rubricate.store.runs import load_run as load_run
from rubricate.store.tables import (
    AlignmentRunEvaluationRecord,
    AlignmentRunRecord,
    EvaluationRecord,
    MetricRecord,
    MetricVersionRecord,
    utcnow,
)


class RunChoices(TypedDict, total=False):
    """What a start or a preview may choose besides the metric, its sources and delta;
    left out: the default reflection model, the metric's judge model, the default budget,
    seed 0."""

    reflection_lm: str | None
    judge_model: str | None
    budget: Budget | None
    seed: int


class StartOptions(RunChoices, total=False):
    """A start's choices and its id (the idempotency key)."""

    run_id: str | None


class AlignmentRunService(ConfiguredService):
    def start(
        self,
        *,
        metric: str,
        evaluations: Sequence[str],
        delta: float,
        run_id: str | None = None,
        **choices: Unpack[RunChoices],
    ) -> AlignmentRun:
        """Record a Pending run. A repeated start with the same ``run_id`` (the
        idempotency key) returns the first one, whatever its sources are doing now (one may
        be being scored again); every refusal changes nothing."""
        with self._db.write() as session:
            metric_record, base, sources, params = self._checked(
                session, metric, evaluations, delta, choices
            )
            run_id = run_id or uuid.uuid4().hex
            repeated = not claim_run_id(session, run_id, "alignment")
            if repeated and (existing := session.get(AlignmentRunRecord, run_id)):
                return _same_start(session, existing, metric_record, params)
            check_sources(session, metric_record, sources)
            record = AlignmentRunRecord(
                id=run_id,
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
        **choices: Unpack[RunChoices],
    ) -> AlignmentPreview:
        """What a run with these parameters would find and cost, before it starts:
        disagreements at the threshold, reviewer agreement, the low-confidence flag and the
        estimated calls, tokens and money. No model is called and nothing is written."""
        with self._db.read() as session:
            # A dry run calls no model, so it needs no key (like `evaluate --dry-run`).
            metric_record, base, sources, params = self._checked(
                session, metric, evaluations, delta, choices, keys=False
            )
            check_sources(session, metric_record, sources)
            found = estimate(session, metric_record.id, base, params, self._settings)
            warning = alignment_warning(
                session, metric_record.id, base.scale, params.evaluation_ids, self._threshold
            )
        found = dataclasses.replace(found, reviewer_warning=warning)
        try:
            self._reflection_lm(choices.get("reflection_lm"))
            self._judge_model(choices.get("judge_model"))
        except Unavailable as missing:
            return dataclasses.replace(found, cannot_start=str(missing))
        return found

    def reviewer_warning(
        self, *, metric: str, evaluations: Sequence[str]
    ) -> ReviewerWarning | None:
        """The preview's warning alone (for a start, which shows it without estimating):
        reviewers' alpha on the rows a run would use, below RUBRICATE_REVIEWER_ALPHA_WARNING,
        and who pulls it down. None when it is not below, or cannot be said."""
        with self._db.read() as session:
            metric_record = find_metric(session, metric)
            base = active_version(
                to_metric(metric_record), load_versions(session, metric_record.id)
            )
            ids = [e.id for e in find_sources(session, evaluations)]
            return alignment_warning(session, metric_record.id, base.scale, ids, self._threshold)

    @property
    def _threshold(self) -> float:
        return self._settings.reviewer_alpha_warning

    def _checked(
        self,
        session: Session,
        metric: str,
        evaluations: Sequence[str],
        delta: float,
        choices: RunChoices,
        *,
        keys: bool = True,
    ) -> tuple[MetricRecord, MetricVersion, builtins.list[EvaluationRecord], AlignmentParams]:
        """The parameters checked and normalized, and the source evaluations found (not yet
        checked for use: a repeated start must not depend on what they are doing now);
        the models' keys too unless ``keys`` is false."""
        reflection = self._reflection_lm(choices.get("reflection_lm"), keys)
        judge = self._judge_model(choices.get("judge_model"), keys)
        chosen_budget = check_budget(choices.get("budget") or Budget())
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
            seed=choices.get("seed", 0),
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
        cache: bool | None = None,
        progress: Progress | None = None,
        **options: Unpack[StartOptions],
    ) -> AlignmentRun:
        """Start a run and carry it out here."""
        run = self.start(metric=metric, evaluations=evaluations, delta=delta, **options)
        return self.run(run.id, cache=cache, progress=progress)

    def get(self, run_id: str, *, viewer: User | None = None) -> AlignmentRun:
        """A run with its result; for ``viewer``, without the test rows a blind review
        queue withholds from them (their human and judge scores)."""
        with self._db.read() as session:
            run = load_run(session, find_run(session, run_id))
            if viewer is None or run.result is None or not run.result.verification.rows:
                return run
            rows = [r.row_id for r in run.result.verification.rows]
            hidden = withheld_among(session, viewer.name, rows, run.metric_id)
        if not hidden:
            return run
        verification = run.result.verification.model_copy(
            update={"rows": [r for r in run.result.verification.rows if r.row_id not in hidden]}
        )
        result = run.result.model_copy(update={"verification": verification})
        return replace(run, result=result)

    def result_rows(self, result: AlignmentResult | None) -> dict[int, RowRef]:
        """The rows ``result`` names, as the user knows them, by database id."""
        return result_rows(self._db, result)

    def list(self, metric: str) -> builtins.list[AlignmentRun]:
        """Every run of ``metric``, newest first."""
        with self._db.read() as session:
            return runs_of_metric(session, find_metric(session, metric).id)

    def history(self, metric: str) -> builtins.list[AlignmentRun]:
        """Every run of ``metric``, newest first, without results (their summaries stay):
        a result grows with the data, and a list of runs shows little of it."""
        with self._db.read() as session:
            return run_history(session, find_metric(session, metric).id)

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

    def default_reflection_lm(self) -> str:
        """The reflection model a run takes when none is given (the one place that says
        so): RUBRICATE_REFLECTION_LM, else the built-in offline engine."""
        return self._settings.reflection_lm or OFFLINE_ENGINE

    def _reflection_lm(self, name: str | None, keys: bool = True) -> str:
        chosen = (name or "").strip() or self.default_reflection_lm()
        parsed = str(parse_model_name(chosen, self._settings, field="reflection_lm"))
        if parsed != OFFLINE_ENGINE and keys:
            resolve_model(parsed, self._settings, field="reflection_lm")  # keys checked now
        return parsed

    def _judge_model(self, name: str | None, keys: bool = True) -> str | None:
        if not (name or "").strip():
            return None
        parsed = str(parse_model_name(name or "", self._settings, field="judge_model"))
        if parsed == OFFLINE_ENGINE:
            raise InvalidInput(f"{OFFLINE_ENGINE} cannot judge rows", field="judge_model")
        if keys:
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
        problem = _source_problem(session, metric, evaluation)
        if problem is not None:
            raise InvalidInput(problem, field="evaluations")


def _source_problem(
    session: Session, metric: MetricRecord, evaluation: EvaluationRecord
) -> str | None:
    """Why a run of ``metric`` cannot read ``evaluation`` yet, or None."""
    name = evaluation.name
    if scoring_in_progress(session, evaluation.id).get(evaluation.id):
        return f"evaluation {name!r} is not completed: scoring is still under way"
    if not has_resolutions(session, evaluation.id, metric.id):
        return (
            f"evaluation {name!r} has no resolved annotations for metric {metric.name!r}: "
            "resolve them first (rubricate annotations resolve)"
        )
    if not has_judge_results(session, evaluation.id, metric.id):
        return (
            f"evaluation {name!r} has no judge results for metric {metric.name!r}: "
            "score it first (rubricate evaluate)"
        )
    return None


def _same_start(
    session: Session,
    existing: AlignmentRunRecord,
    metric: MetricRecord,
    params: AlignmentParams,
) -> AlignmentRun:
    if existing.metric_id != metric.id or existing.params != params.to_json():
        raise Conflict(f"run {existing.id!r} already exists with other parameters")
    return load_run(session, existing)
