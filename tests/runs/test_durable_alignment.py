"""Alignment runs carried out by `rubricate worker` processes: a worker killed in the
middle of verification is restarted, the run completes with the result of an
uninterrupted run, and no finished model call is made twice."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.alignment.alignment_support import EVALUATION, METRIC, human_score, judge_score, load
from tests.runs.workers import wait_for, worker, worker_env

from rubricate import Rubricate, Settings
from rubricate.domain.runs import Phase, RunStatus
from rubricate.runs import queue
from rubricate.testing.fake_openai import FakeOpenAI, FakeReply, FakeRequest, RunningFake, running

KEY = "sk-durable-align-key-7"
GUIDELINE = "Do not reward length: a long answer is not better for being long."
ROW = re.compile(r"### Row (\d+) \(judge too lenient\)")
ANSWER = re.compile(r"Answer (\d+)\.")


def respond(request: FakeRequest) -> FakeReply:
    """The reflection model proposes the length guideline; the judge follows it."""
    user = request.last_user_message
    if request.model == "fake-reflect":
        ids = [int(i) for i in ROW.findall(user)]
        guideline = {"text": GUIDELINE, "direction": "too_lenient", "row_ids": ids}
        return FakeReply(tool_args={"guidelines": [guideline]})
    system = "\n".join(m["content"] for m in request.messages if m["role"] != "user")
    i = int(ANSWER.search(user).group(1))  # type: ignore[union-attr]
    score = human_score(i) if GUIDELINE in system else judge_score(i)
    return FakeReply(tool_args={"score": score, "rationale": "fake"})


@pytest.fixture(scope="module")
def server() -> Iterator[RunningFake]:
    with running(FakeOpenAI(responder=respond)) as started:
        yield started


@pytest.fixture
def fake(server: RunningFake, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    server.fake.reset()
    server.fake.latency = 0.0
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    return server.fake


@pytest.fixture
def rb(database_url: str, tmp_path: Path) -> Iterator[Rubricate]:
    workspace = Rubricate(Settings(database_url=database_url, response_cache=False))
    load(workspace, tmp_path, rows=400)
    yield workspace
    workspace.close()


def start(rb: Rubricate, run_id: str) -> str:
    rb.alignment_runs.start(
        metric=METRIC,
        evaluations=[EVALUATION],
        delta=1,
        reflection_lm="openai-chat:fake-reflect",
        judge_model="openai-chat:fake-judge",
        seed=2,
        run_id=run_id,
    )
    return run_id


def test_a_worker_killed_while_verifying_resumes_and_pays_nothing_twice(
    rb: Rubricate, fake: FakeOpenAI, database_url: str, server: RunningFake, tmp_path: Path
) -> None:
    whole = rb.alignment_runs.run(start(rb, "uninterrupted"), cache=False)
    assert whole.result is not None and whole.result.verification.status == "verified"
    calls_whole = fake.requests_total
    fake.reset()
    fake.latency = 0.15

    env = worker_env(database_url, server.base_url, KEY)
    log = tmp_path / "worker.log"
    run_id = start(rb, "killed")
    queue.enqueue(rb.settings, "alignment", run_id)
    with worker(env, "w-align", log) as process:
        wait_for(lambda: rb.alignment_runs.get(run_id).phase is Phase.VERIFYING, 90, "verify")
        wait_for(lambda: fake.requests_total >= 40, 60, "some judge calls")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    killed_at = rb.alignment_runs.get(run_id)
    assert killed_at.status is RunStatus.RUNNING
    with worker(env, "w-align", log):
        wait_for(lambda: rb.alignment_runs.get(run_id).status.finished, 120, "the resumed run")
    run = rb.alignment_runs.get(run_id)
    assert run.status is RunStatus.ALIGNED, log.read_text()
    assert run.progress_done >= killed_at.progress_done  # never went backwards
    assert run.result is not None and whole.result is not None
    assert [g.text for g in run.result.guidelines] == [g.text for g in whole.result.guidelines]
    assert run.result.verification.after == whole.result.verification.after
    assert run.result.verification.rows == whole.result.verification.rows
    # Calls in flight at the kill (at most the provider's limit) are the only repeats.
    assert fake.duplicate_requests <= Settings().default_concurrency
    assert fake.requests_total <= calls_whole + Settings().default_concurrency
