"""Evaluation runs carried out by `rubricate worker` processes (DBOS): queued, killed and
resumed, cancelled, retried. The response cache is off in the workers, so only the run's
own checkpoints can spare a call."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.fake_server_support import server as server  # the fixture, as pytest finds it
from tests.fake_server_support import use_fake
from tests.runs.workers import demo_workspace, wait_for, worker, worker_env

from rubricate import Rubricate
from rubricate.demo import EVALUATION
from rubricate.domain.evaluation_runs import EvaluationRunStatus
from rubricate.runs import queue
from rubricate.runs.control import RunControl
from rubricate.store.tables import JudgeResultRecord
from rubricate.testing.fake_openai import FakeOpenAI, RunningFake

METRIC = "answer_helpfulness"
MODEL = "openai-chat:fake-judge"
KEY = "sk-durable-test-key-42"
ROWS = 48


@pytest.fixture
def fake(server: RunningFake, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    return use_fake(server, monkeypatch, KEY)


@pytest.fixture
def rb(database_url: str) -> Iterator[Rubricate]:
    yield from demo_workspace(database_url)


@pytest.fixture
def env(database_url: str, server: RunningFake) -> dict[str, str]:
    return worker_env(database_url, server.base_url, KEY, RUBRICATE_RUN_BATCH_ROWS="8")


def scores(rb: Rubricate, run_id: str) -> dict[int, float | None]:
    with rb.db.read() as session:
        query = select(JudgeResultRecord).where(JudgeResultRecord.evaluation_run_id == run_id)
        return {r.row_id: r.score for r in session.scalars(query)}


def start(rb: Rubricate, run_id: str) -> str:
    """Started and queued as the CLI, the API and the web do it."""
    run = rb.evaluation_runs.start(metric=METRIC, evaluation=EVALUATION, model=MODEL, run_id=run_id)
    assert RunControl(rb).evaluation.queue(run)
    return run_id


def test_a_queued_run_is_carried_out_by_a_worker(
    rb: Rubricate, fake: FakeOpenAI, env: dict[str, str], tmp_path: Path
) -> None:
    run_id = start(rb, "queued-1")
    queue.enqueue(rb.settings, "evaluation", run_id)  # the same run twice: it runs once
    with worker(env, "w-one", tmp_path / "worker.log"):
        wait_for(lambda: rb.evaluation_runs.get(run_id).status.finished, 60, "the run")
    run = rb.evaluation_runs.get(run_id)
    assert run.status is EvaluationRunStatus.COMPLETED, (tmp_path / "worker.log").read_text()
    assert len(scores(rb, run_id)) == ROWS
    assert fake.requests_total == ROWS and fake.duplicate_requests == 0


def test_a_killed_worker_resumes_without_paying_twice(
    rb: Rubricate, fake: FakeOpenAI, env: dict[str, str], tmp_path: Path
) -> None:
    fake.latency = 0.2
    log = tmp_path / "worker.log"
    run_id = start(rb, "killed-1")
    with worker(env, "w-kill", log) as process:
        wait_for(lambda: fake.requests_total >= 20, 60, "20 calls")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    before = fake.requests_total
    assert rb.evaluation_runs.get(run_id).status is EvaluationRunStatus.RUNNING
    with worker(env, "w-kill", log):  # the same executor comes back and resumes
        wait_for(lambda: rb.evaluation_runs.get(run_id).status.finished, 90, "the resumed run")
    run = rb.evaluation_runs.get(run_id)
    assert run.status is EvaluationRunStatus.COMPLETED, log.read_text()
    # Only the calls in flight at the kill (at most the concurrency limit) were made again.
    assert fake.duplicate_requests <= 8, (before, fake.requests_total)
    assert fake.requests_total <= ROWS + 8
    # The result equals an uninterrupted run's.
    fake.reset(config=True)
    whole = rb.evaluation_runs.evaluate(metric=METRIC, evaluation=EVALUATION, model=MODEL)
    assert scores(rb, run_id).values() and sorted(scores(rb, run_id).items()) == sorted(
        scores(rb, whole.id).items()
    )


def test_a_queued_run_cancelled_before_any_worker_never_runs(
    rb: Rubricate, fake: FakeOpenAI, env: dict[str, str], tmp_path: Path
) -> None:
    run_id = start(rb, "cancel-1")
    control = RunControl(rb)
    assert control.evaluation.cancel(run_id).status is EvaluationRunStatus.CANCELLED
    assert control.evaluation.cancel(run_id).status is EvaluationRunStatus.CANCELLED  # again
    queue.cancel(rb.settings, [run_id])  # a workflow cancelled twice: no error
    other = start(rb, "after-cancel")
    with worker(env, "w-cancel", tmp_path / "worker.log"):
        wait_for(lambda: rb.evaluation_runs.get(other).status.finished, 60, "the next run")
    assert rb.evaluation_runs.get(run_id).status is EvaluationRunStatus.CANCELLED
    assert scores(rb, run_id) == {}
    assert fake.requests_total == ROWS  # the other run's calls only


def test_a_running_run_cancelled_stops_at_its_next_batch(
    rb: Rubricate, fake: FakeOpenAI, env: dict[str, str], tmp_path: Path
) -> None:
    fake.latency = 0.3
    run_id = start(rb, "cancel-2")
    with worker(env, "w-cancel-2", tmp_path / "worker.log"):
        wait_for(lambda: rb.evaluation_runs.get(run_id).rows_done >= 8, 60, "a first batch")
        RunControl(rb).evaluation.cancel(run_id)
        at_cancel = fake.requests_total
        wait_for(lambda: fake.in_flight == 0, 30, "calls in flight to end")
        final = rb.evaluation_runs.get(run_id)
    assert final.status is EvaluationRunStatus.CANCELLED
    assert 8 <= final.rows_done < ROWS  # partial counts kept
    assert fake.requests_total <= at_cancel + 8  # no new batch after the cancel


def test_an_error_run_is_retried_by_a_worker(
    rb: Rubricate, fake: FakeOpenAI, env: dict[str, str], tmp_path: Path
) -> None:
    fake.require_key = "another-key"  # the worker's key is refused: the run ends in Error
    run_id = start(rb, "retry-1")
    with worker(env, "w-retry", tmp_path / "worker.log"):
        wait_for(lambda: rb.evaluation_runs.get(run_id).status.finished, 60, "the error")
        assert rb.evaluation_runs.get(run_id).status is EvaluationRunStatus.ERROR
        fake.require_key = None
        RunControl(rb).evaluation.retry(run_id)  # a new attempt of its workflow
        wait_for(lambda: rb.evaluation_runs.get(run_id).status.finished, 60, "the retry")
    run = rb.evaluation_runs.get(run_id)
    assert run.status is EvaluationRunStatus.COMPLETED and run.error is None
    assert len(scores(rb, run_id)) == ROWS


def test_a_cancelled_run_is_one_clean_line_in_the_workers_log(
    rb: Rubricate, fake: FakeOpenAI, env: dict[str, str], tmp_path: Path
) -> None:
    """Cancelled as every interface does (the run, then its workflows), a run's next step
    raised DBOS's cancellation in the worker, which DBOS logged with a traceback."""
    fake.latency = 0.3
    run_id = start(rb, "cancel-clean")
    log = tmp_path / "worker.log"
    with worker(env, "w-cancel-clean", log):
        wait_for(lambda: rb.evaluation_runs.get(run_id).rows_done >= 8, 60, "a first batch")
        RunControl(rb).evaluation.cancel(run_id)
        # 60 s: under a load of 8-10 on 2 cores (helpers beside the suite) 30 s ran out once.
        wait_for(lambda: f"run {run_id} cancelled" in log.read_text(), 60, "the cancel logged")
    text = log.read_text()
    assert "Traceback" not in text and "DBOSWorkflowCancelledError" not in text, text
    assert rb.evaluation_runs.get(run_id).status is EvaluationRunStatus.CANCELLED


def test_a_run_that_ends_before_its_workflows_cancel_arrives_is_one_line_too(
    rb: Rubricate, fake: FakeOpenAI, env: dict[str, str], tmp_path: Path
) -> None:
    """The run's own check can see the cancel's mark, and its workflow end, before the
    workflow's cancel arrives (a slow DBOS client under load): no DBOS cancellation is
    raised then, and the worker still reports the cancel, once."""
    fake.latency = 0.3
    run_id = start(rb, "cancel-mark-only")
    log = tmp_path / "worker.log"
    with worker(env, "w-cancel-mark", log):
        wait_for(lambda: rb.evaluation_runs.get(run_id).rows_done >= 8, 60, "a first batch")
        rb.evaluation_runs.cancel(run_id)  # the mark only: the workflow is never cancelled
        wait_for(lambda: f"run {run_id} cancelled" in log.read_text(), 60, "the cancel logged")
    text = log.read_text()
    assert text.count(f"run {run_id} cancelled") == 1, text
    assert "Traceback" not in text, text
    assert rb.evaluation_runs.get(run_id).status is EvaluationRunStatus.CANCELLED
