"""Evaluation runs: score every row of an evaluation with a metric version and a judge
model. A run is a Pending record first, then its rows streamed through concurrent model
calls; results are written in batches, each with its counts in one transaction, keyed by
(run, row), so a run that stops part way (even on a fatal error) keeps what it finished,
resumes where it stopped and never pays for a finished row again."""

from __future__ import annotations

import builtins
import uuid
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

from rubricate.domain.errors import Conflict, InvalidInput, RubricateError
from rubricate.domain.evaluation_runs import (
    EvaluationRun,
    EvaluationRunStatus,
    RowError,
    check_evaluation_transition,
)
from rubricate.domain.metrics import MetricVersion
from rubricate.limits import ROW_ERRORS_MAX
from rubricate.models import cost
from rubricate.models.cache import ResponseCache
from rubricate.models.client import ModelClient, Spending
from rubricate.models.cost import Tally
from rubricate.models.journal import RunJournal
from rubricate.models.names import parse_model_name
from rubricate.models.ownership import OwnershipLost
from rubricate.models.providers import price_provider_of, resolve_model
from rubricate.models.secrets import redact
from rubricate.service.base import ConfiguredService
from rubricate.service.evaluations import find_evaluation
from rubricate.service.metrics import MetricService
from rubricate.service.row_scoring import Progress as Progress  # for callers of run()
from rubricate.service.row_scoring import RowScoring, render_row, steady_gc
from rubricate.settings import Settings
from rubricate.store.database import Database
from rubricate.store.evaluation_runs import (
    check_not_being_aligned,
    evaluation_runs,
    failed_rows,
    find_evaluation_run,
    row_batches,
)
from rubricate.store.evaluations import row_count
from rubricate.store.mapping import to_evaluation_run
from rubricate.store.metrics import version_by_id
from rubricate.store.run_ids import claim_run_id
from rubricate.store.tables import (
    EvaluationRecord,
    EvaluationRunRecord,
    MetricVersionRecord,
    utcnow,
)
from rubricate.util import run_coroutine


@dataclass(frozen=True, slots=True)
class CostEstimate:
    """What a run would cost, worked out without calling any model."""

    model: str
    rows: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None  # None: the model's price is unknown
    calls: int  # one a row: retries would add to it, replies from the cache take from it


class StartOptions(TypedDict, total=False):
    """What a start may choose besides the metric and the evaluation (start's defaults
    otherwise)."""

    model: str | None
    temperature: float | None
    seed: int | None
    run_id: str | None
    max_calls: int | None
    max_cost_usd: float | None


class EvaluateOptions(StartOptions, total=False):
    """A start's choices and how this process carries the run out."""

    concurrency: int | None
    cache: bool | None
    progress: Progress | None


