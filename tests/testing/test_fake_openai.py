"""The fake OpenAI server's replies, through the real openai SDK (and pydantic-ai) with no
retries: tool calls and JSON text on Chat Completions and Responses, the models list, streams
refused, and pydantic-ai agents getting the verdict."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from pydantic import BaseModel
from tests.testing.fake_openai_support import RESPONSES_SCORE_TOOL, SCORE_TOOL, ask
from tests.testing.fake_openai_support import client as client  # the fixtures, as pytest finds
from tests.testing.fake_openai_support import fake as fake
from tests.testing.fake_openai_support import server as server

from rubricate.testing.fake_openai import FakeOpenAI, RunningFake, default_score

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
