"""The fake OpenAI server's faults, through the real openai SDK with no retries: a plan
served in order, malformed replies, hangs, poison rows, counts, invalid faults, and a
required key."""

from __future__ import annotations

import json
import time

import openai
import pytest
from openai import OpenAI
from tests.testing.fake_openai_support import ask
from tests.testing.fake_openai_support import client as client  # the fixtures, as pytest finds
from tests.testing.fake_openai_support import fake as fake
from tests.testing.fake_openai_support import server as server

from rubricate.testing.fake_openai import FakeOpenAI, FakeReply, Fault, RunningFake

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
