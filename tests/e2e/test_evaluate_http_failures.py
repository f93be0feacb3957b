"""Evaluation runs over real HTTP (see test_evaluate_http) when things go wrong: the retry
policy (429 + Retry-After, 500, timeouts, malformed bodies, a row that always fails), missing,
wrong and leaked keys, a fatal error part way, and an unreachable server."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from tests.conftest import free_port
from tests.e2e.conftest import (
    ROWS,
    SECRET,
    OpenWorkspace,
    evaluate,
    every_stored_value,
    requests_for,
    stored_results,
)
from tests.e2e.evaluate_http_support import CHAT, RESPONSES, ROW_TEXT

from rubricate import Rubricate
from rubricate.domain.errors import Unavailable
from rubricate.domain.evaluation_runs import EvaluationRunStatus
from rubricate.testing.fake_openai import FakeOpenAI, Fault

# --- the retry policy ------------------------------------------------------------------


def test_429_waits_as_long_as_retry_after_says(workspace: OpenWorkspace, fake: FakeOpenAI) -> None:
    # Retry-After of 0.8 s is longer than the backoff would be without it (0.25-0.5 s for a
    # first retry), so the elapsed time shows that the header was honoured.
    rb = workspace(max_retry_wait=5.0)
    fake.faults = [Fault(status=429, retry_after=0.8)]
    started = time.perf_counter()
    run = evaluate(rb)
    elapsed = time.perf_counter() - started
    assert elapsed >= 0.8
    assert run.status is EvaluationRunStatus.COMPLETED and run.rows_failed == 0
    assert fake.faults_served == 1
    assert fake.requests_total == ROWS + 1 == run.calls
    assert fake.duplicate_requests == 1  # the refused request, sent once more
    results = stored_results(rb, run.id)
    assert len(results) == ROWS and all(r.score is not None for r in results.values())


@pytest.mark.parametrize(
    "faults",
    [
        pytest.param([{"status": 500, "times": 2}, {"status": 503, "times": 1}], id="5xx"),
        pytest.param([{"malformed": True, "times": 1}], id="malformed-body"),
    ],
)
def test_server_errors_and_malformed_bodies_are_retried_until_they_pass(
    rb: Rubricate, fake: FakeOpenAI, faults: list[dict[str, Any]]
) -> None:
    fake.faults = [Fault(**fault) for fault in faults]
    served = sum(fault["times"] for fault in faults)
    run = evaluate(rb)
    assert run.status is EvaluationRunStatus.COMPLETED and run.rows_failed == 0
    assert fake.faults_served == served
    assert fake.requests_total == ROWS + served == run.calls
    results = stored_results(rb, run.id)
    assert all(r.score is not None for r in results.values())


def test_a_row_that_always_fails_gets_an_error_and_the_others_are_scored(
    workspace: OpenWorkspace, fake: FakeOpenAI
) -> None:
    rb = workspace(model_attempts=3)
    doomed = ROW_TEXT["sb-011"]
    fake.faults = [Fault(status=500, when_contains=doomed, times=None)]
    run = evaluate(rb)
    assert run.status is EvaluationRunStatus.COMPLETED
    assert run.rows_failed == 1
    results = stored_results(rb, run.id)
    failed = results["sb-011"]
    assert failed.score is None and failed.raw_output is None
    assert failed.error is not None
    assert "HTTP 500" in failed.error and "gave up after 3 tries" in failed.error
    assert len(requests_for(fake, doomed)) == 3  # exactly the tries, no SDK retries
    assert fake.requests_total == ROWS - 1 + 3 == run.calls
    assert sum(1 for r in results.values() if r.score is not None) == ROWS - 1


def test_a_call_that_hangs_times_out_and_is_retried(
    workspace: OpenWorkspace, fake: FakeOpenAI
) -> None:
    rb = workspace(model_timeout=0.5)
    fake.faults = [Fault(hang=True, times=1)]
    started = time.perf_counter()
    run = evaluate(rb)
    elapsed = time.perf_counter() - started
    assert elapsed >= 0.5  # the hung call was waited for until the timeout
    assert run.status is EvaluationRunStatus.COMPLETED and run.rows_failed == 0
    assert fake.faults_served == 1
    assert fake.requests_total == ROWS + 1 == run.calls
    assert len(stored_results(rb, run.id)) == ROWS


# --- keys and servers ------------------------------------------------------------------


def test_a_missing_key_fails_before_any_run_is_recorded(
    rb: Rubricate, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.delenv("OPENAI_API_KEY")
    for model in (CHAT, RESPONSES):
        with pytest.raises(Unavailable, match="OPENAI_API_KEY"):
            evaluate(rb, model)
    assert rb.evaluation_runs.list() == []
    assert fake.requests_total == 0


def test_a_refused_key_ends_the_run_in_error(rb: Rubricate, fake: FakeOpenAI) -> None:
    fake.require_key = "sk-another-key-the-server-wants"
    with pytest.raises(Unavailable, match="refused the key") as raised:
        evaluate(rb)
    assert SECRET not in str(raised.value)
    (run,) = rb.evaluation_runs.list()
    assert run.status is EvaluationRunStatus.ERROR
    assert run.error is not None and "refused the key" in run.error and SECRET not in run.error
    assert run.finished_at is not None
    # The run stops: the calls already in flight, not one call per row.
    assert 1 <= fake.requests_total <= 8


def test_a_fatal_error_keeps_the_rows_already_scored(rb: Rubricate, fake: FakeOpenAI) -> None:
    # One call at a time: the rows answered before sb-010 is refused are kept. (Prompts
    # are rendered in threads, so the calls need not go out in file order.)
    fake.faults = [Fault(status=401, when_contains=ROW_TEXT["sb-010"])]
    with pytest.raises(Unavailable, match="refused the key"):
        evaluate(rb, concurrency=1)
    (run,) = rb.evaluation_runs.list()
    assert run.status is EvaluationRunStatus.ERROR
    results = stored_results(rb, run.id)
    answered = {
        row for row, text in ROW_TEXT.items() if row != "sb-010" and requests_for(fake, text)
    }
    assert set(results) == answered  # kept, not paid again
    assert all(r.score is not None for r in results.values())
    n = len(answered)
    assert (run.rows_done, run.rows_failed, run.calls) == (n, 0, n)
    assert fake.requests_total == n + 1  # the refused call, and no call after it


def test_an_unreachable_server_ends_the_run_in_error(
    rb: Rubricate, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    started = time.perf_counter()
    with pytest.raises(Unavailable, match="cannot reach") as raised:
        evaluate(rb)
    assert time.perf_counter() - started < 3  # refused at once, not retried for minutes
    assert url in str(raised.value)
    (run,) = rb.evaluation_runs.list()
    assert run.status is EvaluationRunStatus.ERROR
    assert run.error is not None and url in run.error
    assert fake.requests_total == 0


def test_the_key_is_in_no_log_and_no_stored_value(
    workspace: OpenWorkspace, fake: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: httpx, openai, pydantic-ai, rubricate
    rb = workspace(model_attempts=2)
    # Servers that echo the key back in their error messages.
    fake.faults = [
        Fault(status=400, message=f"bad request from {SECRET}", when_contains=ROW_TEXT["sb-001"]),
        Fault(status=500, message=f"{SECRET} broke me", when_contains=ROW_TEXT["sb-002"], times=2),
    ]
    run = evaluate(rb, cache=True)
    assert run.rows_failed == 2
    results = stored_results(rb, run.id)
    for row_id in ("sb-001", "sb-002"):
        error = results[row_id].error
        assert error is not None and "[redacted]" in error  # the echo was there, and removed
    fake.faults = [Fault(status=401, message=f"Incorrect API key provided: {SECRET}")]
    with pytest.raises(Unavailable) as raised:
        evaluate(rb, RESPONSES)
    assert SECRET not in str(raised.value)

    assert "HTTP Request: POST" in caplog.text or "Request options" in caplog.text  # logged
    assert SECRET not in caplog.text
    values = list(every_stored_value(rb))
    assert any(table == "response_cache" for table, _, _ in values)  # the cache was written
    leaks = [(table, column) for table, column, text in values if SECRET in text]
    assert leaks == []
