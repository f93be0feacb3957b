"""Alignment-run statuses: only the legal transitions of PRODUCT.md."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rubricate.domain.alignment_runs import (
    AlignmentParams,
    AlignmentRun,
    Budget,
    Phase,
    RunStatus,
    can_transition,
    check_transition,
)
from rubricate.domain.errors import Conflict

LEGAL = {
    (RunStatus.PENDING, RunStatus.RUNNING),
    (RunStatus.PENDING, RunStatus.CANCELLED),
    (RunStatus.PENDING, RunStatus.ERROR),
    (RunStatus.RUNNING, RunStatus.ALIGNED),
    (RunStatus.RUNNING, RunStatus.ERROR),
    (RunStatus.RUNNING, RunStatus.CANCELLED),
    (RunStatus.ERROR, RunStatus.PENDING),
}


@pytest.mark.parametrize("current", list(RunStatus))
@pytest.mark.parametrize("target", list(RunStatus))
def test_only_listed_transitions_are_legal(current: RunStatus, target: RunStatus) -> None:
    assert can_transition(current, target) == ((current, target) in LEGAL)


def test_finished_runs_never_change() -> None:
    for status in (RunStatus.ALIGNED, RunStatus.CANCELLED):
        assert status.finished
        with pytest.raises(Conflict, match=f"{status.label} cannot become"):
            check_transition(status, RunStatus.RUNNING)


def test_phase_labels_are_the_pages_words() -> None:
    assert [p.label for p in Phase if p is not Phase.VERIFYING] == [
        "Loading annotations",
        "Building disagreement traces",
        "Distilling guidelines",
        "Finalizing",
    ]


def test_low_confidence_under_ten_disagreements() -> None:
    def run(disagreements: int | None) -> AlignmentRun:
        return AlignmentRun(
            id="r1",
            metric_id=1,
            metric="helpfulness",
            base_version_id=1,
            status=RunStatus.ALIGNED,
            params=AlignmentParams(evaluation_ids=(1,), delta=1.0),
            created_at=datetime.now(UTC),
            disagreements=disagreements,
        )

    assert run(9).low_confidence
    assert not run(10).low_confidence
    assert not run(None).low_confidence  # not counted yet


def test_params_round_trip_through_json() -> None:
    params = AlignmentParams(
        evaluation_ids=(3, 1),
        delta=2.0,
        reflection_lm="openai:gpt-4.1-mini",
        judge_model="anthropic:claude-sonnet-4-5",
        budget=Budget(max_calls=50, max_tokens=1000, max_cost_usd=None),
        seed=7,
    )
    assert AlignmentParams.from_json(params.to_json()) == params
    assert AlignmentParams.from_json({"evaluation_ids": [1], "delta": 1}).reflection_lm == (
        "builtin:offline"
    )
