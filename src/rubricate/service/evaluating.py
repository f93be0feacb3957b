"""Evaluation runs: score every row of an evaluation with a metric version and a judge
model. A run is a Pending record first, then its rows streamed through concurrent model
calls; results are written in batches, each with its counts in one transaction, keyed by
(run, row), so a run that stops part way (even on a fatal error) keeps what it finished,
resumes where it stopped and never pays for a finished row again."""

from __future__ import annotations

import asyncio
import builtins
import gc
import uuid
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, func, select, text, tuple_
from sqlalchemy.orm import Session

from rubricate.domain.errors import Conflict, InvalidInput, NotFound, RubricateError
from rubricate.domain.evaluation_runs import (
    EvaluationRun,
    EvaluationRunStatus,
    check_evaluation_transition,
)
from rubricate.domain.metrics import MetricVersion
from rubricate.models import cost
from rubricate.models.cache import ResponseCache
from rubricate.models.client import CallFailed, ChatRequest, ModelClient
from rubricate.models.journal import RunJournal
from rubricate.models.names import parse_model_name
from rubricate.models.providers import price_provider_of, resolve_model
from rubricate.models.secrets import redact
from rubricate.scoring.judge import JUDGE_SCHEMA, read_judgement
from rubricate.scoring.render import RenderedPrompt, render_prompt
from rubricate.service.evaluations import find_evaluation
from rubricate.service.metrics import MetricService
from rubricate.settings import Settings
from rubricate.store.database import Database
from rubricate.store.mapping import to_evaluation_run, to_version
from rubricate.store.tables import (
    AlignmentRunEvaluationRecord,
    AlignmentRunRecord,
    EvaluationRecord,
    EvaluationRunRecord,
    JudgeResultRecord,
    MetricVersionRecord,
    RowRecord,
    utcnow,
)
from rubricate.store.upsert import insert_ignoring_duplicates
from rubricate.util import run_coroutine

Progress = Callable[[int, int], None]  # rows done, rows in all
RUN_ID_LOCKS = 7_426_003  # PostgreSQL advisory locks of run ids: (this, a hash of the id)


@dataclass(frozen=True, slots=True)
class CostEstimate:
    """What a run would cost, worked out without calling any model."""

    model: str
    rows: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None  # None: the model's price is unknown


