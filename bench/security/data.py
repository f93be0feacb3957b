"""The workspace the probes run against (the demo plus small evaluations written here) and
the fake model's hostile replies, chosen by a marker in the row's prompt."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from rubricate.testing.fake_openai import FakeReply, FakeRequest, judge_responder

METRIC = "answer_helpfulness"  # the demo's metric
DEMO = "support-bot-demo"  # the demo's evaluation
MODEL = "openai-chat:fake-judge"
REPLIES = "replies"  # an evaluation whose rows each draw one hostile reply
SLOW_SOME = "slow-some"  # some rows take the slow branch of a template
SLOW_ALL = "slow-all"  # half the rows do, the others get slow replies: a run to cancel
HIDDEN = (
    "Score {{ output }} for {{ input }} from 1 to 5.\n"
    "{% if metadata and metadata['slow'] %}"
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    "{% endif %}"
)
NESTED = "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"

# marker in a row's input -> (the judge's tool-call arguments, sent verbatim; what the row
# must end as: "stored" (cleaned and scored) or "error")
HOSTILE: dict[str, tuple[str, str]] = {
    "lone surrogate": ('{"rationale": "lone \\ud800 surrogate", "score": 3}', "stored"),
    "NUL": ('{"rationale": "a NUL \\u0000 inside", "score": 4}', "stored"),
    "400-digit score": ('{"rationale": "big", "score": ' + "9" * 400 + "}", "error"),
    "10^12 tokens": ('{"rationale": "greedy", "score": 2}', "stored"),
    "two objects": ('{"rationale": "a", "score": 1} {"rationale": "b", "score": 5}', "error"),
    "a list": ('[{"rationale": "r", "score": 3}]', "error"),
}
PLAIN_ROWS = 6  # ordinary rows beside the hostile ones


def _marker(prompt: str) -> str | None:
    return next((m for m in HOSTILE if f"[probe: {m}]" in prompt), None)


async def respond(request: FakeRequest) -> FakeReply:
    """A judge that answers ordinarily, except on rows carrying a probe's marker; rows
    marked 'hold' wait a while (a run to cancel, a worker to pause)."""
    prompt = request.last_user_message
    marker = _marker(prompt)
    if marker == "10^12 tokens":
        arguments = HOSTILE[marker][0]
        return FakeReply(tool_args=arguments, input_tokens=10**12, output_tokens=10**12)
    if marker is not None:
        return FakeReply(tool_args=HOSTILE[marker][0])
    if "[hold]" in prompt:
        await asyncio.sleep(0.3)
    return judge_responder(request)


def _write(folder: Path, rows: Sequence[Mapping[str, object]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dataset.json").write_text(json.dumps({"name": folder.name, "criteria": []}))
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    (folder / "rows.jsonl").write_text(lines, encoding="utf-8")
    return folder


def seed(database_url: str, folder: Path, *, held_rows: int) -> None:
    """The demo, and the evaluations the run probes use; ``held_rows`` rows of a 'held'
    evaluation (slow replies) for the paused worker."""
    from rubricate import Rubricate, Settings
    from rubricate.demo import build_demo

    hostile = [
        {"id": f"h{i}", "input": f"[probe: {marker}] Question {i}?", "output": f"Answer {i}."}
        for i, marker in enumerate(HOSTILE)
    ]
    plain = [
        {"id": f"p{i}", "input": f"Plain question {i}?", "output": f"Plain answer {i}."}
        for i in range(PLAIN_ROWS)
    ]
    some = [
        {"id": f"s{i}", "input": f"Question {i}?", "output": f"Answer {i}."}
        | ({"metadata": {"slow": True}} if i % 4 == 1 else {})
        for i in range(12)
    ]
    every = [
        {
            "id": f"a{i}",
            "input": f"[hold] Question {i}?",
            "output": f"Answer {i}.",
            "metadata": {"slow": i % 2 == 0},
        }
        for i in range(80)
    ]
    held = [
        {"id": f"w{i}", "input": f"[hold] Question {i}?", "output": f"Answer number {i}."}
        for i in range(held_rows)
    ]
    with Rubricate(Settings(database_url=database_url, response_cache=False)) as rb:
        build_demo(rb)
        rb.import_path(_write(folder / REPLIES, hostile + plain), REPLIES)
        rb.import_path(_write(folder / SLOW_SOME, some), SLOW_SOME)
        rb.import_path(_write(folder / SLOW_ALL, every), SLOW_ALL)
        rb.import_path(_write(folder / "held", held), "held")
