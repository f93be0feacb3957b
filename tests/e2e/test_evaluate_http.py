"""Evaluation runs over real HTTP: rubricate -> pydantic-ai -> openai SDK -> the fake
OpenAI-compatible server (Chat Completions and Responses). What is stored (scores, tokens,
latency, cost), odd answers, the retry policy (429 + Retry-After, 500, timeouts, malformed
bodies), the concurrency limit as the server sees it, the response cache, missing, wrong
and leaked keys, and an unreachable server."""

from __future__ import annotations

import json
import logging
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from genai_prices import Usage, calc_price
from tests.e2e.conftest import (
    METRIC,
    ROWS,
    SECRET,
    OpenWorkspace,
    Stored,
    evaluate,
    every_stored_value,
    requests_for,
    stored_results,
)

import rubricate.models.providers
from rubricate import Rubricate
from rubricate.demo import DATASET
from rubricate.domain.errors import Unavailable
from rubricate.domain.evaluation_runs import EvaluationRunStatus
from rubricate.models.names import ModelName
from rubricate.settings import Endpoint
from rubricate.testing._fake_wire import estimate_tokens
from rubricate.testing.fake_openai import (
    FakeOpenAI,
    FakeReply,
    FakeRequest,
    Fault,
    RunningFake,
    default_score,
    judge_responder,
)

CHAT = "openai-chat:gpt-4.1-mini"
RESPONSES = "openai:gpt-4.1-mini"


def demo_rows() -> dict[str, dict[str, Any]]:
    """The demo's rows as written in its dataset, by id."""
    lines = (Path(DATASET) / "rows.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    return {row["id"]: row for row in rows}


ROW_TEXT = {row_id: row["output"] for row_id, row in demo_rows().items()}  # unique per row


def the_request(fake: FakeOpenAI, result: Stored) -> FakeRequest:
    """The one request the server answered for this row."""
    (request,) = requests_for(fake, result.output)
    return request


def prompt_of(request: FakeRequest) -> str:
    return "".join(message["content"] for message in request.messages)


def assert_all_scored_by_the_fake(fake: FakeOpenAI, results: dict[str, Stored]) -> None:
    """Every row holds the fake judge's deterministic answer to its own prompt, with the
    tokens the server reported for it."""
    assert len(results) == ROWS
    for result in results.values():
        request = the_request(fake, result)
        expected = default_score(request.last_user_message)
        answer = {"score": expected, "rationale": f"The fake judge gives {expected}."}
        assert result.error is None, result.error
        assert result.score == expected, result.row
        assert result.rationale == answer["rationale"]
        assert result.raw_output is not None and json.loads(result.raw_output) == answer
        assert result.input_tokens == estimate_tokens(prompt_of(request))
        assert result.output_tokens == estimate_tokens(json.dumps(answer))
        assert not result.cached
    assert len({r.score for r in results.values()}) >= 3  # a real spread, not one value


# --- scoring every row -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "api", "wire_model"),
    [
        (CHAT, "chat", "gpt-4.1-mini"),
        (RESPONSES, "responses", "gpt-4.1-mini"),
        ("local:fake-judge", "chat", "fake-judge"),
    ],
    ids=["chat-completions", "responses", "named-endpoint"],
)
def test_every_row_is_scored_over_http(
    workspace: OpenWorkspace,
    fake: FakeOpenAI,
    server: RunningFake,
    monkeypatch: pytest.MonkeyPatch,
    model: str,
    api: str,
    wire_model: str,
) -> None:
    if model.startswith("local:"):
        # The endpoint brings its own URL and key variable; the OpenAI ones must not matter.
        monkeypatch.delenv("OPENAI_BASE_URL")
        monkeypatch.delenv("OPENAI_API_KEY")
        monkeypatch.setenv("E2E_LOCAL_KEY", SECRET)
        local = Endpoint(base_url=server.base_url, key_env="E2E_LOCAL_KEY")
        rb = workspace(endpoints={"local": local})
    else:
        rb = workspace()
    fake.latency = 0.05
    started = time.perf_counter()
    run = evaluate(rb, model)
    elapsed = time.perf_counter() - started

    assert run.status is EvaluationRunStatus.COMPLETED
    assert (run.rows_total, run.rows_done, run.rows_failed) == (ROWS, ROWS, 0)
    assert (run.calls, run.cache_hits) == (ROWS, 0)
    assert fake.requests_total == ROWS and fake.by_api == {api: ROWS}
    assert fake.duplicate_requests == 0  # no call made twice
    assert fake.responder_errors == []
    for request in fake.requests:
        assert request.model == wire_model
        assert request.tool_names == ["final_result"]
        assert request.headers["authorization"] == f"Bearer {SECRET}"
        assert request.raw.get("temperature") == 0.0
    results = stored_results(rb, run.id)
    assert_all_scored_by_the_fake(fake, results)
    assert {r.judge_model for r in results.values()} == {model}
    # Latency: what the call took, including the server's 50 ms; never more than the run.
    for result in results.values():
        assert result.latency_ms is not None and 50 <= result.latency_ms <= elapsed * 1000
    # Tokens add up to the run's totals.
    assert run.input_tokens == sum(r.input_tokens or 0 for r in results.values())
    assert run.output_tokens == sum(r.output_tokens or 0 for r in results.values())
    # Another server than api.openai.com: its price is unknown, and unknown is never 0.
    assert run.cost_usd is None
    assert all(r.cost_usd is None for r in results.values())


