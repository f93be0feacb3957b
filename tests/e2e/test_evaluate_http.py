"""Evaluation runs over real HTTP: rubricate -> pydantic-ai -> openai SDK -> the fake
OpenAI-compatible server (Chat Completions and Responses). What is stored (scores, tokens,
latency, cost), odd answers, the concurrency limit as the server sees it, and the response
cache. Failures (retries, keys, an unreachable server) are in test_evaluate_http_failures."""

from __future__ import annotations

import time

import pytest
from genai_prices import Usage, calc_price
from tests.e2e.conftest import METRIC, ROWS, SECRET, OpenWorkspace, evaluate, stored_results
from tests.e2e.evaluate_http_support import (
    CHAT,
    RESPONSES,
    ROW_TEXT,
    assert_all_scored_by_the_fake,
    the_request,
)

import rubricate.models.providers
from rubricate import Rubricate
from rubricate.domain.evaluation_runs import EvaluationRunStatus
from rubricate.models.names import ModelName
from rubricate.settings import Endpoint
from rubricate.testing.fake_openai import (
    FakeOpenAI,
    FakeReply,
    FakeRequest,
    RunningFake,
    default_score,
    judge_responder,
)

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