class EvaluationRunService:
    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._settings = settings
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
    ) -> EvaluationRun:
        """Record a Pending run; a repeated start with the same ``run_id`` returns the run
        it made the first time. Checks the model (and its key) before writing anything."""
        version = self._metrics.version(metric)
        chosen = self._model_for(metric, model)
        resolve_model(chosen, self._settings)  # a missing key fails here, before any write
        params = _params(metric, temperature, seed)
        with self._db.write() as session:
            target = find_evaluation(session, evaluation)
            if run_id is not None:
                claim_run_id(session, run_id, other_kind=AlignmentRunRecord)
                if existing := session.get(EvaluationRunRecord, run_id):
                    return _same_start(existing, target.id, chosen, params)
            _check_not_being_aligned(session, target.id, target.name, version.metric_id)
            rows = session.scalar(
                select(func.count())
                .select_from(RowRecord)
                .where(RowRecord.evaluation_id == target.id)
            )
            if not rows:
                raise InvalidInput(f"evaluation {evaluation!r} has no rows", field="evaluation")
            record = EvaluationRunRecord(
                id=run_id or uuid.uuid4().hex,
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
            )
        version = self._version(run.metric_version_id)
        try:
            with _steady_gc():
                run_coroutine(self._score_all(run, version, client, progress, max_rows))
        except RubricateError as error:
            self._fail(run_id, str(error))
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
        model: str | None = None,
        temperature: float | None = 0.0,
        seed: int | None = None,
        concurrency: int | None = None,
        cache: bool | None = None,
        run_id: str | None = None,
        progress: Progress | None = None,
    ) -> EvaluationRun:
        """Start a run and carry it out in this process."""
        run = self.start(
            metric=metric,
            evaluation=evaluation,
            model=model,
            temperature=temperature,
            seed=seed,
            run_id=run_id,
        )
        return self.run(run.id, concurrency=concurrency, cache=cache, progress=progress)

    def retry(self, run_id: str) -> EvaluationRun:
        """Make an Error run Pending again; carried out anew, it scores only the rows it
        has not scored, and replays the calls its journal holds."""
        with self._db.write() as session:
            record = _find(session, run_id)
            check_evaluation_transition(
                EvaluationRunStatus(record.status), EvaluationRunStatus.PENDING
            )
            evaluation = session.get_one(EvaluationRecord, record.evaluation_id)
            version = session.get_one(MetricVersionRecord, record.metric_version_id)
            _check_not_being_aligned(session, evaluation.id, evaluation.name, version.metric_id)
            record.status = EvaluationRunStatus.PENDING.value
            record.error = None
            record.finished_at = None
            return to_evaluation_run(record)

    def cancel(self, run_id: str) -> EvaluationRun:
        """Stop a run at its next batch; cancelling a finished run changes nothing."""
        with self._db.write() as session:
            record = _find(session, run_id)
            if not EvaluationRunStatus(record.status).finished:
                record.status = EvaluationRunStatus.CANCELLED.value
                record.finished_at = utcnow()
            return to_evaluation_run(record)

    # -- reading -----------------------------------------------------------------------

    def get(self, run_id: str) -> EvaluationRun:
        with self._db.read() as session:
            return to_evaluation_run(_find(session, run_id))

    def list(self, evaluation: str | None = None) -> builtins.list[EvaluationRun]:
        """Runs, newest first; of one evaluation when it is named."""
        with self._db.read() as session:
            query = select(EvaluationRunRecord).order_by(
                EvaluationRunRecord.created_at.desc(), EvaluationRunRecord.id
            )
            if evaluation is not None:
                target = find_evaluation(session, evaluation)
                query = query.where(EvaluationRunRecord.evaluation_id == target.id)
            return [to_evaluation_run(r) for r in session.scalars(query)]

    def estimate(self, *, metric: str, evaluation: str, model: str | None = None) -> CostEstimate:
        """Tokens and money for scoring every row, from the rendered prompts; no model is
        called and no key is needed."""
        version = self._metrics.version(metric)
        chosen = self._model_for(metric, model)
        name = parse_model_name(chosen, self._settings)
        rows = input_tokens = 0
        with self._db.read() as session:
            target = find_evaluation(session, evaluation)
            for batch in _row_batches(session, target.id, None, 500):
                for row in batch:
                    prompt = _render(version, row)
                    rows += 1
                    input_tokens += cost.estimate_tokens(prompt.system + prompt.user)
        output_tokens = rows * cost.ANSWER_TOKENS
        price = cost.price(price_provider_of(name), name.model, input_tokens, output_tokens)
        return CostEstimate(chosen, rows, input_tokens, output_tokens, price)

    # -- the work ----------------------------------------------------------------------

    async def _score_all(
        self,
        run: EvaluationRun,
        version: MetricVersion,
        client: ModelClient,
        progress: Progress | None,
        max_rows: int | None = None,
    ) -> None:
        try:
            await self._score_batches(run, version, client, progress, max_rows)
        finally:
            await client.aclose()  # on this loop, before asyncio.run closes it

    async def _score_batches(
        self,
        run: EvaluationRun,
        version: MetricVersion,
        client: ModelClient,
        progress: Progress | None,
        max_rows: int | None = None,
    ) -> None:
        """Rows stream through the calls: the next page of rows is started while the last
        page's calls finish (when fewer than twice the concurrency limit are left), so a
        page boundary never leaves the limit idle, and results are written as they come,
        ``batch_size`` at a time with their counts. A cancel is seen at the next page."""
        limit = client.limit_for(run.model)
        batch_size = min(1024, max(64, 8 * limit), max_rows or 1024)
        started = 0
        low = min(batch_size, 2 * limit)  # rows in flight or queued before the next page
        done = self.get(run.id).rows_done
        if progress is not None:
            progress(done, run.rows_total)
        after: tuple[int, int] | None = None  # the last row started (position, id)
        more = True
        running: set[asyncio.Task[tuple[dict[str, Any], cost.Tally]]] = set()
        finished: asyncio.Queue[asyncio.Task[tuple[dict[str, Any], cost.Tally]]] = asyncio.Queue()
        results: list[dict[str, Any]] = []
        tally = cost.Tally()
        try:
            while True:
                if more and len(running) < low:
                    size = batch_size if max_rows is None else min(batch_size, max_rows - started)
                    rows = self._next_rows(run, after, size)
                    started += len(rows)
                    more = len(rows) == size and (max_rows is None or started < max_rows)
                    if rows:
                        after = (rows[-1].position, rows[-1].id)
                    for row in rows:
                        task = asyncio.create_task(self._score_row(run, version, client, row))
                        task.add_done_callback(finished.put_nowait)
                        running.add(task)
                if not running:
                    break
                ended = [await finished.get()]
                while not finished.empty():
                    ended.append(finished.get_nowait())
                running.difference_update(ended)
                failures = [e for task in ended if (e := task.exception()) is not None]
                for task in ended:
                    if task.exception() is None:
                        result, row_tally = task.result()
                        results.append(result)
                        tally.merge(row_tally)
                if failures or len(results) >= batch_size or not running:
                    # Finished rows are kept even when the run stops: never paid for twice.
                    self._save(run.id, results, tally)
                    done += len(results)
                    results, tally = [], cost.Tally()
                    if progress is not None:
                        progress(done, run.rows_total)
                if failures:  # a fatal error: the run stops, the other calls are cancelled
                    raise _first(failures)
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    def _next_rows(
        self, run: EvaluationRun, after: tuple[int, int] | None, size: int
    ) -> builtins.list[RowRecord]:
        """The next rows to score, none once the run is no longer Running (cancelled)."""
        if self.get(run.id).status is not EvaluationRunStatus.RUNNING:
            return []
        with self._db.read() as session:
            return _rows_after(session, run.evaluation_id, run.id, after, size)

    async def _score_row(
        self,
        run: EvaluationRun,
        version: MetricVersion,
        client: ModelClient,
        row: RowRecord,
    ) -> tuple[dict[str, Any], cost.Tally]:
        """The row's result, and the calls, tokens and cost it took."""
        tally = cost.Tally()
        result: dict[str, Any] = {
            "row_id": row.id,
            "metric_version_id": version.id,
            "evaluation_run_id": run.id,
            "judge_model": run.model,
            "temperature": run.params.get("temperature"),
            "seed": run.params.get("seed"),
            "score": None,
            "rationale": None,
            "raw_output": None,
            "error": None,
            "input_tokens": None,
            "output_tokens": None,
            "cost_usd": None,
            "latency_ms": None,
            "cached": False,
            "created_at": utcnow(),
        }
        try:
            prompt = _render(version, row)
            request = ChatRequest(
                prompt.system,
                prompt.user,
                JUDGE_SCHEMA,
                temperature=run.params.get("temperature"),
                seed=run.params.get("seed"),
            )
            reply = await client.call(run.model, request)
        except CallFailed as failure:
            tally.failed(failure.attempts)
            return result | {"error": redact(str(failure), self._settings)}, tally
        except InvalidInput as error:  # the prompt cannot be rendered for this row
            return result | {"error": error.render()}, tally
        tally.add(
            reply.input_tokens,
            reply.output_tokens,
            reply.cost_usd,
            cached=reply.cached,
            attempts=reply.attempts,
        )
        judgement = read_judgement(reply, version.scale)
        scored = result | {
            "score": judgement.score,
            "rationale": judgement.rationale,
            "raw_output": reply.raw,
            "error": judgement.error,
            "input_tokens": reply.input_tokens,
            "output_tokens": reply.output_tokens,
            "cost_usd": 0.0 if reply.cached else reply.cost_usd,
            "latency_ms": round(reply.latency_s * 1000, 1),
            "cached": reply.cached,
        }
        return scored, tally

    def _save(self, run_id: str, results: Sequence[dict[str, Any]], tally: cost.Tally) -> None:
        with self._db.write() as session:
            record = _find(session, run_id)
            # A result already stored for (run, row) stays: a resumed batch pays nothing twice.
            insert_ignoring_duplicates(
                session, JudgeResultRecord, results, ["evaluation_run_id", "row_id"]
            )
            record.rows_done += len(results)
            record.rows_failed += sum(1 for r in results if r["error"] is not None)
            record.calls += tally.calls
            record.cache_hits += tally.cache_hits
            record.input_tokens += tally.input_tokens
            record.output_tokens += tally.output_tokens
            # One unknown price makes the sum unknown: a total never hides a missing price.
            if record.cost_usd is not None and tally.cost_usd is not None:
                record.cost_usd += tally.cost_usd
            else:
                record.cost_usd = None

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

    def _version(self, version_id: int) -> MetricVersion:
        with self._db.read() as session:
            record = session.get(MetricVersionRecord, version_id)
            if record is None:
                raise NotFound(f"metric version {version_id} is gone")
            return to_version(record)

    def _move(
        self,
        run_id: str,
        target: EvaluationRunStatus,
        *,
        started: bool = False,
        finished: bool = False,
    ) -> None:
        with self._db.write() as session:
            record = _find(session, run_id)
            check_evaluation_transition(EvaluationRunStatus(record.status), target)
            record.status = target.value
            if started:
                record.started_at = utcnow()
            if finished:
                record.finished_at = utcnow()

    def _fail(self, run_id: str, message: str) -> None:
        with self._db.write() as session:
            record = _find(session, run_id)
            if EvaluationRunStatus(record.status).finished:
                return
            record.status = EvaluationRunStatus.ERROR.value
            record.error = redact(message, self._settings)
            record.finished_at = utcnow()