def test_costs_of_a_priced_model_add_up(
    rb: Rubricate, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With OPENAI_BASE_URL set, rubricate rightly does not price calls (another server may
    # charge anything), and without it the calls would go to the real API. To check the
    # sums, make the resolver believe the fake server is api.openai.com's pricing.
    def openai_prices(name: ModelName) -> str | None:
        return "openai"

    monkeypatch.setattr(rubricate.models.providers, "price_provider_of", openai_prices)
    run = evaluate(rb, CHAT)
    results = stored_results(rb, run.id)
    assert len(results) == ROWS and run.rows_failed == 0
    for result in results.values():
        assert result.input_tokens and result.output_tokens
        usage = Usage(input_tokens=result.input_tokens, output_tokens=result.output_tokens)
        price = calc_price(usage, model_ref="gpt-4.1-mini", provider_id="openai").total_price
        assert result.cost_usd is not None and result.cost_usd > 0
        assert result.cost_usd == pytest.approx(float(price), rel=1e-9)
    assert run.cost_usd is not None
    assert run.cost_usd == pytest.approx(sum(r.cost_usd or 0 for r in results.values()))


# --- odd answers -----------------------------------------------------------------------

# row -> the answer the server gives for it (a dict or a str: a tool call; text=...: text)
ODD: dict[str, FakeReply] = {
    "sb-003": FakeReply(tool_args={"score": "4", "rationale": "a quoted number"}),
    "sb-004": FakeReply(tool_args={"score": "Excellent", "rationale": "a label"}),
    "sb-005": FakeReply(tool_args={"score": " excellent ", "rationale": "a label, lower case"}),
    "sb-006": FakeReply(tool_args={"score": 9, "rationale": "out of range"}),
    "sb-007": FakeReply(tool_args='{"score": 4, "rationale": "cut sho'),  # not JSON
    "sb-008": FakeReply(text='{"score": 3, "rationale": "text, not a tool call"}'),
    "sb-009": FakeReply(text='My verdict:\n```json\n{"score": "2/5", "rationale": "fenced"}\n```'),
    "sb-010": FakeReply(text="I would rather not say."),
}
ODD_SCORES = {"sb-003": 4.0, "sb-004": 5.0, "sb-005": 5.0, "sb-008": 3.0, "sb-009": 2.0}
ODD_ERRORS = {
    "sb-006": "score 9 is outside the scale",
    "sb-007": "arguments are not a JSON object",
    "sb-010": "no JSON object with a score",
}


def odd_responder(request: FakeRequest) -> FakeReply:
    for row_id, reply in ODD.items():
        if ROW_TEXT[row_id] in request.last_user_message:
            return reply
    return judge_responder(request)


@pytest.mark.parametrize("model", [CHAT, RESPONSES], ids=["chat-completions", "responses"])
def test_odd_answers_are_read_or_kept_as_row_errors(
    rb: Rubricate, fake: FakeOpenAI, model: str
) -> None:
    scale = rb.metrics.version(METRIC).scale
    assert scale.labels.get(5.0) == "Excellent"  # the labels the answers use
    fake.responder = odd_responder
    run = evaluate(rb, model)
    assert run.status is EvaluationRunStatus.COMPLETED
    assert fake.requests_total == ROWS  # an odd answer is not retried
    results = stored_results(rb, run.id)
    assert run.rows_failed == len(ODD_ERRORS)
    for row_id, score in ODD_SCORES.items():
        assert (results[row_id].score, results[row_id].error) == (score, None), row_id
    for row_id, message in ODD_ERRORS.items():
        result = results[row_id]
        assert result.score is None, row_id
        assert result.error is not None and message in result.error, result.error
    # The raw answer is kept, as the server sent it, for every odd row.
    assert results["sb-006"].raw_output is not None and '"score": 9' in results["sb-006"].raw_output
    assert results["sb-007"].raw_output == '{"score": 4, "rationale": "cut sho'
    assert results["sb-010"].raw_output == "I would rather not say."
    assert results["sb-008"].rationale == "text, not a tool call"
    others = [r for r in results.values() if r.row not in ODD]
    assert len(others) == ROWS - len(ODD)
    assert all(r.score == default_score(the_request(fake, r).last_user_message) for r in others)


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


# --- the concurrency limit, as the server sees it --------------------------------------


def test_the_concurrency_option_is_the_most_calls_in_flight(
    rb: Rubricate, fake: FakeOpenAI
) -> None:
    fake.latency = 0.1
    run = evaluate(rb, concurrency=4)
    assert run.rows_done == ROWS and run.rows_failed == 0
    assert fake.max_in_flight == 4


def test_the_per_provider_setting_is_the_most_calls_in_flight(
    workspace: OpenWorkspace, fake: FakeOpenAI
) -> None:
    rb = workspace(concurrency={"openai": 3})
    fake.latency = 0.1
    run = evaluate(rb)
    assert run.rows_done == ROWS and run.rows_failed == 0
    assert fake.max_in_flight == 3


# --- the response cache ----------------------------------------------------------------


def test_an_identical_run_is_answered_by_the_cache(rb: Rubricate, fake: FakeOpenAI) -> None:
    first = evaluate(rb, cache=True)
    assert fake.requests_total == ROWS == first.calls
    second = evaluate(rb, cache=True)
    assert fake.requests_total == ROWS  # not one HTTP call
    assert (second.calls, second.cache_hits, second.rows_failed) == (0, ROWS, 0)
    before, after = stored_results(rb, first.id), stored_results(rb, second.id)
    assert {k: r.score for k, r in after.items()} == {k: r.score for k, r in before.items()}
    assert all(r.cached for r in after.values())
    assert {k: r.input_tokens for k, r in after.items()} == {
        k: r.input_tokens for k, r in before.items()
    }
    third = evaluate(rb, cache=False)
    assert fake.requests_total == 2 * ROWS and third.calls == ROWS and third.cache_hits == 0


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


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


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
