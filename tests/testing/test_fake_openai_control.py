"""What a test sees and controls of the fake OpenAI server: its statistics (calls in
flight, identical requests), custom responders, the control endpoints, a quick stop with
requests in flight, and the module run as a command."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from tests.testing.fake_openai_support import SCORE_TOOL, ask, control
from tests.testing.fake_openai_support import client as client  # the fixtures, as pytest finds
from tests.testing.fake_openai_support import fake as fake
from tests.testing.fake_openai_support import server as server

from rubricate.testing._fake_wire import request_key
from rubricate.testing.fake_openai import (
    FakeOpenAI,
    FakeReply,
    FakeRequest,
    Fault,
    RunningFake,
    running,
)

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