@contextmanager
def _steady_gc() -> Iterator[None]:
    """Leave the objects that exist before the run (the libraries' modules, classes and
    schemas, a few hundred thousand) out of garbage collection while it lasts: each full
    collection walks all of them, pausing every call in flight for a third of a second,
    for nothing to free. The run's own objects are collected as usual."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _first(errors: Sequence[BaseException]) -> BaseException:
    """The error to report of those raised together: a RubricateError if there is one."""
    return next((e for e in errors if isinstance(e, RubricateError)), errors[0])


def _params(metric: str, temperature: float | None, seed: int | None) -> dict[str, Any]:
    if temperature is not None and not 0 <= temperature <= 2:
        raise InvalidInput(
            f"temperature must be between 0 and 2, not {temperature}", field="temperature"
        )
    return {"metric": metric, "temperature": temperature, "seed": seed}


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


def claim_run_id(
    session: Session,
    run_id: str,
    *,
    other_kind: type[AlignmentRunRecord] | type[EvaluationRunRecord],
) -> None:
    """Refuse a run id that a run of the other kind holds: evaluation and alignment runs
    share one namespace of ids, since a run's journal (run_calls) and its workflow are keyed
    by the id alone. On PostgreSQL the id is locked until the transaction ends, so that two
    starts with one id cannot both insert (SQLite's write lock serializes them already)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(CAST(:space AS integer), CAST(:key AS integer))"),
            {"space": RUN_ID_LOCKS, "key": zlib.crc32(run_id.encode()) & 0x7FFFFFFF},
        )
    if session.get(other_kind, run_id) is not None:
        kind = "an alignment run" if other_kind is AlignmentRunRecord else "an evaluation run"
        raise Conflict(
            f"run id {run_id!r} is already used by {kind}: evaluation and alignment runs "
            "share ids, so choose another"
        )


