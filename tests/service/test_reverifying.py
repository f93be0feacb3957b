"""Verify again: an edited guideline is not verified until the run's judge checks it anew
on the run's held-out rows; refusals name why."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.alignment.alignment_support import (
    EVALUATION,
    METRIC,
    human_score,
    judge_score,
    lenient_rows,
    load,
)

from rubricate import Rubricate
from rubricate.domain.errors import Conflict, InvalidInput
from rubricate.models import fake

GUIDELINE = "Do not reward length: a long answer is not better for being long."
EDITED = GUIDELINE + " Padding never earns a point."
ANSWER = re.compile(r"Answer (\d+)\.")


@pytest.fixture
def models() -> Iterator[list[str]]:
    """A reflection model proposing the length guideline; a judge that applies any prompt
    holding it; the system prompts the judge saw."""
    seen: list[str] = []

    def reflect(call: fake.FakeCall) -> fake.FakeReply:
        rows = lenient_rows(call.user)
        return {"guidelines": [{"text": GUIDELINE, "direction": "too_lenient", "row_ids": rows}]}

    def judge(call: fake.FakeCall) -> fake.FakeReply:
        seen.append(call.system)
        i = int(ANSWER.search(call.user).group(1))  # type: ignore[union-attr]
        score = human_score(i) if GUIDELINE in call.system else judge_score(i)
        return {"score": score, "rationale": "fake"}

    with fake.registered("reflect", reflect), fake.registered("judge", judge):
        yield seen


def _verified_run(rb: Rubricate, tmp_path: Path, judge_model: str | None = "fake:judge") -> str:
    load(rb, tmp_path, rows=400)
    run = rb.alignment_runs.align(
        metric=METRIC,
        evaluations=[EVALUATION],
        delta=1,
        reflection_lm="fake:reflect",
        judge_model=judge_model,
        seed=3,
    )
    assert run.result is not None
    return run.id


def test_an_edited_guideline_is_unverified_until_verified_again(
    rb: Rubricate, tmp_path: Path, models: list[str]
) -> None:
    run_id = _verified_run(rb, tmp_path)
    first = rb.alignment_runs.get(run_id).result
    assert first is not None and first.verification.status == "verified"
    assert [g.verified for g in first.effective_guidelines()] == [True]
    calls_before = first.usage.judge_calls

    edited = rb.reviews.edit(run_id, 1, EDITED).result
    assert edited is not None
    (guideline,) = edited.effective_guidelines()
    assert guideline.text == EDITED and not guideline.verified

    models.clear()
    again = rb.verifying.run(run_id).result
    assert again is not None
    # The judge saw the edited text, fresh, on the run's held-out rows.
    assert models and any(EDITED in system for system in models)
    v = again.verification
    assert v.status == "verified", v.message
    assert v.message.startswith("Verified again") and "1 guideline edit" in v.message
    (guideline,) = again.effective_guidelines()
    assert guideline.text == EDITED and guideline.verified
    assert again.usage.judge_calls == calls_before + len(models)
    assert again.usage.judge_calls - calls_before <= v.planned_calls
    assert [e.text for e in again.review.edits] == [EDITED]  # the history stays

    # Another edit makes it unverified again.
    later = rb.reviews.edit(run_id, 1, GUIDELINE).result
    assert later is not None and not later.effective_guidelines()[0].verified


def test_verify_again_is_refused_with_the_reason(
    rb: Rubricate, tmp_path: Path, models: list[str]
) -> None:
    unjudged = _verified_run(rb, tmp_path, judge_model=None)
    with pytest.raises(InvalidInput, match="without a judge model") as refused:
        rb.verifying.request(unjudged)
    assert refused.value.field == "judge_model"
    rb.reviews.strike(unjudged, 1)
    with pytest.raises(Conflict, match="no guidelines to verify"):
        rb.verifying.run(unjudged)
    rb.reviews.reject(unjudged)
    with pytest.raises(Conflict, match="rejected already"):
        rb.verifying.request(unjudged)
    assert not models  # nothing was scored


def test_a_blind_queue_withholds_its_rows_verdicts_from_its_reviewers(
    rb: Rubricate, tmp_path: Path, models: list[str]
) -> None:
    from rubricate.domain.queues import QueueRequest
    from rubricate.domain.users import Role, User

    run_id = _verified_run(rb, tmp_path)
    every = rb.alignment_runs.get(run_id)
    assert every.result is not None and every.result.verification.rows
    rb.queues.create(
        QueueRequest("blind", EVALUATION, METRIC, ("ana", "ben"), blind=True),
        by=User("ada", Role.ADMIN),
    )
    seen = rb.alignment_runs.get(run_id, viewer=User("ana", Role.REVIEWER))
    assert seen.result is not None and seen.result.verification.rows == []
    assert seen.result.verification.after == every.result.verification.after  # figures stay
    other = rb.alignment_runs.get(run_id, viewer=User("cy", Role.REVIEWER))
    assert other.result == every.result
