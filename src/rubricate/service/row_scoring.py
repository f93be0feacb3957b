"""Scoring an evaluation run's rows: rows stream through the model calls, results are
written as they come with the run's counts, a cancel is seen before each row's prompt is
rendered, and a worker that lost its run writes nothing (service/evaluating.py runs it)."""

from __future__ import annotations

import asyncio
import gc
import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rubricate.domain.errors import InvalidInput, RubricateError
from rubricate.domain.evaluation_runs import EvaluationRun, EvaluationRunStatus
from rubricate.domain.metrics import MetricVersion
from rubricate.limits import TOKEN_TOTAL_MAX
from rubricate.models import cost
from rubricate.models.client import CallFailed, ChatRequest, ModelClient
from rubricate.models.ownership import OwnershipLost
from rubricate.models.secrets import redact
from rubricate.scoring.judge import JUDGE_SCHEMA, read_judgement
from rubricate.scoring.render import RenderedPrompt, render_prompt
from rubricate.settings import Settings
from rubricate.store.database import Database
from rubricate.store.evaluation_runs import find_evaluation_run, result_counts, rows_after
from rubricate.store.mapping import to_evaluation_run
from rubricate.store.tables import JudgeResultRecord, RowRecord, utcnow
from rubricate.store.upsert import insert_ignoring_duplicates

Progress = Callable[[int, int], None]  # rows done, rows in all
SETTLE_SECONDS = 0.5  # after a fatal error, for calls already answered to be written
_RowTask = asyncio.Task[tuple[dict[str, Any], cost.Tally]]  # one row's call: result, tally


@dataclass
class RowScoring:
    """One pass over a run's unscored rows (at most ``max_rows``), on one event loop."""

    db: Database
    settings: Settings
    _looked: dict[str, tuple[float, bool]] = field(default_factory=dict)

    def read(self, run_id: str) -> EvaluationRun:
        with self.db.read() as session:
            return to_evaluation_run(find_evaluation_run(session, run_id))

    async def score_all(
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
        ``batch_size`` at a time with their counts. A cancel is seen at the next page.
        The client is closed at the end, on this loop, before asyncio.run closes it."""
        running: set[_RowTask] = set()
        try:
            limit = client.limit_for(run.model)
            batch_size = min(1024, max(64, 8 * limit), max_rows or 1024)
            started = 0
            low = min(batch_size, 2 * limit)  # rows in flight or queued before the next page
            done = self.read(run.id).rows_done
            if progress is not None:
                progress(done, run.rows_total)
            after: tuple[int, int] | None = None  # the last row started (position, id)
            more = True
            finished: asyncio.Queue[_RowTask] = asyncio.Queue()
            results: list[dict[str, Any]] = []
            tally = cost.Tally()
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
                if any(isinstance(e, OwnershipLost) for e in failures):
                    # Saved by the new owner (from the journal): saving here would count twice.
                    raise next(e for e in failures if isinstance(e, OwnershipLost))
                fatal = [e for e in failures if not isinstance(e, _Stopped)]
                if fatal and running:
                    # Calls that already came back are being journaled: let them end
                    # (briefly), so that their rows are kept with the run, not only in its
                    # journal; what is still waiting on the provider is cancelled below.
                    settled, _ = await asyncio.wait(running, timeout=SETTLE_SECONDS)
                    running.difference_update(settled)
                    ended += settled
                for task in ended:
                    if task.exception() is None:
                        result, row_tally = task.result()
                        results.append(result)
                        tally.merge(row_tally)
                if failures or len(results) >= batch_size or not running:
                    # Finished rows are kept even when the run stops: never paid for twice.
                    # Unless the run was taken over meanwhile: then its new owner scores
                    # these rows, and saving them too would count them twice.
                    await client.still_owned()
                    self._save(run.id, results, tally)
                    done += len(results)
                    results, tally = [], cost.Tally()
                    if progress is not None:
                        progress(done, run.rows_total)
                if failures and all(isinstance(e, _Stopped) for e in failures):
                    return  # cancelled: what finished is saved, the rest stops below
                if failures:  # a fatal error: the run stops, the other calls are cancelled
                    raise _first(failures)
        finally:
            try:
                for task in running:
                    task.cancel()
                await asyncio.gather(*running, return_exceptions=True)
            finally:
                await client.aclose()

    def _next_rows(
        self, run: EvaluationRun, after: tuple[int, int] | None, size: int
    ) -> list[RowRecord]:
        """The next rows to score, none once the run is no longer Running (cancelled)."""
        if self.read(run.id).status is not EvaluationRunStatus.RUNNING:
            return []
        with self.db.read() as session:
            return rows_after(session, run.evaluation_id, run.id, after, size)

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
            # In a thread: a template is anyone's code, and even on its budget a render
            # must not hold up the other rows' calls (or a cancel) on this loop.
            prompt = await asyncio.to_thread(self._render_unless_cancelled, run, version, row)
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
            return result | {"error": redact(str(failure), self.settings)}, tally
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

    def _render_unless_cancelled(
        self, run: EvaluationRun, version: MetricVersion, row: RowRecord
    ) -> RenderedPrompt:
        if self._cancelled(run.id):  # seen between rows, not only between pages
            raise _Stopped()
        return render_row(version, row)

    def _cancelled(self, run_id: str) -> bool:
        """Whether the run was cancelled, read at most once a second: a page of slow rows
        (a template at the edge of its budget) stops at its next row, not at its end."""
        now = time.monotonic()
        when, cancelled = self._looked.get(run_id, (-math.inf, False))
        if now - when >= 1.0:
            cancelled = self.read(run_id).status is EvaluationRunStatus.CANCELLED
            self._looked[run_id] = (now, cancelled)
        return cancelled

    def _save(self, run_id: str, results: Sequence[dict[str, Any]], tally: cost.Tally) -> None:
        with self.db.write() as session:
            record = find_evaluation_run(session, run_id)
            # A result already stored for (run, row) stays: a resumed batch pays nothing twice.
            insert_ignoring_duplicates(
                session, JudgeResultRecord, results, ["evaluation_run_id", "row_id"]
            )
            record.rows_done, record.rows_failed = result_counts(session, run_id)
            record.calls += tally.calls
            record.cache_hits += tally.cache_hits
            # Totals stop at what the columns hold (32-bit on PostgreSQL), not the run.
            record.input_tokens = min(record.input_tokens + tally.input_tokens, TOKEN_TOTAL_MAX)
            record.output_tokens = min(record.output_tokens + tally.output_tokens, TOKEN_TOTAL_MAX)
            # One unknown price makes the sum unknown: a total never hides a missing price.
            if record.cost_usd is not None and tally.cost_usd is not None:
                record.cost_usd += tally.cost_usd
            else:
                record.cost_usd = None


class _Stopped(Exception):
    """A row not scored because its run was cancelled."""


@contextmanager
def steady_gc() -> Iterator[None]:
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


def render_row(version: MetricVersion, row: RowRecord) -> RenderedPrompt:
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
