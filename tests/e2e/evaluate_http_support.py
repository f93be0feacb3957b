"""Shared by the test_evaluate_http*.py modules: the models named (Chat Completions and
Responses), the demo's rows and their unique outputs, and what the fake server answered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.conftest import ROWS, Stored, requests_for

from rubricate.demo import DATASET
from rubricate.testing._fake_wire import estimate_tokens
from rubricate.testing.fake_openai import FakeOpenAI, FakeRequest, default_score

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
