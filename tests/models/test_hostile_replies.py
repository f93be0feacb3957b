"""Model replies the database cannot store as sent (issue 12): a lone surrogate in the
rationale (SQLite cannot encode it), a NUL (PostgreSQL refuses it), a reply claiming 10^12
tokens (PostgreSQL's token columns are 32-bit). Each aborted the run for good, showing 0
calls and $0 though the calls were paid, and retry replayed the stored reply and crashed
again. Replies are cleaned where they enter: the run completes and counts every call the
fake server received."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import delete, select

from rubricate import Rubricate, Settings
from rubricate.demo import EVALUATION, build_demo
from rubricate.domain.evaluation_runs import EvaluationRunStatus
from rubricate.limits import REPLY_MAX_TOKENS
from rubricate.store.tables import EvaluationRunRecord, JudgeResultRecord, RunCallRecord
from rubricate.testing.fake_openai import (
    FakeReply,
    FakeRequest,
    RunningFake,
    judge_responder,
    running,
)

METRIC = "answer_helpfulness"
MODEL = "openai-chat:fake-judge"
KEY = "sk-hostile-replies-7"
ODD = {  # a row's marker in its prompt -> the arguments sent verbatim (JSON escapes kept)
    "crushed bag": '{"score": 3, "rationale": "lone \\ud800 surrogate"}',
    "allerg": '{"score": 4, "rationale": "a NUL \\u0000 inside"}',
}


@pytest.fixture(scope="module")
def server() -> Iterator[RunningFake]:
    with running() as started:
        yield started


def hostile(request: FakeRequest) -> FakeReply:
    prompt = request.last_user_message
    for marker, arguments in ODD.items():
        if marker in prompt:
            return FakeReply(tool_args=arguments)
    if "promo" in prompt.lower():
        return FakeReply(
            tool_args={"score": 2, "rationale": "greedy"},
            input_tokens=10**12,
            output_tokens=10**12,
        )
    return judge_responder(request)


@pytest.fixture
def rb(
    database_url: str, server: RunningFake, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Rubricate]:
    server.fake.reset(config=True)
    server.fake.responder = hostile
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    workspace = Rubricate(Settings(database_url=database_url, response_cache=False))
    build_demo(workspace)
    yield workspace
    workspace.close()


def test_odd_replies_are_stored_cleaned_and_the_run_completes(
    rb: Rubricate, server: RunningFake
) -> None:
    run = rb.evaluate(metric=METRIC, evaluation=EVALUATION, model=MODEL)
    assert run.status is EvaluationRunStatus.COMPLETED, run.error
    assert run.rows_done == run.rows_total == 48
    assert run.calls == server.fake.requests_total == 48
    with rb.db.read() as session:
        query = select(JudgeResultRecord).where(JudgeResultRecord.evaluation_run_id == run.id)
        stored = list(session.scalars(query))
    rationales = [r.rationale or "" for r in stored]
    assert any("lone \ufffd surrogate" in text for text in rationales)
    assert any("a NUL  inside" in text for text in rationales)
    assert all("\x00" not in (r.raw_output or "") for r in stored)
    greedy = [r for r in stored if r.rationale == "greedy"]
    assert greedy and all(r.input_tokens == REPLY_MAX_TOKENS for r in greedy)
    assert run.input_tokens < 2**31
    json.dumps(rationales)  # every stored text encodes


def test_a_journal_written_before_replies_were_cleaned_replays_cleaned(
    rb: Rubricate, server: RunningFake
) -> None:
    """The journal of a run that crashed on such a reply holds it as it came; retry replayed
    it and crashed again, every time. Replayed replies are cleaned too. (SQLite only: the
    raw escape is what SQLite's JSON kept; PostgreSQL's jsonb never stored one.)"""
    if rb.db.engine.dialect.name != "sqlite":
        pytest.skip("only SQLite kept such a reply in its journal")
    run = rb.evaluate(metric=METRIC, evaluation=EVALUATION, model=MODEL)
    with rb.db.write() as session:  # as the journal was before: the reply uncleaned
        for call in session.scalars(select(RunCallRecord).where(RunCallRecord.run_id == run.id)):
            call.reply = {**call.reply, "arguments": '{"score": 3, "rationale": "old \\ud800"}'}
        session.execute(
            delete(JudgeResultRecord).where(JudgeResultRecord.evaluation_run_id == run.id)
        )
        record = session.get_one(EvaluationRunRecord, run.id)
        record.status, record.rows_done, record.calls = "error", 0, 0
    requests = server.fake.requests_total
    rb.evaluation_runs.retry(run.id)
    again = rb.evaluation_runs.run(run.id)
    assert again.status is EvaluationRunStatus.COMPLETED, again.error
    assert server.fake.requests_total == requests  # every reply replayed, none paid again
    assert again.calls == 48  # the calls the journal holds, paid before
    with rb.db.read() as session:
        query = select(JudgeResultRecord).where(JudgeResultRecord.evaluation_run_id == run.id)
        assert {r.rationale for r in session.scalars(query)} == {"old \ufffd"}
