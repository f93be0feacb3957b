"""The fake OpenAI server, through the real openai SDK (and pydantic-ai) with no retries."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from pydantic import BaseModel

from rubricate.testing._fake_wire import request_key
from rubricate.testing.fake_openai import (
    FakeOpenAI,
    FakeReply,
    FakeRequest,
    Fault,
    RunningFake,
    default_score,
    running,
)

SCORE_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "submit_score",
        "parameters": {
            "type": "object",
            "properties": {"score": {"type": "integer"}, "rationale": {"type": "string"}},
            "required": ["score", "rationale"],
        },
    },
}
RESPONSES_SCORE_TOOL: Any = {"type": "function", "name": "submit_score", **SCORE_TOOL["function"]}


@pytest.fixture(scope="module")
def server() -> Iterator[RunningFake]:
    with running() as started:
        yield started


@pytest.fixture
def fake(server: RunningFake) -> FakeOpenAI:
    server.fake.reset(config=True)
    return server.fake


@pytest.fixture
def client(server: RunningFake, fake: FakeOpenAI) -> Iterator[OpenAI]:
    # strict validation: the SDK checks every reply against its types
    with OpenAI(
        base_url=server.base_url, api_key="sk-test", max_retries=0, _strict_response_validation=True
    ) as sdk:
        yield sdk


def ask(client: OpenAI, text: str, **extra: Any) -> Any:
    messages: Any = [{"role": "system", "content": "Judge."}, {"role": "user", "content": text}]
    return client.chat.completions.create(model="fake-judge", messages=messages, **extra)


def control(server: RunningFake | str, path: str, body: object = None) -> tuple[int, Any]:
    """Call a control endpoint (`server`: a running fake or its base URL)."""
    base_url = server if isinstance(server, str) else server.base_url
    root = base_url.removesuffix("/v1")
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        root + path, data=data, method="GET" if data is None else "POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return reply.status, json.load(reply)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.load(exc)


# --- replies ----------------------------------------------------------------------------


def test_base_url_points_at_the_server(server: RunningFake) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", server.base_url)
    assert server.base_url.endswith(f":{server.port}/v1")


def test_chat_tool_call_is_parsed_by_the_sdk(client: OpenAI, fake: FakeOpenAI) -> None:
    completion = ask(client, "Is 2+2=4?", tools=[SCORE_TOOL])
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.function.name == "submit_score"
    arguments = json.loads(call.function.arguments)
    assert arguments["score"] == default_score("Is 2+2=4?")
    assert arguments["rationale"]
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )
    assert fake.requests[-1].tool_names == ["submit_score"]


@pytest.mark.parametrize(
    "response_format",
    [
        {"type": "json_object"},
        {"type": "json_schema", "json_schema": {"name": "verdict", "schema": {"type": "object"}}},
        None,
    ],
)
def test_chat_text_is_the_json_verdict(client: OpenAI, response_format: Any) -> None:
    extra = {} if response_format is None else {"response_format": response_format}
    # JSON output wins over tools: a judge with native output gets text
    completion = ask(client, "Rate: hello", tools=[SCORE_TOOL], **extra)
    choice = completion.choices[0]
    if response_format is None:
        assert choice.message.tool_calls  # no JSON asked for, tools offered: a call
        return
    assert choice.finish_reason == "stop"
    assert choice.message.tool_calls is None
    assert json.loads(choice.message.content)["score"] == default_score("Rate: hello")


def test_chat_without_tools_answers_text(client: OpenAI) -> None:
    content = ask(client, "plain").choices[0].message.content
    assert json.loads(content) == {
        "score": default_score("plain"),
        "rationale": json.loads(content)["rationale"],
    }


def test_responses_function_call_is_parsed_by_the_sdk(client: OpenAI, fake: FakeOpenAI) -> None:
    response = client.responses.create(
        model="fake-judge", instructions="Judge.", input="Rate: cat", tools=[RESPONSES_SCORE_TOOL]
    )
    (item,) = response.output
    assert item.type == "function_call"
    assert item.name == "submit_score"
    assert json.loads(item.arguments)["score"] == default_score("Rate: cat")
    assert response.status == "completed"
    request = fake.requests[-1]
    assert request.api == "responses"
    assert request.messages == [
        {"role": "system", "content": "Judge."},
        {"role": "user", "content": "Rate: cat"},
    ]


def test_responses_text_answer(client: OpenAI) -> None:
    response = client.responses.create(
        model="fake-judge",
        input=[{"role": "user", "content": [{"type": "input_text", "text": "Rate: dog"}]}],
        text={"format": {"type": "json_object"}},
    )
    assert json.loads(response.output_text)["score"] == default_score("Rate: dog")
    assert response.usage is not None
    assert response.usage.output_tokens == len(response.output_text) // 4


def test_models_list(client: OpenAI) -> None:
    assert [model.id for model in client.models.list()] == ["fake-judge"]


def test_stream_is_refused_clearly(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="stream"):
        ask(client, "x", stream=True)


# --- faults -----------------------------------------------------------------------------


def test_fault_plan_applies_in_order(client: OpenAI, fake: FakeOpenAI) -> None:
    fake.faults = [Fault(status=429, retry_after=1.0), Fault(status=500)]
    with pytest.raises(openai.RateLimitError) as limited:
        ask(client, "a")
    assert limited.value.response.headers["retry-after"] == "1"
    assert limited.value.code == "rate_limit_exceeded"
    with pytest.raises(openai.InternalServerError):
        ask(client, "a")
    assert ask(client, "a").choices[0].message.content
    assert fake.faults == []
    assert fake.faults_served == 2
    assert fake.requests_total == 3


def test_malformed_reply_breaks_json_decoding(client: OpenAI, fake: FakeOpenAI) -> None:
    fake.faults = [Fault(malformed=True)]
    # the SDK does not wrap it: the JSON decoder's own error reaches the caller
    with pytest.raises(json.JSONDecodeError):
        ask(client, "x")


def test_hang_outlasts_the_client_timeout(server: RunningFake, fake: FakeOpenAI) -> None:
    fake.faults = [Fault(hang=True)]
    started = time.monotonic()
    sdk = OpenAI(base_url=server.base_url, api_key="k", max_retries=0, timeout=0.5)
    with sdk, pytest.raises(openai.APITimeoutError):
        ask(sdk, "x")
    assert 0.4 < time.monotonic() - started < 2.0
    deadline = time.monotonic() + 2.0  # the server notices the client has gone
    while fake.in_flight and time.monotonic() < deadline:
        time.sleep(0.02)
    assert fake.in_flight == 0


def test_poison_fault_matches_its_rows_forever(client: OpenAI, fake: FakeOpenAI) -> None:
    fake.faults = [Fault(status=500, when_contains="poison", times=None)]
    for _ in range(3):
        with pytest.raises(openai.InternalServerError):
            ask(client, "row 7: poison pill")
        assert ask(client, "row 8: fine").choices[0].message.content
    assert fake.faults == [Fault(status=500, when_contains="poison", times=None)]
    assert fake.faults_served == 3


def test_fault_counts_down(client: OpenAI, fake: FakeOpenAI) -> None:
    fake.faults = [Fault(status=503, times=2, message="overloaded", code="busy")]
    with pytest.raises(openai.InternalServerError, match="overloaded") as failed:
        ask(client, "x")
    assert failed.value.code == "busy"
    assert fake.faults[0].times == 1
    with pytest.raises(openai.InternalServerError):
        ask(client, "x")
    assert ask(client, "x").choices


def test_invalid_faults_and_replies_are_refused() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        Fault()
    with pytest.raises(ValueError, match="exactly one"):
        Fault(status=500, hang=True)
    with pytest.raises(ValueError, match="HTTP error"):
        Fault(status=200)
    with pytest.raises(ValueError, match="times"):
        Fault(malformed=True, times=0)
    with pytest.raises(ValueError, match="exactly one"):
        FakeReply()


def test_required_key(server: RunningFake, fake: FakeOpenAI, client: OpenAI) -> None:
    fake.require_key = "sk-right"
    wrong = OpenAI(base_url=server.base_url, api_key="sk-wrong", max_retries=0)
    with wrong, pytest.raises(openai.AuthenticationError) as refused:
        ask(wrong, "x")
    assert refused.value.status_code == 401
    assert refused.value.code == "invalid_api_key"
    with OpenAI(base_url=server.base_url, api_key="sk-right", max_retries=0) as right:
        assert ask(right, "x").choices


# --- statistics -------------------------------------------------------------------------


def test_max_in_flight_measures_concurrency(server: RunningFake, fake: FakeOpenAI) -> None:
    fake.latency = 0.2

    async def burst() -> None:
        async with AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0) as sdk:
            messages: Any = [{"role": "user", "content": "x"}]
            calls = [sdk.chat.completions.create(model="m", messages=messages) for _ in range(8)]
            await asyncio.gather(*calls)

    started = time.monotonic()
    asyncio.run(burst())
    assert time.monotonic() - started < 0.8  # concurrent, not 8 x 0.2 s
    assert fake.max_in_flight == 8
    assert fake.in_flight == 0
    assert fake.requests_total == 8


def test_by_request_counts_identical_requests(client: OpenAI, fake: FakeOpenAI) -> None:
    ask(client, "same", temperature=0)
    ask(client, "same", temperature=0, user="volatile-field")
    ask(client, "other", temperature=0)
    counts = fake.by_request
    assert sorted(counts.values()) == [1, 2]
    assert fake.duplicate_requests == 1
    assert fake.by_api == {"chat": 3}
    assert counts[fake.requests[0].key] == 2
    assert request_key({"a": 1, "b": [2]}) == request_key({"b": [2], "a": 1, "stream": False})
    fake.reset()
    assert (fake.requests_total, fake.by_request, fake.requests) == (0, {}, [])


def test_custom_responder_sees_a_normalized_request(client: OpenAI, fake: FakeOpenAI) -> None:
    seen: list[FakeRequest] = []

    def responder(request: FakeRequest) -> FakeReply:
        seen.append(request)
        return FakeReply(tool_args='{"score": ', input_tokens=7, output_tokens=3)

    fake.responder = responder
    completion = ask(client, "hi", tools=[SCORE_TOOL], extra_headers={"X-Trace": "t1"})
    call = completion.choices[0].message.tool_calls[0]
    assert call.function.arguments == '{"score": '  # sent verbatim, malformed on purpose
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (7, 3)
    (request,) = seen
    assert (request.api, request.model, request.wants_json) == ("chat", "fake-judge", False)
    assert request.messages == [
        {"role": "system", "content": "Judge."},
        {"role": "user", "content": "hi"},
    ]
    assert request.last_user_message == "hi"
    assert request.headers["x-trace"] == "t1"
    assert request.raw["tools"] == [SCORE_TOOL]


def test_async_responder_and_responder_errors(client: OpenAI, fake: FakeOpenAI) -> None:
    async def slow_echo(request: FakeRequest) -> FakeReply:
        await asyncio.sleep(0.01)
        return FakeReply(text=request.last_user_message.upper())

    fake.responder = slow_echo
    assert ask(client, "echo").choices[0].message.content == "ECHO"

    fake.responder = lambda request: FakeReply(tool_args={"score": 1})  # but no tools offered
    with pytest.raises(openai.InternalServerError, match="offers none"):
        ask(client, "x")
    assert len(fake.responder_errors) == 1


# --- control endpoints, stopping, the command line -------------------------------------


def test_control_endpoints(server: RunningFake, fake: FakeOpenAI, client: OpenAI) -> None:
    status, config = control(
        server, "/_fake/config", {"latency": 0.01, "faults": [{"status": 500, "times": 2}]}
    )
    assert status == 200
    assert config["latency"] == 0.01
    assert config["faults"][0]["times"] == 2
    assert fake.latency == 0.01
    with pytest.raises(openai.InternalServerError):
        ask(client, "x")
    status, stats = control(server, "/_fake/stats")
    assert (stats["requests_total"], stats["faults_served"], stats["by_api"]) == (1, 1, {"chat": 1})
    assert control(server, "/_fake/config")[1]["faults"][0]["times"] == 1

    assert control(server, "/_fake/config", {"faults": [{"status": 500, "oops": 1}]})[0] == 400
    assert control(server, "/_fake/config", {"latency": -1})[0] == 400
    assert fake.latency == 0.01  # unchanged by the refused configurations

    status, stats = control(server, "/_fake/reset", {})
    assert (status, stats["requests_total"]) == (200, 0)
    assert fake.faults  # a plain reset keeps the configuration
    control(server, "/_fake/reset", {"config": True})
    assert (fake.faults, fake.latency) == ([], 0.0)

    status, body = control(server, "/nowhere")
    assert status == 404
    assert body["error"]["type"] == "invalid_request_error"


def test_stop_is_quick_with_requests_in_flight() -> None:
    fake = FakeOpenAI(latency=30.0)
    errors: list[openai.APIStatusError] = []

    async def call(url: str) -> None:
        async with AsyncOpenAI(base_url=url, api_key="k", max_retries=0, timeout=10) as sdk:
            messages: Any = [{"role": "user", "content": "x"}]
            try:
                await sdk.chat.completions.create(model="m", messages=messages)
            except openai.APIStatusError as exc:
                errors.append(exc)

    async def scenario() -> float:
        with running(fake) as server:
            fake.add_faults(Fault(hang=True))
            tasks = [asyncio.create_task(call(server.base_url)) for _ in range(2)]
            while fake.in_flight < 2:
                await asyncio.sleep(0.01)
            started = time.monotonic()
        stopped = time.monotonic() - started
        await asyncio.gather(*tasks)
        return stopped

    assert asyncio.run(scenario()) < 1.0
    assert [error.status_code for error in errors] == [503, 503]  # one hanging, one pausing
    assert fake.in_flight == 0


def test_module_runs_as_a_command() -> None:
    command = [sys.executable, "-m", "rubricate.testing.fake_openai", "--port", "0"]
    command += ["--require-key", "sk-cli", "--fail-first", "1", "--fail-status", "429"]
    command += ["--retry-after", "0.5", "--latency", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            found = re.fullmatch(r"fake OpenAI server at (http://127\.0\.0\.1:\d+/v1)\n", line)
            assert found, line
            with OpenAI(base_url=found[1], api_key="sk-cli", max_retries=0) as sdk:
                with pytest.raises(openai.RateLimitError) as limited:
                    ask(sdk, "x")
                assert limited.value.response.headers["retry-after"] == "0.5"
                assert ask(sdk, "x").choices
            assert control(found[1], "/_fake/stats")[1]["requests_total"] == 2
        finally:
            process.terminate()
            process.wait(timeout=5)
    assert process.returncode == 0


# --- pydantic-ai ------------------------------------------------------------------------


class Verdict(BaseModel):
    score: int
    rationale: str


@pytest.mark.parametrize("api", ["chat", "responses"])
@pytest.mark.parametrize("native", [False, True], ids=["tool-output", "native-output"])
def test_pydantic_ai_agents_get_the_verdict(
    server: RunningFake, fake: FakeOpenAI, api: str, native: bool
) -> None:
    from pydantic_ai import Agent, NativeOutput
    from pydantic_ai.models.openai import OpenAIChatModel, OpenAIResponsesModel
    from pydantic_ai.providers.openai import OpenAIProvider

    async def judge() -> Verdict:
        async with AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0) as sdk:
            provider = OpenAIProvider(openai_client=sdk)
            model_class = OpenAIChatModel if api == "chat" else OpenAIResponsesModel
            output: Any = NativeOutput(Verdict) if native else Verdict
            agent = Agent(model_class("fake-judge", provider=provider), output_type=output)
            result = await agent.run("Rate this answer: 42", instructions="You are a judge.")
            assert isinstance(result.output, Verdict)
            return result.output

    verdict = asyncio.run(judge())
    assert verdict.score == default_score("Rate this answer: 42")
    (request,) = fake.requests
    assert (request.api, request.wants_json, bool(request.tool_names)) == (api, native, not native)
    assert request.messages[0] == {"role": "system", "content": "You are a judge."}
