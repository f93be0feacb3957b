"""Shared by the test_fake_openai*.py modules: the fake OpenAI server for a module
(fixtures ``server``, ``fake`` reset for each test, ``client``: the real openai SDK with no
retries and strict validation), a score tool, a judge question, and its control endpoints."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from openai import OpenAI

from rubricate.testing.fake_openai import FakeOpenAI, RunningFake, running

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