def _find(session: Session, run_id: str) -> EvaluationRunRecord:
    record = session.get(EvaluationRunRecord, run_id)
    if record is None:
        raise NotFound(f"no evaluation run {run_id!r} (see `rubricate evaluate list`)")
    return record


def _row_batches(
    session: Session, evaluation_id: int, run_id: str | None, size: int
) -> Iterator[builtins.list[RowRecord]]:
    """Rows in file order, ``size`` at a time; with ``run_id``, only rows that run has not
    scored yet. Keyset paging keeps memory flat whatever the evaluation's size."""
    after: tuple[int, int] | None = None
    while batch := _rows_after(session, evaluation_id, run_id, after, size):
        yield batch
        after = (batch[-1].position, batch[-1].id)


def _rows_after(
    session: Session,
    evaluation_id: int,
    run_id: str | None,
    after: tuple[int, int] | None,
    size: int,
) -> builtins.list[RowRecord]:
    """Up to ``size`` rows after ``after`` (position, id) in file order; with ``run_id``,
    only rows that run has not scored yet."""
    query = select(RowRecord).where(RowRecord.evaluation_id == evaluation_id)
    if run_id is not None:
        scored = exists().where(
            and_(
                JudgeResultRecord.evaluation_run_id == run_id,
                JudgeResultRecord.row_id == RowRecord.id,
            )
        )
        query = query.where(~scored)
    if after is not None:
        query = query.where(tuple_(RowRecord.position, RowRecord.id) > tuple_(*after))
    return list(session.scalars(query.order_by(RowRecord.position, RowRecord.id).limit(size)))


def _render(version: MetricVersion, row: RowRecord) -> RenderedPrompt:
    return render_prompt(
        version.prompt,
        input=row.input,
        output=row.output,
        context=row.context,
        expected=row.expected,
        metadata=row.row_metadata,
        guidelines=version.guidelines,
        scale=version.scale,
    )


def _check_not_being_aligned(
    session: Session, evaluation_id: int, name: str, metric_id: int
) -> None:
    """An alignment run in flight reads the evaluation's judge results for the metric at
    every stage: scoring it meanwhile would change what its later stages read."""
    aligning = session.scalar(
        select(AlignmentRunRecord.id)
        .join(
            AlignmentRunEvaluationRecord,
            AlignmentRunEvaluationRecord.run_id == AlignmentRunRecord.id,
        )
        .where(
            AlignmentRunEvaluationRecord.evaluation_id == evaluation_id,
            AlignmentRunRecord.metric_id == metric_id,
            AlignmentRunRecord.status.in_(["pending", "running"]),
        )
        .limit(1)
    )
    if aligning is not None:
        raise InvalidInput(
            f"evaluation {name!r} is a source of alignment run {aligning}, which "
            "is under way: wait for it to finish or cancel it first",
            field="evaluation",
        )
