"""Issue 12: ambiguous or out-of-range judge answers become that row's error, and the run
completes (a 400-digit score once raised OverflowError and ended the run in Error)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from rubricate import Rubricate
from rubricate.demo import EVALUATION, build_demo
from rubricate.domain.evaluation_runs import EvaluationRunStatus
from rubricate.models import fake
from rubricate.store.tables import JudgeResultRecord

METRIC = "answer_helpfulness"
HOSTILE: list[tuple[fake.FakeReply, str]] = [
    ('{"score": 1, "rationale": "a"} {"score": 5, "rationale": "b"}', "different scores"),
    ('[{"score": 3, "rationale": "r"}]', "list"),
    ('{"score": ' + "9" * 400 + ', "rationale": "r"}', "outside the scale"),
    ({"score": 10**400, "rationale": "r"}, "outside the scale"),
    ('{"score": "' + "9" * 400 + '", "rationale": "r"}', "too large"),
]


@pytest.fixture
def judge() -> Iterator[fake.FakeModel]:
    replies = itertools.cycle([*(r for r, _ in HOSTILE), {"score": 4, "rationale": "ok"}])
    with fake.registered("hostile", lambda _call: next(replies)) as model:
        yield model


def test_hostile_answers_are_each_rows_error(rb: Rubricate, judge: fake.FakeModel) -> None:
    build_demo(rb)
    run = rb.evaluate(metric=METRIC, evaluation=EVALUATION, model="fake:hostile", concurrency=1)
    assert run.status is EvaluationRunStatus.COMPLETED, run.error
    with rb.db.read() as session:
        query = select(JudgeResultRecord).where(JudgeResultRecord.evaluation_run_id == run.id)
        stored = list(session.scalars(query))
    assert len(stored) == 48 == len(judge.calls)
    assert {r.score for r in stored} == {None, 4.0}
    errors = [r.error for r in stored if r.error is not None]
    assert len(errors) == 48 - sum(1 for r in stored if r.score == 4.0) == run.rows_failed
    for _, words in HOSTILE:
        assert any(words in e for e in errors), (words, set(errors))
