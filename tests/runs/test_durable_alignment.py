"""Alignment runs carried out by `rubricate worker` processes: a worker killed in the
middle of verification is restarted, the run completes with the result of an
uninterrupted run, and no finished model call is made twice."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from dbos import DBOSClient
from tests.alignment.alignment_support import (
    ANSWER,
    GUIDELINE,
    human_score,
    judge_score,
    lenient_rows,
    load,
    run_options,
)
from tests.runs.workers import wait_for, worker, worker_env

from rubricate import Rubricate, Settings
from rubricate.domain.alignment_runs import Phase, RunStatus
from rubricate.runs import queue
from rubricate.runs.control import RunControl, VerifyState
from rubricate.runs.system import SYSTEM_SCHEMA, system_database_url
from rubricate.testing.fake_openai import FakeOpenAI, FakeReply, FakeRequest, RunningFake, running

KEY = "sk-durable-align-key-7"


def respond(request: FakeRequest) -> FakeReply:
    """The reflection model proposes the length guideline; the judge follows it."""
    user = request.last_user_message
    if request.model == "fake-reflect":
        ids = lenient_rows(user)
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
    models = {"reflection_lm": "openai-chat:fake-reflect", "judge_model": "openai-chat:fake-judge"}
    rb.alignment_runs.start(**run_options(**models, seed=2, run_id=run_id))
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


# What the engine's stages returned, as DBOS recorded it, before stage outputs were typed
# (format 0): the keys ``carried`` held after each stage, and those of its usage and spent.
OLD_USAGE = {
    "reflection_calls",
    "judge_calls",
    "cache_hits",
    "reused_judge_results",
    "input_tokens",
    "output_tokens",
    "cost_usd",
}
OLD_SPENT = {"calls", "cache_hits", "input_tokens", "output_tokens", "cost_usd"}
OLD_PREPARE = {"prepared", "usage", "spent"}
OLD_DISTILL = OLD_PREPARE | {"items", "notes"}
LEGACY = Path(__file__).resolve().parent / "dbos_programs" / "legacy_alignment.py"


def test_a_run_checkpointed_by_the_untyped_stage_format_recovers_after_the_upgrade(
    rb: Rubricate, fake: FakeOpenAI, database_url: str, server: RunningFake, tmp_path: Path
) -> None:
    env = worker_env(database_url, server.base_url, KEY)
    log = tmp_path / "worker.log"
    run_id = start(rb, "legacy")
    queue.enqueue(rb.settings, "alignment", run_id)
    with log.open("ab") as out:  # the old worker: prepare and distill, then dies
        legacy = subprocess.Popen(
            [sys.executable, str(LEGACY), "w-legacy"], env=env, stdout=out, stderr=out
        )
        assert legacy.wait(timeout=120) == -signal.SIGKILL, log.read_text()
    assert f"{run_id} dies at verify" in log.read_text()
    reflection_calls = sum(1 for r in fake.requests if r.model == "fake-reflect")
    assert reflection_calls > 0

    client = DBOSClient(
        system_database_url=system_database_url(database_url), dbos_system_schema=SYSTEM_SCHEMA
    )
    try:
        recorded = [step["output"] for step in client.list_workflow_steps(run_id)]
        assert [set(output) for output in recorded] == [OLD_PREPARE, OLD_DISTILL]
        assert all(set(o["usage"]) == OLD_USAGE and set(o["spent"]) == OLD_SPENT for o in recorded)
        assert [item["text"] for item in recorded[1]["items"]] == [GUIDELINE]
        assert rb.alignment_runs.get(run_id).status is RunStatus.RUNNING

        with worker(env, "w-legacy", log):  # the current worker, same executor: recovers it
            wait_for(lambda: rb.alignment_runs.get(run_id).status.finished, 120, "the run")
        run = rb.alignment_runs.get(run_id)
        assert run.status is RunStatus.ALIGNED, log.read_text()
        assert run.result is not None and run.result.verification.status == "verified"
        assert [g.text for g in run.result.guidelines] == [GUIDELINE]
        assert run.result.usage.reflection_calls == reflection_calls  # carried over, not redone
        assert sum(1 for r in fake.requests if r.model == "fake-reflect") == reflection_calls
        # The old checkpoints were read as they were, not rewritten.
        steps = client.list_workflow_steps(run_id)
        assert [step["output"] for step in steps[:2]] == recorded
        assert "format" in steps[2]["output"]
    finally:
        client.destroy()


def test_a_verify_again_the_worker_cannot_carry_out_says_why(
    rb: Rubricate, fake: FakeOpenAI, database_url: str, server: RunningFake, tmp_path: Path
) -> None:
    """A run rejected after its Verify again was queued: the worker refuses it, the run is
    unchanged, and the queue tells a page why no new check came (not merely "not pending")."""
    run_id = start(rb, "refused")
    rb.alignment_runs.run(run_id, cache=False)
    rb.reviews.edit(run_id, 1, "Penalise long answers that repeat the question.")
    control = RunControl(rb)
    control.verify_again(run_id)
    assert queue.verify_state(rb.settings, run_id) == VerifyState(pending=True)
    rb.reviews.reject(run_id)
    before = rb.alignment_runs.get(run_id).result

    log = tmp_path / "worker.log"
    with worker(worker_env(database_url, server.base_url, KEY), "w-refuse", log):
        wait_for(lambda: not queue.verify_state(rb.settings, run_id).pending, 60, "the verify")
    state = queue.verify_state(rb.settings, run_id)
    assert state.failure is not None and "rejected already" in state.failure, log.read_text()
    assert rb.alignment_runs.get(run_id).result == before