class EvaluationRunService(ConfiguredService):
    def __init__(self, db: Database, settings: Settings) -> None:
        super().__init__(db, settings)
        self._metrics = MetricService(db)

    # -- starting and running ----------------------------------------------------------

    def start(
        self,
        *,
        metric: str,
        evaluation: str,
        model: str | None = None,
        temperature: float | None = 0.0,
        seed: int | None = None,
        run_id: str | None = None,
        max_calls: int | None = None,
        max_cost_usd: float | None = None,
    ) -> EvaluationRun:
        """Record a Pending run; a repeated start with the same ``run_id`` returns the run
        it made the first time. Checks the model (and its key) before writing anything.
        ``max_calls`` and ``max_cost_usd`` cap what the run may spend: checked before every
        call, so it stops there (in Error, keeping the rows it scored); calls already in
        flight finish, so it may pass a cap by up to its concurrency's calls."""
        version = self._metrics.version(metric)
        chosen = self._model_for(metric, model)
        resolve_model(chosen, self._settings)  # a missing key fails here, before any write
        params = _params(metric, temperature, seed) | self._budget(chosen, max_calls, max_cost_usd)
        with self._db.write() as session:
            target = find_evaluation(session, evaluation)
            run_id = run_id or uuid.uuid4().hex
            repeated = not claim_run_id(session, run_id, "evaluation")
            if repeated and (existing := session.get(EvaluationRunRecord, run_id)):
                return _same_start(existing, target.id, chosen, params)
            check_not_being_aligned(session, target.id, target.name, version.metric_id)
            rows = row_count(session, target.id)
            if not rows:
                raise InvalidInput(f"evaluation {evaluation!r} has no rows", field="evaluation")
            record = EvaluationRunRecord(
                id=run_id,
                evaluation_id=target.id,
                metric_version_id=version.id,
                model=chosen,
                params=params,
                status=EvaluationRunStatus.PENDING.value,
                rows_total=rows,
                cost_usd=0.0,
                created_at=utcnow(),
            )
            session.add(record)
            session.flush()
            return to_evaluation_run(record)

    def run(
        self,
        run_id: str,
        *,
        concurrency: int | None = None,
        cache: bool | None = None,
        progress: Progress | None = None,
        client: ModelClient | None = None,
        max_rows: int | None = None,
    ) -> EvaluationRun:
        """Score the rows the run has not scored yet (at most ``max_rows`` of them: one
        durable step; the run stays Running while rows are left). A finished run is
        returned as it is. A fatal model error (no key, unreachable server) ends the run in
        Error and raises."""
        run = self.get(run_id)
        if run.status.finished:
            return run
        if run.status is EvaluationRunStatus.PENDING:
            self._move(run_id, EvaluationRunStatus.RUNNING, started=True)
        use_cache = self._settings.response_cache if cache is None else cache
        if client is None:
            client = ModelClient(
                self._settings,
                cache=ResponseCache(self._db) if use_cache else None,
                journal=RunJournal(self._db, run_id),
                db=self._db,
                concurrency=concurrency,
                owned_runs=True,
                spending=_spending(run),
            )
        version = self._version(run.metric_version_id)
        try:
            with steady_gc():
                scoring = RowScoring(self._db, self._settings)
                run_coroutine(scoring.score_all(run, version, client, progress, max_rows))
        except RubricateError as error:
            self._fail(run_id, str(error))
            raise
        except OwnershipLost:  # the run is another worker's now: leave it as it is
            raise
        except BaseException:
            self._fail(run_id, "interrupted before it finished; start it again to resume")
            raise
        finally:
            client.flush()
        finished = self.get(run_id)
        left = finished.rows_total - finished.rows_done
        if finished.status is EvaluationRunStatus.RUNNING and (max_rows is None or left <= 0):
            self._move(run_id, EvaluationRunStatus.COMPLETED, finished=True)
        return self.get(run_id)

    def evaluate(
        self,
        *,
        metric: str,
        evaluation: str,
        concurrency: int | None = None,
        cache: bool | None = None,
        progress: Progress | None = None,
        **options: Unpack[StartOptions],
    ) -> EvaluationRun:
        """Start a run and carry it out in this process."""
        run = self.start(metric=metric, evaluation=evaluation, **options)
        return self.run(run.id, concurrency=concurrency, cache=cache, progress=progress)

    def retry(self, run_id: str) -> EvaluationRun:
        """Make an Error run Pending again; carried out anew, it scores only the rows it
        has not scored, and replays the calls its journal holds."""
        with self._db.write() as session:
            record = find_evaluation_run(session, run_id)
            check_evaluation_transition(
                EvaluationRunStatus(record.status), EvaluationRunStatus.PENDING
            )
            evaluation = session.get_one(EvaluationRecord, record.evaluation_id)
            version = session.get_one(MetricVersionRecord, record.metric_version_id)
            check_not_being_aligned(session, evaluation.id, evaluation.name, version.metric_id)
            record.status = EvaluationRunStatus.PENDING.value
            record.error = None
            record.finished_at = None
            return to_evaluation_run(record)

    def cancel(self, run_id: str) -> EvaluationRun:
        """Stop a run at its next batch; cancelling a finished run changes nothing."""
        with self._db.write() as session:
            record = find_evaluation_run(session, run_id)
            if not EvaluationRunStatus(record.status).finished:
                record.status = EvaluationRunStatus.CANCELLED.value
                record.finished_at = utcnow()
            return to_evaluation_run(record)

    # -- reading -----------------------------------------------------------------------

    def get(self, run_id: str) -> EvaluationRun:
        with self._db.read() as session:
            return to_evaluation_run(find_evaluation_run(session, run_id))

    def errors(self, run_id: str, *, limit: int = 50) -> tuple[builtins.list[RowError], int]:
        """The first ``limit`` rows the run could not score, with their errors, and how
        many failed in all."""
        if not 1 <= limit <= ROW_ERRORS_MAX:
            raise InvalidInput(f"limit must be from 1 to {ROW_ERRORS_MAX}", field="limit")
        with self._db.read() as session:
            find_evaluation_run(session, run_id)
            return failed_rows(session, run_id, limit=limit)

    def list(self, evaluation: str | None = None) -> builtins.list[EvaluationRun]:
        """Runs, newest first; of one evaluation when it is named."""
        with self._db.read() as session:
            target = find_evaluation(session, evaluation).id if evaluation is not None else None
            return [to_evaluation_run(r) for r in evaluation_runs(session, target)]

    def estimate(self, *, metric: str, evaluation: str, model: str | None = None) -> CostEstimate:
        """Tokens and money for scoring every row, from the rendered prompts; no model is
        called and no key is needed."""
        version = self._metrics.version(metric)
        chosen = self._model_for(metric, model)
        name = parse_model_name(chosen, self._settings)
        rows = input_tokens = 0
        with self._db.read() as session:
            target = find_evaluation(session, evaluation)
            for batch in row_batches(session, target.id, None, 500):
                for row in batch:
                    prompt = render_row(version, row)
                    rows += 1
                    input_tokens += cost.estimate_tokens(prompt.system + prompt.user)
        output_tokens = rows * cost.ANSWER_TOKENS
        price = cost.price(price_provider_of(name), name.model, input_tokens, output_tokens)
        return CostEstimate(chosen, rows, input_tokens, output_tokens, price, calls=rows)

    # -- helpers -----------------------------------------------------------------------

    def _model_for(self, metric: str, model: str | None) -> str:
        chosen = model or self._metrics.get(metric.partition("@")[0]).judge_model
        chosen = chosen or self._settings.judge_model
        if not chosen:
            raise InvalidInput(
                "no judge model: pass one (--model provider:model) or set RUBRICATE_JUDGE_MODEL",
                field="model",
            )
        return str(parse_model_name(chosen, self._settings))

    def _budget(
        self, model: str, max_calls: int | None, max_cost_usd: float | None
    ) -> dict[str, Any]:
        """A start's caps as its params hold them: only those set, so that a run started
        without caps keeps the params it always had (a repeated start compares them)."""
        caps: dict[str, Any] = {}
        if max_calls is not None:
            if max_calls < 1:
                raise InvalidInput(
                    f"max_calls must be at least 1, not {max_calls}", field="max_calls"
                )
            caps["max_calls"] = max_calls
        if max_cost_usd is not None:
            if not max_cost_usd > 0:
                raise InvalidInput(
                    f"max_cost_usd must be above 0, not {max_cost_usd}", field="max_cost_usd"
                )
            name = parse_model_name(model, self._settings)
            if cost.price(price_provider_of(name), name.model, 1000, 100) is None:
                raise InvalidInput(
                    f"the price of {model} is unknown, so a cost cap could not be kept: "
                    "cap the calls instead",
                    field="max_cost_usd",
                )
            caps["max_cost_usd"] = max_cost_usd
        return caps

    def _version(self, version_id: int) -> MetricVersion:
        with self._db.read() as session:
            return version_by_id(session, version_id)

    def _move(
        self,
        run_id: str,
        target: EvaluationRunStatus,
        *,
        started: bool = False,
        finished: bool = False,
    ) -> None:
        with self._db.write() as session:
            record = find_evaluation_run(session, run_id)
            check_evaluation_transition(EvaluationRunStatus(record.status), target)
            record.status = target.value
            if started:
                record.started_at = utcnow()
            if finished:
                record.finished_at = utcnow()

    def _fail(self, run_id: str, message: str) -> None:
        with self._db.write() as session:
            record = find_evaluation_run(session, run_id)
            if EvaluationRunStatus(record.status).finished:
                return
            record.status = EvaluationRunStatus.ERROR.value
            record.error = redact(message, self._settings)
            record.finished_at = utcnow()


def _params(metric: str, temperature: float | None, seed: int | None) -> dict[str, Any]:
    if temperature is not None and not 0 <= temperature <= 2:
        raise InvalidInput(
            f"temperature must be between 0 and 2, not {temperature}", field="temperature"
        )
    return {"metric": metric, "temperature": temperature, "seed": seed}


def _spending(run: EvaluationRun) -> Spending:
    """The run's caps, less what it spent in earlier steps (a worker scores a run a batch
    at a time, each with a client of its own)."""
    spent = Tally(calls=run.calls, cost_usd=run.cost_usd)
    return Spending(run.params.get("max_calls"), None, run.params.get("max_cost_usd"), spent)


def _same_start(
    existing: EvaluationRunRecord,
    evaluation_id: int,
    model: str,
    params: dict[str, Any],
) -> EvaluationRun:
    # The params hold the metric as asked (NAME or NAME@N): a repeat after a new version
    # became active is still the same request.
    asked = (evaluation_id, model, params)
    stored = (existing.evaluation_id, existing.model, existing.params)
    if asked != stored:
        raise Conflict(f"run {existing.id!r} already exists with other parameters")
    return to_evaluation_run(existing)
